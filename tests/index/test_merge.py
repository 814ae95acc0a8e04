"""Merge step: no two results repeat text."""

from __future__ import annotations

from index.ingest.chunking import Passage
from index.merge import drop_repeats, overlaps

P = [
    Passage("a", 0, 0, 100, ""), Passage("a", 1, 90, 200, ""), Passage("a", 2, 201, 300, ""),
    Passage("a", 3, 320, 400, ""), Passage("b", 0, 0, 100, ""),
]


def test_overlapping_touching_and_neighbouring_passages_of_one_article_overlap():
    assert overlaps(P[0], P[1]) and overlaps(P[1], P[2])  # shared text; neighbours one space apart
    assert not overlaps(P[0], P[2]) and not overlaps(P[0], P[3])
    assert not overlaps(P[0], P[4])  # another article


def test_weaker_repeat_gives_way_to_the_next_candidate():
    assert drop_repeats([1, 0, 2, 4, 3], P, k=3) == [1, 4, 3]
    assert drop_repeats([0, 2, 4], P, k=5) == [0, 2, 4]


def test_no_response_of_the_seed_questions_repeats_text(searcher):
    from eval.questions import load_seed_questions

    questions = [q.question for q in load_seed_questions()]
    for mode in ("hybrid", "bm25", "dense"):
        for response in searcher.search_many(questions, k=10, mode=mode):
            results = response.results
            for i, a in enumerate(results):
                for b in results[i + 1:]:
                    assert not (a.doc_id == b.doc_id and a.start <= b.end and b.start <= a.end), response.query

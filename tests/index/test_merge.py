"""Merge step: no two results repeat text."""

from __future__ import annotations

from index.ingest.chunking import Passage
from index.merge import merge_results, overlaps

P = [
    Passage("a", 0, 0, 100, ""), Passage("a", 1, 90, 200, ""), Passage("a", 2, 201, 300, ""),
    Passage("a", 3, 320, 400, ""), Passage("b", 0, 0, 100, ""),
]


def test_overlapping_touching_and_neighbouring_passages_of_one_article_overlap():
    assert overlaps(P[0], P[1]) and overlaps(P[1], P[2])  # shared text; neighbours one space apart
    assert not overlaps(P[0], P[2]) and not overlaps(P[0], P[3])
    assert not overlaps(P[0], P[4])  # another article


def spans(results):
    return [(r.passage_ids, r.start, r.end) for r in results]


def test_a_touching_candidate_joins_the_better_result_within_the_cap():
    # 1, then its neighbours 0 and 2, then 3 (2's neighbour): the union 0..400 is within 400
    assert spans(merge_results([1, 0, 2, 4, 3], P, k=3, max_chars=400)) == [([1, 0, 2, 3], 0, 400), ([4], 0, 100)]
    assert spans(merge_results([1, 0, 2, 4, 3], P, k=3, max_chars=350)) == [([1, 0, 2], 0, 300), ([4], 0, 100)]
    assert spans(merge_results([0, 2, 4], P, k=5, max_chars=400)) == [([0], 0, 100), ([2], 201, 300),
                                                                     ([4], 0, 100)]


def test_beyond_the_cap_the_weaker_repeat_gives_way_to_the_next_candidate():
    assert spans(merge_results([1, 0, 2, 4, 3], P, k=3, max_chars=150)) == [([1], 90, 200), ([4], 0, 100),
                                                                          ([3], 320, 400)]
    assert spans(merge_results([1, 0, 2, 4, 3], P, k=3, max_chars=200)) == [([1, 0], 0, 200), ([4], 0, 100),
                                                                          ([3], 320, 400)]


def test_a_candidate_touching_two_results_gives_way_so_they_never_meet():
    # 0 and 2 are results; 1 touches both: joining either would make the two results touch
    assert spans(merge_results([0, 2, 1, 4], P, k=3, max_chars=1000)) == [([0], 0, 100), ([2], 201, 300),
                                                                         ([4], 0, 100)]


def test_no_response_of_the_seed_questions_repeats_text(searcher):
    from eval.questions import load_seed_questions

    questions = [q.question for q in load_seed_questions()]
    for mode in ("hybrid", "bm25", "dense"):
        for response in searcher.search_many(questions, k=10, mode=mode):
            results = response.results
            for i, a in enumerate(results):
                assert len(a.text) <= searcher.settings.merge_max_chars
                for b in results[i + 1:]:
                    assert not (a.doc_id == b.doc_id and a.start <= b.end and b.start <= a.end), response.query

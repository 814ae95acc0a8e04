"""Merge step: no two results repeat text."""

from __future__ import annotations

from index.ingest.chunking import Passage
from index.merge import merge_results, overlaps, remainder

P = [
    Passage("a", 0, 0, 100, ""), Passage("a", 1, 90, 200, ""), Passage("a", 2, 201, 300, ""),
    Passage("a", 3, 320, 400, ""), Passage("b", 0, 0, 100, ""),
]


def test_overlapping_touching_and_neighbouring_passages_of_one_article_overlap():
    assert overlaps(P[0], P[1]) and overlaps(P[1], P[2])  # shared text; neighbours one space apart
    assert not overlaps(P[0], P[2]) and not overlaps(P[0], P[3])
    assert not overlaps(P[0], P[4])  # another article


TEXT = {"a": "x" * 400, "b": "y" * 100}
NO_REST = 1000  # no remainder is this long: a candidate that cannot join gives way


def merge(order, k, max_chars, min_rest_chars=NO_REST):
    return merge_results(order, P, k, max_chars, min_rest_chars, TEXT.__getitem__)


def spans(results):
    return [(r.passage_ids, r.start, r.end) for r in results]


def test_a_touching_candidate_joins_the_better_result_within_the_cap():
    # 1, then its neighbours 0 and 2, then 3 (2's neighbour): the union 0..400 is within 400
    assert spans(merge([1, 0, 2, 4, 3], k=3, max_chars=400)) == [([1, 0, 2, 3], 0, 400), ([4], 0, 100)]
    assert spans(merge([1, 0, 2, 4, 3], k=3, max_chars=350)) == [([1, 0, 2], 0, 300), ([4], 0, 100)]
    assert spans(merge([0, 2, 4], k=5, max_chars=400)) == [([0], 0, 100), ([2], 201, 300),
                                                                     ([4], 0, 100)]


def test_beyond_the_cap_the_weaker_repeat_gives_way_to_the_next_candidate():
    assert spans(merge([1, 0, 2, 4, 3], k=3, max_chars=150)) == [([1], 90, 200), ([4], 0, 100),
                                                                          ([3], 320, 400)]
    assert spans(merge([1, 0, 2, 4, 3], k=3, max_chars=200)) == [([1, 0], 0, 200), ([4], 0, 100),
                                                                          ([3], 320, 400)]


def test_a_candidate_touching_two_results_gives_way_so_they_never_meet():
    # 0 and 2 are results; 1 touches both: joining either would make the two results touch
    assert spans(merge([0, 2, 1, 4], k=3, max_chars=1000)) == [([0], 0, 100), ([2], 201, 300),
                                                                         ([4], 0, 100)]


def test_beyond_the_cap_the_part_a_better_result_does_not_show_is_a_result_of_its_own():
    # 0 (0..100), then 1 (90..200): the union is over the cap, so 1 shows what 0 does not, 100..200
    assert spans(merge([0, 1, 4], k=3, max_chars=150, min_rest_chars=50)) == [([0], 0, 100), ([1], 100, 200),
                                                                              ([4], 0, 100)]
    # ... unless that part is shorter than min_rest_chars: then 1 gives way
    assert spans(merge([0, 1, 4], k=3, max_chars=150, min_rest_chars=101)) == [([0], 0, 100), ([4], 0, 100)]


def test_a_candidate_between_two_results_shows_what_lies_between_them():
    # 0 (0..100) and 2 (201..300) are results; 1 (90..200) touches both: it becomes 100..200
    assert spans(merge([0, 2, 1], k=3, max_chars=1000, min_rest_chars=50)) == [([0], 0, 100), ([2], 201, 300),
                                                                               ([1], 100, 200)]


def test_the_remainder_is_trimmed_of_white_space_and_none_when_a_result_lies_inside_the_candidate():
    from index.merge import MergedResult

    text = "a" * 100 + "  \n" + "b" * 97
    candidate = Passage("a", 1, 90, 200, "")
    assert remainder(candidate, [MergedResult([0], "a", 0, 100)], text) == (103, 200)
    assert remainder(candidate, [MergedResult([2], "a", 150, 260)], text) == (90, 150)
    assert remainder(candidate, [MergedResult([5], "a", 120, 150)], text) is None


def test_no_response_of_the_seed_questions_repeats_text(searcher):
    from eval.questions import load_seed_questions

    questions = [q.question for q in load_seed_questions()]
    passage_spans = {(p.doc_id, p.start, p.end) for p in searcher.index.passages}
    parts = 0  # results that are the part of a passage that better results did not show
    for mode in ("hybrid", "bm25", "dense"):
        for response in searcher.search_many(questions, k=10, mode=mode):
            results = response.results
            for i, a in enumerate(results):
                document = searcher.index.documents[a.doc_id].text
                assert len(a.text) <= searcher.settings.merge_max_chars
                assert a.text == document[a.start:a.end] and a.text == a.text.strip()
                assert a.start <= a.evidence.start < a.evidence.end <= a.end, response.query
                parts += (a.doc_id, a.start, a.end) not in passage_spans and any(
                    doc == a.doc_id and start <= a.start and a.end <= end for doc, start, end in passage_spans)
                for b in results[i + 1:]:
                    assert not (a.doc_id == b.doc_id and a.start < b.end and b.start < a.end), response.query
    assert parts > 0  # the seed questions do meet passages that only partly show

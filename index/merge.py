"""Merge step: no two results of one response repeat text.

Neighbouring passages of an article share a sentence of overlap, so the two best
candidates are often the same text twice, or the two halves of one answer. Walking the
final order, a candidate that overlaps or touches one better result of the same article
joins it (the result becomes the union of their spans, cited exactly like a passage) when
the union stays within a length cap. Beyond the cap, or when it touches two results, the
part of it that the better results do not show becomes a result of its own when it is long
enough to hold a sentence (a passage between two results often holds the answer: dropping
it whole lost it); otherwise it gives way to the next candidate. Neighbours (consecutive
passages of the article) count as adjacent even when white space separates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from index.ingest.chunking import Passage


def overlaps(a: Passage, b: Passage) -> bool:
    """Same article, and the spans share text, touch, or are neighbouring passages."""
    return a.doc_id == b.doc_id and (a.start <= b.end and b.start <= a.end or abs(a.ordinal - b.ordinal) <= 1)


@dataclass
class MergedResult:
    """One result: one passage, or neighbouring passages joined into the union of their spans."""

    passage_ids: list[int]  # in the final order: the first ranked highest
    doc_id: str
    start: int
    end: int


def remainder(candidate: Passage, touching: list[MergedResult], text: str) -> tuple[int, int] | None:
    """The span of `candidate` that the results it touches do not show, white space trimmed: its
    part after a result, before one, or between two (None when a result lies inside it)."""
    start, end = candidate.start, candidate.end
    for result in touching:
        if result.start <= candidate.start and result.end < candidate.end:
            start = max(start, result.end)
        elif result.start > candidate.start and result.end >= candidate.end:
            end = min(end, result.start)
        else:
            return None
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def merge_results(order: Iterable[int], passages: list[Passage], k: int, max_chars: int, min_rest_chars: int,
                  text_of: Callable[[str], str]) -> list[MergedResult]:
    """The first k results of `order`: a candidate touching one earlier result joins it if the
    union is at most `max_chars` long; else (or if it touches two) its part beyond them is a
    result of its own if at least `min_rest_chars` long, and it is dropped otherwise. `text_of`: an
    article's text, by doc_id."""
    results: list[MergedResult] = []
    for passage_id in order:
        candidate = passages[passage_id]
        touching = [r for r in results if any(overlaps(candidate, passages[other]) for other in r.passage_ids)]
        if len(touching) == 1:
            result = touching[0]
            start, end = min(result.start, candidate.start), max(result.end, candidate.end)
            if end - start <= max_chars:
                result.passage_ids.append(passage_id)
                result.start, result.end = start, end
                continue
        if touching:
            rest = remainder(candidate, touching, text_of(candidate.doc_id))
            if rest is None or rest[1] - rest[0] < min_rest_chars:
                continue
            results.append(MergedResult([passage_id], candidate.doc_id, *rest))
        else:
            results.append(MergedResult([passage_id], candidate.doc_id, candidate.start, candidate.end))
        if len(results) == k:
            break
    return results

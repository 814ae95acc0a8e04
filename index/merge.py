"""Merge step: no two results of one response repeat text.

Neighbouring passages of an article share a sentence of overlap, so the two best
candidates are often the same text twice, or the two halves of one answer. Walking the
final order, a candidate that overlaps or touches one better result of the same article
joins it (the result becomes the union of their spans, cited exactly like a passage) when
the union stays within a length cap; otherwise, or when it touches two results, it gives
way to the next candidate. Neighbours (consecutive passages of the article) count as
adjacent even when white space separates them.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def merge_results(order: Iterable[int], passages: list[Passage], k: int, max_chars: int) -> list[MergedResult]:
    """The first k results of `order`: a candidate touching one earlier result joins it if the
    union is at most `max_chars` long, and is dropped otherwise (or if it touches two)."""
    results: list[MergedResult] = []
    for passage_id in order:
        candidate = passages[passage_id]
        touching = [r for r in results if any(overlaps(candidate, passages[other]) for other in r.passage_ids)]
        if not touching:
            results.append(MergedResult([passage_id], candidate.doc_id, candidate.start, candidate.end))
            if len(results) == k:
                break
        elif len(touching) == 1:
            result = touching[0]
            start, end = min(result.start, candidate.start), max(result.end, candidate.end)
            if end - start <= max_chars:
                result.passage_ids.append(passage_id)
                result.start, result.end = start, end
    return results

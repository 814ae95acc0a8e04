"""Merge step: no two results of one response repeat text.

Neighbouring passages of an article share a sentence of overlap, so the two best
candidates are often the same text twice. Walking the final order, a candidate
that overlaps or touches a better result of the same article gives way to the
next candidate. Neighbours (consecutive passages of the article) count as adjacent
even when white space separates them.
"""

from __future__ import annotations

from collections.abc import Iterable

from index.ingest.chunking import Passage


def overlaps(a: Passage, b: Passage) -> bool:
    """Same article, and the spans share text, touch, or are neighbouring passages."""
    return a.doc_id == b.doc_id and (a.start <= b.end and b.start <= a.end or abs(a.ordinal - b.ordinal) <= 1)


def drop_repeats(order: Iterable[int], passages: list[Passage], k: int) -> list[int]:
    """The first k passage numbers of `order` of which none overlaps an earlier one."""
    kept: list[int] = []
    for passage_id in order:
        candidate = passages[passage_id]
        if any(overlaps(candidate, passages[other]) for other in kept):
            continue
        kept.append(passage_id)
        if len(kept) == k:
            break
    return kept

"""Reciprocal rank cut at k: 1 / rank of the first relevant result in the top k, else 0."""

from collections.abc import Sequence


def reciprocal_rank_at_k(relevance: Sequence[bool], k: int = 10) -> float:
    if k < 1:
        raise ValueError("k must be at least 1")
    for rank, relevant in enumerate(relevance[:k], start=1):
        if relevant:
            return 1.0 / rank
    return 0.0

"""Hit@k: 1 when any of the first k results is relevant."""

from collections.abc import Sequence


def hit_at_k(relevance: Sequence[bool], k: int) -> float:
    if k < 1:
        raise ValueError("k must be at least 1")
    return 1.0 if any(relevance[:k]) else 0.0

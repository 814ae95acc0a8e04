"""nDCG@k with binary relevance.

The ideal ranking puts all `n_relevant` relevant passages of the index first
(several overlapping passages can contain the same answer), cut at k.
"""

import math
from collections.abc import Sequence


def ndcg_at_k(relevance: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    if k < 1:
        raise ValueError("k must be at least 1")
    if n_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevance[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return dcg / ideal

"""Reciprocal-rank fusion of several ranked lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]],
    weights: Mapping[str, float],
    k: int = 60,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids: score(d) = sum over lists of weight / (k + rank), rank from 1.

    Ties are broken by the best rank the id reached in any list, then by id,
    so the order never depends on dict or set iteration.
    """
    if k < 0:
        raise ValueError("the RRF constant k must be >= 0")
    fused: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
            best_rank[item] = min(best_rank.get(item, rank), rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], best_rank[pair[0]], pair[0]))

"""Retrieval metrics, one per module. Each takes a ranked list of booleans (is result i relevant?)."""

from eval.metrics.hit_rate import hit_at_k
from eval.metrics.ndcg import ndcg_at_k
from eval.metrics.reciprocal_rank import reciprocal_rank_at_k
from eval.metrics.separation import unanswerable_separation

__all__ = ["hit_at_k", "ndcg_at_k", "reciprocal_rank_at_k", "unanswerable_separation"]

"""Retrieval metrics, one per module. Each takes a ranked list of booleans (is result i relevant?);
answer_char_f1 scores a marked answer span against the accepted answers."""

from eval.metrics.answer_f1 import answer_char_f1
from eval.metrics.hit_rate import hit_at_k
from eval.metrics.ndcg import ndcg_at_k
from eval.metrics.reciprocal_rank import reciprocal_rank_at_k
from eval.metrics.separation import unanswerable_separation

__all__ = ["answer_char_f1", "hit_at_k", "ndcg_at_k", "reciprocal_rank_at_k", "unanswerable_separation"]

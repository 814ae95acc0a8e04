"""Reciprocal-rank fusion against hand-computed values."""

from __future__ import annotations

import pytest

from index.fusion import reciprocal_rank_fusion


def test_scores_match_hand_computation():
    fused = dict(reciprocal_rank_fusion({"bm25": [7, 3], "dense": [3, 9]}, {"bm25": 1.0, "dense": 1.0}, k=60))
    assert fused[3] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[7] == pytest.approx(1 / 61)
    assert fused[9] == pytest.approx(1 / 62)


def test_order_and_weights():
    rankings = {"bm25": [1, 2], "dense": [2, 1]}
    assert [i for i, _ in reciprocal_rank_fusion(rankings, {"bm25": 2.0, "dense": 1.0}, k=0)] == [1, 2]
    assert [i for i, _ in reciprocal_rank_fusion(rankings, {"bm25": 1.0, "dense": 2.0}, k=0)] == [2, 1]


def test_ties_break_on_best_rank_then_id():
    fused = reciprocal_rank_fusion({"bm25": [5, 4], "dense": [4, 5]}, {}, k=60)
    assert [i for i, _ in fused] == [4, 5]  # equal score and best rank: lower id first
    fused = reciprocal_rank_fusion({"bm25": [8], "dense": [2]}, {"bm25": 1.0, "dense": 1.0}, k=60)
    assert [i for i, _ in fused] == [2, 8]


def test_empty_and_invalid():
    assert reciprocal_rank_fusion({"bm25": [], "dense": []}, {}, k=60) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion({"bm25": [1]}, {}, k=-1)

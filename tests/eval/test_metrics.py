"""Each metric against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from eval.metrics import hit_at_k, ndcg_at_k, reciprocal_rank_at_k, unanswerable_separation

RANKING = [False, False, True, False, True]  # relevant at ranks 3 and 5


def test_hit_at_k():
    assert [hit_at_k(RANKING, k) for k in (1, 2, 3, 5, 10)] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert hit_at_k([], 5) == 0.0
    with pytest.raises(ValueError):
        hit_at_k(RANKING, 0)


def test_reciprocal_rank():
    assert reciprocal_rank_at_k(RANKING, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank_at_k(RANKING, 2) == 0.0
    assert reciprocal_rank_at_k([True], 10) == 1.0


def test_ndcg_by_hand():
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    ideal_two = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(RANKING, n_relevant=2, k=10) == pytest.approx(dcg / ideal_two)
    ideal_three = ideal_two + 1 / math.log2(4)
    assert ndcg_at_k(RANKING, n_relevant=3, k=10) == pytest.approx(dcg / ideal_three)
    assert ndcg_at_k(RANKING, n_relevant=2, k=3) == pytest.approx((1 / math.log2(4)) / ideal_two)
    assert ndcg_at_k([True, True], n_relevant=2) == pytest.approx(1.0)
    assert ndcg_at_k(RANKING, n_relevant=0) == 0.0


def test_unanswerable_separation():
    answerable = [float(x) for x in range(1, 101)]  # 5th percentile is 5.95
    share, threshold = unanswerable_separation(answerable, [1.0, 3.0, 50.0, 99.0])
    assert threshold == pytest.approx(5.95)
    assert share == pytest.approx(0.5)
    assert math.isnan(unanswerable_separation([], [1.0])[0])


def test_answer_char_f1_by_hand():
    from eval.metrics import answer_char_f1

    assert answer_char_f1("招商引资", ["招商引资"]) == 1.0
    # longest common substring 招商引资 (4): precision 4/6, recall 1
    assert answer_char_f1("招商引资作为", ["招商引资"]) == pytest.approx(2 * (4 / 6) / (4 / 6 + 1))
    assert answer_char_f1("光荣", ["光荣和ω-force"]) == pytest.approx(2 * (2 / 9) / (1 + 2 / 9))  # "-" is dropped
    assert answer_char_f1("“村雨城”", ["任天堂游戏谜之村雨城", "村雨城"]) == 1.0  # the best answer, quotes dropped
    assert answer_char_f1("ＡＢＣ", ["abc"]) == 1.0  # widths and case unified
    assert answer_char_f1(None, ["招商引资"]) == 0.0 and answer_char_f1("无关", ["招商引资"]) == 0.0

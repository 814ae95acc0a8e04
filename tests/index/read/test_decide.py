"""Combining the ranker's probability with the reader's margin."""

from __future__ import annotations

import math

import pytest

from index.read.decide import Logistic, ReadingCalibration, clipped_margin, logit, sigmoid


def test_logistic_by_hand():
    model = Logistic((1.0, 0.5), -0.25)
    expected = 1 / (1 + math.exp(-(math.log(0.8 / 0.2) + 0.5 * 3.0 - 0.25)))
    assert model(0.8, 3.0) == pytest.approx(expected)
    assert model(1.0, 1e9) < 1.0 and model(0.0, -1e9) > 0.0  # clipped, never exactly 0 or 1
    assert clipped_margin(-math.inf) == -20.0
    assert sigmoid(logit(0.3)) == pytest.approx(0.3)


def test_no_answer_when_the_combined_probability_is_below_the_threshold():
    calibration = ReadingCalibration(Logistic((1.0, 0.0), 0.0), Logistic((0.0, 1.0), 0.0), threshold=0.5)
    assert calibration.no_answer(0.99, -2.0)  # the reader's null score wins, whatever the ranker says
    assert not calibration.no_answer(0.01, 2.0)
    assert calibration.confidence(None, 1.0) is None
    assert calibration.confidence(0.7, 5.0) == pytest.approx(0.7)

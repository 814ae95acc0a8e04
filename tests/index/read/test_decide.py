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


def test_no_answer_when_the_ranker_or_the_reader_says_so():
    calibration = ReadingCalibration(Logistic((1.0, 0.0), 0.0), no_answer_margin=-3.0)
    assert calibration.no_answer(0.99, -5.0, ranker_threshold=0.2)  # the reader's null score wins
    assert calibration.no_answer(0.1, 8.0, ranker_threshold=0.2)  # the ranker's own cut holds
    assert not calibration.no_answer(0.3, -2.0, ranker_threshold=0.2)
    assert calibration.no_answer(0.99, -math.inf, ranker_threshold=0.2)  # nothing to mark at all
    assert calibration.confidence(None, 1.0) is None
    assert calibration.confidence(0.7, 5.0) == pytest.approx(0.7)

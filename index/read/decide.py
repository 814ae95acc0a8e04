"""Deciding by reading: the first result's confidence and the response's "no answer" from the
ranker's probabilities and the reader's margin (best span minus null score), fitted by
``qa train-reader --calibrate-only`` on the reader's calibration part (training articles the
reader never trained on) and stored in reader.json:

- confidence: a logistic regression, P(the first result holds the answer | ranker's confidence,
  margin);
- no answer: the ranker's own "no answer" (its probability below QA_NO_ANSWER_THRESHOLD, a cut
  chosen out of fold) or the reader's margin below ``no_answer_margin``, the cut at which the two
  together flag 5% of the answerable calibration questions. Two cuts, each set on questions its
  model never saw: the ranker did train on the reader's calibration articles, so a model fitted
  there over its probability would trust it more than new questions allow (such a fit flagged
  twice the answerable questions it was set for on the held-out parts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from index.read.graph import READER_CONFIG, read_config

EPS = 1e-6
MARGIN_LIMIT = 20.0  # margins are start+end logit differences; beyond ±20 they say nothing more


def logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def clipped_margin(margin: float) -> float:
    return max(-MARGIN_LIMIT, min(MARGIN_LIMIT, margin))


@dataclass(frozen=True)
class Logistic:
    weights: tuple[float, float]  # for (logit of the ranker's probability, margin)
    bias: float

    def __call__(self, probability: float, margin: float) -> float:
        w = self.weights
        return sigmoid(w[0] * logit(probability) + w[1] * clipped_margin(margin) + self.bias)

    @classmethod
    def from_json(cls, data: dict) -> Logistic:
        return cls((float(data["weights"][0]), float(data["weights"][1])), float(data["bias"]))


@dataclass(frozen=True)
class ReadingCalibration:
    first: Logistic
    no_answer_margin: float

    def confidence(self, ranker_confidence: float | None, margin: float) -> float | None:
        return None if ranker_confidence is None else self.first(ranker_confidence, margin)

    def no_answer(self, answerable: float, margin: float, ranker_threshold: float) -> bool:
        return answerable < ranker_threshold or margin < self.no_answer_margin

    @classmethod
    def load(cls, path: Path = READER_CONFIG) -> ReadingCalibration | None:
        """None when reader.json holds no calibration yet, or one of an older form (the ranker's
        figures stay until qa train-reader --calibrate-only fits it)."""
        data = read_config(path).get("calibration")
        if not data or "no_answer_margin" not in data:
            return None
        return cls(Logistic.from_json(data["confidence"]), float(data["no_answer_margin"]))

"""Deciding by reading: the first result's confidence and the response's "no answer" from the
ranker's probabilities and the reader's margin (best span minus null score).

Two logistic models fitted by ``qa train-reader --calibrate`` on the reader's calibration part
(training articles the reader never trained on), stored in reader.json:

- confidence: P(the first result holds the answer | ranker's confidence, margin);
- answerable: P(the response holds an answer | ranker's response-level probability, margin);
  ``no_answer`` when it is below the threshold that flags 5% of the answerable calibration
  questions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from index.read.graph import READER_CONFIG, read_config

EPS = 1e-6


def logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def clipped_margin(margin: float) -> float:
    """Margins are start+end logit differences; beyond ±20 they say nothing more."""
    return max(-20.0, min(20.0, margin))


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
    answerable: Logistic
    threshold: float

    def confidence(self, ranker_confidence: float | None, margin: float) -> float | None:
        return None if ranker_confidence is None else self.first(ranker_confidence, margin)

    def no_answer(self, answerable: float, margin: float) -> bool:
        return self.answerable(answerable, margin) < self.threshold

    @classmethod
    def load(cls, path: Path = READER_CONFIG) -> ReadingCalibration | None:
        """None when reader.json holds no calibration yet (the ranker's figures stay)."""
        data = read_config(path).get("calibration")
        if not data:
            return None
        return cls(Logistic.from_json(data["confidence"]), Logistic.from_json(data["answerable"]),
                   float(data["threshold"]))

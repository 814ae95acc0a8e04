"""The trained reranking model: passage trees, evidence-sentence trees and the confidence calibration.

Trained by ``qa train-ranker`` with LightGBM (lambdarank rankers, a binary classifier
for the confidence), and stored as one JSON file holding each forest as an ONNX graph. At
search time ONNX Runtime (already loaded for the encoder) runs them: importing LightGBM pulls
in scikit-learn and SciPy (about 4 s measured here), which would dominate the cold start of
``qa search``. A test checks that these predictions equal LightGBM's own on held-out rows.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FORMAT = 4  # 2: the confidence is a tree classifier; 3: trees are ONNX graphs; 4: a "no answer" model
DEFAULT_MODEL = Path(__file__).with_name("reranker.json")
CONFIDENCE_EXTRA_INPUTS = ("score", "score_gap", "rank")  # after the passage features


def embedder_identity(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The weights and the encoder's engine and precision, without the graph checksum."""
    encoder = str(fingerprint.get("encoder", ""))
    return {"weights_sha256": fingerprint.get("weights_sha256"), "encoder": encoder.rsplit("-", 1)[0]}


class RankerModelError(RuntimeError):
    """The model file is missing, damaged, or was trained for another embedder."""


@dataclass
class Forest:
    """Boosted regression trees as an ONNX graph, run by ONNX Runtime: its raw score equals
    LightGBM's (double-precision inputs and thresholds). C++ walks the trees about three times
    faster than numpy did, and releases the GIL meanwhile, so concurrent searches do not queue
    behind it. The graph is written from the trained booster by onnxmltools (``eval.train``); it
    sums the leaf values in float32, so scores agree with LightGBM's to about 1e-7."""

    graph: bytes  # a serialized ONNX model: (rows, features) float64 -> (rows, 1) raw score

    def __post_init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # a few hundred small trees: threads cost more than they give
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(self.graph, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def predict(self, rows: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        if len(rows) == 0:
            return np.zeros(0)
        return self._session.run(None, {self._input: rows})[0].reshape(len(rows)).astype(np.float64)

    def to_json(self) -> dict[str, str]:
        return {"onnx": base64.b64encode(self.graph).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Forest:
        return cls(base64.b64decode(data["onnx"]))


@dataclass
class Calibration:
    """P(the result contains the answer): a LightGBM binary classifier (logloss, so its
    probabilities are calibrated) over the passage features plus the reranker's score,
    its gap to the best candidate and its rank (CONFIDENCE_EXTRA_INPUTS)."""

    forest: Forest  # the classifier's trees as a regression: its raw score, before the sigmoid

    def probability(self, inputs: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.forest.predict(inputs)))

    def to_json(self) -> dict[str, Any]:
        return self.forest.to_json()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(Forest.from_json(data))


@dataclass
class RankerModel:
    passage_features: tuple[str, ...]
    passages: Forest
    sentence_features: tuple[str, ...]
    sentences: Forest
    calibration: Calibration
    answerable_features: tuple[str, ...]
    answerable: Calibration  # P(the response holds an answer), from ANSWERABLE_FEATURES
    embedder: dict[str, Any]  # fingerprint of the embedder the dense features came from
    info: dict[str, Any]  # how it was trained: data, splits, importances, held-out metrics

    def save(self, path: Path) -> None:
        payload = {
            "format": MODEL_FORMAT, "embedder": self.embedder, "info": self.info,
            "passage_features": list(self.passage_features), "passage_trees": self.passages.to_json(),
            "sentence_features": list(self.sentence_features), "sentence_trees": self.sentences.to_json(),
            "calibration": self.calibration.to_json(),
            "answerable_features": list(self.answerable_features), "answerable": self.answerable.to_json(),
        }
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> RankerModel:
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
            if payload.get("format") != MODEL_FORMAT:
                raise RankerModelError(f"reranking model {path} has format {payload.get('format')!r}, "
                                       f"this program reads {MODEL_FORMAT}; retrain it with: qa train-ranker")
            return cls(tuple(payload["passage_features"]), Forest.from_json(payload["passage_trees"]),
                       tuple(payload["sentence_features"]), Forest.from_json(payload["sentence_trees"]),
                       Calibration.from_json(payload["calibration"]), tuple(payload["answerable_features"]),
                       Calibration.from_json(payload["answerable"]), payload["embedder"], payload["info"])
        except RankerModelError:
            raise
        except FileNotFoundError as exc:
            raise RankerModelError(f"no reranking model at {path}; train one with: qa train-ranker") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RankerModelError(f"reranking model {path} cannot be read ({type(exc).__name__}: {exc}); "
                                   "retrain it with: qa train-ranker") from exc

    def check(self, passage_features: tuple[str, ...], sentence_features: tuple[str, ...],
              answerable_features: tuple[str, ...], embedder: dict[str, Any]) -> None:
        """Refuse a model trained on other features or with another embedder's vectors.

        The embedder is the model's weights and the encoder's engine and precision (say
        ``onnxruntime-int8``): what the dense features depend on. The graph file's own checksum
        is left out, as a rebuilt graph of the same weights and precision gives the same vectors
        (the conversion checks that) while its bytes may differ from one machine to another.
        """
        if (self.passage_features, self.sentence_features, self.answerable_features) != (
                passage_features, sentence_features, answerable_features):
            raise RankerModelError("the reranking model was trained with another feature list; "
                                   "retrain it with: qa train-ranker")
        trained, now = embedder_identity(self.embedder), embedder_identity(embedder)
        for key, value in trained.items():
            if now.get(key) != value:
                raise RankerModelError(
                    f"the reranking model was trained for another embedder ({key} {value!r}, now "
                    f"{now.get(key)!r}); retrain it with: qa train-ranker")

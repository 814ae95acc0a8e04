"""The trained reranking model: passage trees, evidence-sentence trees and the confidence calibration.

Trained by ``qa train-ranker`` with LightGBM (lambdarank rankers, a binary classifier
for the confidence), and stored as one JSON file. At search time the trees are walked with
numpy: importing LightGBM pulls in scikit-learn and SciPy (about 4 s measured here),
which would dominate the cold start of ``qa search``. A test checks that these
predictions equal LightGBM's own on held-out rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FORMAT = 2  # 2: the confidence is a tree classifier
DEFAULT_MODEL = Path(__file__).with_name("reranker.json")
CONFIDENCE_EXTRA_INPUTS = ("score", "score_gap", "rank")  # after the passage features


def embedder_identity(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The weights and the encoder's engine and precision, without the graph checksum."""
    encoder = str(fingerprint.get("encoder", ""))
    return {"weights_sha256": fingerprint.get("weights_sha256"), "encoder": encoder.rsplit("-", 1)[0]}


class RankerModelError(RuntimeError):
    """The model file is missing, damaged, or was trained for another embedder."""


def _flatten(node: dict[str, Any], nodes: list[dict], leaves: list[float]) -> int:
    """Number a LightGBM tree's nodes depth-first; returns the node's slot, or -(leaf + 1)."""
    if "leaf_value" in node:
        leaves.append(float(node["leaf_value"]))
        return -len(leaves)
    if node.get("decision_type", "<=") != "<=":
        raise ValueError("only numeric '<=' splits are supported")
    slot = len(nodes)
    nodes.append(node)
    node["_left"] = _flatten(node["left_child"], nodes, leaves)
    node["_right"] = _flatten(node["right_child"], nodes, leaves)
    return slot


@dataclass
class Forest:
    """Regression trees stacked into padded arrays (trees x nodes); ``predict`` sums their
    leaf values like LightGBM's raw score, walking every tree for every row at once."""

    feature: np.ndarray  # (trees, nodes) split feature
    threshold: np.ndarray  # (trees, nodes) go left when value <= threshold
    left: np.ndarray  # (trees, nodes) child slot; a negative value -(leaf + 1) is a leaf
    right: np.ndarray
    default_left: np.ndarray  # (trees, nodes) where a missing value (nan) goes
    leaf_value: np.ndarray  # (trees, leaves)

    @classmethod
    def from_lightgbm_dump(cls, dump: dict[str, Any]) -> Forest:
        trees = []
        for tree in dump["tree_info"]:
            nodes: list[dict] = []
            leaves: list[float] = []
            root = _flatten(tree["tree_structure"], nodes, leaves)
            if root < 0:  # a tree that is a single leaf
                nodes = [{"split_feature": 0, "threshold": np.inf, "default_left": True,
                          "_left": root, "_right": root}]
            trees.append((nodes, leaves))
        width = max(len(nodes) for nodes, _ in trees)
        leaf_width = max(len(leaves) for _, leaves in trees)

        def table(key: str, fill: Any, dtype: Any) -> np.ndarray:
            out = np.full((len(trees), width), fill, dtype=dtype)
            for t, (nodes, _) in enumerate(trees):
                out[t, :len(nodes)] = [n.get(key, fill) for n in nodes]
            return out

        leaf_value = np.zeros((len(trees), leaf_width))
        for t, (_, leaves) in enumerate(trees):
            leaf_value[t, :len(leaves)] = leaves
        return cls(table("split_feature", 0, np.int32), table("threshold", np.inf, np.float64),
                   table("_left", -1, np.int32), table("_right", -1, np.int32),
                   table("default_left", True, bool), leaf_value)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Walk every (row, tree) pair down at once; a pair leaves the walk at its leaf, so the
        work is the sum of the path lengths, not the deepest path times every pair."""
        rows = np.asarray(rows, dtype=np.float64)
        n_rows, n_trees = len(rows), self.feature.shape[0]
        row_of = np.repeat(np.arange(n_rows), n_trees)
        tree_of = np.tile(np.arange(n_trees), n_rows)
        node = np.zeros(n_rows * n_trees, dtype=np.int32)
        walking = np.arange(n_rows * n_trees)
        while walking.size:
            tree, at = tree_of[walking], node[walking]
            values = rows[row_of[walking], self.feature[tree, at]]
            go_left = np.where(np.isnan(values), self.default_left[tree, at], values <= self.threshold[tree, at])
            node[walking] = np.where(go_left, self.left[tree, at], self.right[tree, at])
            walking = walking[node[walking] >= 0]
        return self.leaf_value[tree_of, -node - 1].reshape(n_rows, n_trees).sum(axis=1)

    def to_json(self) -> dict[str, list]:
        return {name: getattr(self, name).tolist()
                for name in ("feature", "threshold", "left", "right", "default_left", "leaf_value")}

    @classmethod
    def from_json(cls, data: dict[str, list]) -> Forest:
        types = {"feature": np.int32, "threshold": np.float64, "left": np.int32, "right": np.int32,
                 "default_left": bool, "leaf_value": np.float64}
        return cls(**{name: np.array(data[name], dtype=kind) for name, kind in types.items()})


@dataclass
class Calibration:
    """P(the result contains the answer): a LightGBM binary classifier (logloss, so its
    probabilities are calibrated) over the passage features plus the reranker's score,
    its gap to the best candidate and its rank (CONFIDENCE_EXTRA_INPUTS)."""

    forest: Forest

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
    embedder: dict[str, Any]  # fingerprint of the embedder the dense features came from
    info: dict[str, Any]  # how it was trained: data, splits, importances, held-out metrics

    def save(self, path: Path) -> None:
        payload = {
            "format": MODEL_FORMAT, "embedder": self.embedder, "info": self.info,
            "passage_features": list(self.passage_features), "passage_trees": self.passages.to_json(),
            "sentence_features": list(self.sentence_features), "sentence_trees": self.sentences.to_json(),
            "calibration": self.calibration.to_json(),
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
                       Calibration.from_json(payload["calibration"]), payload["embedder"], payload["info"])
        except RankerModelError:
            raise
        except FileNotFoundError as exc:
            raise RankerModelError(f"no reranking model at {path}; train one with: qa train-ranker") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RankerModelError(f"reranking model {path} cannot be read ({type(exc).__name__}: {exc}); "
                                   "retrain it with: qa train-ranker") from exc

    def check(self, passage_features: tuple[str, ...], sentence_features: tuple[str, ...],
              embedder: dict[str, Any]) -> None:
        """Refuse a model trained on other features or with another embedder's vectors.

        The embedder is the model's weights and the encoder's engine and precision (say
        ``onnxruntime-int8``): what the dense features depend on. The graph file's own checksum
        is left out, as a rebuilt graph of the same weights and precision gives the same vectors
        (the conversion checks that) while its bytes may differ from one machine to another.
        """
        if self.passage_features != passage_features or self.sentence_features != sentence_features:
            raise RankerModelError("the reranking model was trained with another feature list; "
                                   "retrain it with: qa train-ranker")
        trained, now = embedder_identity(self.embedder), embedder_identity(embedder)
        for key, value in trained.items():
            if now.get(key) != value:
                raise RankerModelError(
                    f"the reranking model was trained for another embedder ({key} {value!r}, now "
                    f"{now.get(key)!r}); retrain it with: qa train-ranker")

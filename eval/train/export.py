"""Trained LightGBM boosters → the ONNX graphs the search runs (``index.rank.model.Forest``).

The conversion is onnxmltools' (Apache-2.0), for double-precision input so every split uses
LightGBM's own threshold. onnxmltools converts a binary classifier for float input only, so the
confidence classifier is converted as the regression it is underneath (same trees, raw score);
``Calibration`` applies the sigmoid.
"""

from __future__ import annotations

import re

import lightgbm
import numpy as np

from index.rank.model import Forest

ONNX_OPSET = 15  # the newest onnxmltools 1.16 writes


def as_regression(booster: lightgbm.Booster) -> lightgbm.Booster:
    """The same trees with a regression objective: predict() gives the raw score."""
    text = booster.model_to_string()  # the objective is named in the header and in the parameters
    text = re.sub(r"^objective=.*$", "objective=regression", text, flags=re.MULTILINE)
    text = re.sub(r"^\[objective: .*\]$", "[objective: regression]", text, flags=re.MULTILINE)
    return lightgbm.Booster(model_str=text)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _float32_at_most(value: float) -> float:
    """The largest float32 not above `value` (as a float); a value beyond float32's range (no
    feature has one) is held at its edge rather than written as an infinity."""
    value = min(max(value, -FLOAT32_MAX), FLOAT32_MAX)
    rounded = np.float32(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, np.float32(-np.inf), dtype=np.float32)
    return float(rounded)


def float32_thresholds(booster: lightgbm.Booster) -> lightgbm.Booster:
    """The same trees with every split threshold moved down to a float32 value. The ONNX graph
    stores thresholds as float32; a double threshold between two close feature values could round
    to the upper one and send it the other way. Moved down, a threshold keeps every float32 value
    on its side, and the graph and the booster decide alike for any input."""
    text = booster.model_to_string()
    if re.search(r"^num_cat=[1-9]", text, flags=re.MULTILINE):
        raise ValueError("categorical splits are not supported")

    def rounded(line: re.Match) -> str:
        return "threshold=" + " ".join(repr(_float32_at_most(float(v))) for v in line.group(1).split())

    text = re.sub(r"^threshold=(.*)$", rounded, text, flags=re.MULTILINE)
    text = re.sub(r"^tree_sizes=.*\n", "", text, flags=re.MULTILINE)  # the trees' lengths changed
    return lightgbm.Booster(model_str=text)


def forest_of(booster: lightgbm.Booster, check_rows: np.ndarray | None = None) -> Forest:
    """The booster's raw score as an ONNX graph; with `check_rows`, refuse a graph whose
    predictions differ from LightGBM's own on them (the graph sums leaf values in float32: a
    difference of about 1e-7 is expected, a split taken the other way would show as far more).
    The thresholds are first moved to float32 values (float32_thresholds), and the check is made
    against the booster with those thresholds."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import DoubleTensorType

    booster = float32_thresholds(booster)
    graph = convert_lightgbm(booster, initial_types=[("features", DoubleTensorType([None, booster.num_feature()]))],
                             target_opset=ONNX_OPSET, zipmap=False)
    forest = Forest(graph.SerializeToString())
    if check_rows is not None:
        expected = booster.predict(check_rows, raw_score=True)
        if not np.allclose(forest.predict(check_rows), expected, atol=1e-5):
            raise RuntimeError("the exported trees do not reproduce LightGBM's predictions")
    return forest

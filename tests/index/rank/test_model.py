"""The reranking model file: ONNX Runtime predictions equal LightGBM's, and a wrong model is refused clearly."""

from __future__ import annotations

import json

import lightgbm
import numpy as np
import pytest

from eval.train.export import as_regression, float32_thresholds, forest_of
from index.rank.answerable import ANSWERABLE_FEATURES
from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
from index.rank.model import DEFAULT_MODEL, Calibration, Forest, RankerModel, RankerModelError


def _trained(objective: str, rng: np.random.Generator) -> lightgbm.Booster:
    features = rng.normal(size=(3000, 6))
    features[rng.random(features.shape) < 0.05] = np.nan  # missing values take the default branch
    labels = (np.nan_to_num(features[:, 0]) + 0.5 * np.nan_to_num(features[:, 3]) > 0.3).astype(int)
    grouping = {"group": [30] * 100} if objective == "lambdarank" else {}
    return lightgbm.train({"objective": objective, "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
                          lightgbm.Dataset(features, labels, **grouping), num_boost_round=40)


@pytest.mark.parametrize("objective", ["lambdarank", "binary"])
def test_forest_predictions_equal_lightgbms_own(objective):
    """The ONNX graph gives LightGBM's raw score on rows it never saw (summed in float32, so to
    about 1e-7; one split taken the other way would differ by far more), also after a JSON round
    trip; for the binary classifier, Calibration's probability is LightGBM's."""
    rng = np.random.default_rng(3)
    booster = _trained(objective, rng)
    forest = forest_of(as_regression(booster) if objective == "binary" else booster)
    test = rng.normal(size=(500, 6))
    test[rng.random(test.shape) < 0.05] = np.nan
    expected = booster.predict(test, raw_score=True)
    assert np.abs(forest.predict(test) - expected).max() < 1e-5
    again = Forest.from_json(json.loads(json.dumps(forest.to_json())))
    assert np.abs(again.predict(test) - expected).max() < 1e-5
    if objective == "binary":
        assert np.abs(Calibration(forest).probability(test) - booster.predict(test)).max() < 1e-5


def test_a_split_between_values_closer_than_float32_gives_the_same_decision_in_the_graph():
    """The graph holds thresholds as float32. A feature seen both as 2/3 and as float32(2/3) (one
    quantity computed in either precision) makes LightGBM split between the two; rounded to the
    nearest float32 that threshold sent float32(2/3) the other way, and the export's check
    refused the graph. Thresholds moved down to a float32 keep the graph and booster alike."""
    rng = np.random.default_rng(5)
    low, high = 2 / 3, float(np.float32(2 / 3))
    column = np.where(rng.random(2000) < 0.5, low, high)
    rows = np.column_stack([column, rng.normal(size=2000)])
    labels = (column == high).astype(float) + 0.1 * rows[:, 1]
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "num_threads": 1},
                             lightgbm.Dataset(rows, labels), num_boost_round=20)
    assert booster.predict(rows[column == high]).mean() - booster.predict(rows[column == low]).mean() > 0.5
    forest = forest_of(booster, check_rows=rows)  # raised before the thresholds were moved
    rounded = float32_thresholds(booster)
    assert np.abs(forest.predict(rows) - rounded.predict(rows, raw_score=True)).max() < 1e-5
    for line in rounded.model_to_string().splitlines():
        if line.startswith("threshold="):
            assert all(float(np.float32(v)) == float(v) for v in line.removeprefix("threshold=").split())


def test_the_committed_model_matches_this_feature_list_and_embedder(embedder):
    model = RankerModel.load(DEFAULT_MODEL)
    model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWERABLE_FEATURES, embedder.fingerprint)
    assert model.info["questions"]["cmrc2018"] > 1000 and model.info["questions"]["drcd"] > 1000


def test_a_model_for_another_embedder_is_refused(embedder):
    model = RankerModel.load(DEFAULT_MODEL)
    for other in ({**embedder.fingerprint, "weights_sha256": "0" * 64},
                  {**embedder.fingerprint, "encoder": "onnxruntime-fp32-0123456789ab"}):
        with pytest.raises(RankerModelError, match="trained for another embedder"):
            model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWERABLE_FEATURES, other)
    rebuilt_graph = {**embedder.fingerprint, "encoder": embedder.fingerprint["encoder"][:-12] + "0" * 12}
    model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWERABLE_FEATURES, rebuilt_graph)  # same weights and precision
    with pytest.raises(RankerModelError, match="another feature list"):
        model.check(PASSAGE_FEATURES[:-1], SENTENCE_FEATURES, ANSWERABLE_FEATURES, embedder.fingerprint)
    with pytest.raises(RankerModelError, match="another feature list"):
        model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWERABLE_FEATURES[:-1], embedder.fingerprint)


def test_missing_or_damaged_model_files_say_how_to_retrain(tmp_path):
    with pytest.raises(RankerModelError, match="qa train-ranker"):
        RankerModel.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RankerModelError, match="cannot be read"):
        RankerModel.load(tmp_path / "bad.json")

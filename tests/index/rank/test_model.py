"""The reranking model file: numpy predictions equal LightGBM's, and a wrong model is refused clearly."""

from __future__ import annotations

import json

import lightgbm
import numpy as np
import pytest

from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
from index.rank.model import DEFAULT_MODEL, Forest, RankerModel, RankerModelError


def test_forest_predictions_equal_lightgbms_own():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(3000, 6))
    features[rng.random(features.shape) < 0.05] = np.nan  # missing values take the default branch
    labels = (np.nan_to_num(features[:, 0]) + 0.5 * np.nan_to_num(features[:, 3]) > 0.3).astype(int)
    groups = [30] * 100
    booster = lightgbm.train({"objective": "lambdarank", "verbose": -1, "min_data_in_leaf": 5, "num_threads": 1},
                             lightgbm.Dataset(features, labels, group=groups), num_boost_round=40)
    forest = Forest.from_lightgbm_dump(booster.dump_model())
    test = rng.normal(size=(500, 6))
    test[rng.random(test.shape) < 0.05] = np.nan
    assert np.allclose(forest.predict(test), booster.predict(test), atol=1e-9)
    again = Forest.from_json(json.loads(json.dumps(forest.to_json())))
    assert np.allclose(again.predict(test), booster.predict(test), atol=1e-9)


def test_the_committed_model_matches_this_feature_list_and_embedder(embedder):
    model = RankerModel.load(DEFAULT_MODEL)
    model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, embedder.fingerprint)
    assert model.info["questions"]["cmrc2018"] > 1000 and model.info["questions"]["drcd"] > 1000


def test_a_model_for_another_embedder_is_refused(embedder):
    model = RankerModel.load(DEFAULT_MODEL)
    for other in ({**embedder.fingerprint, "weights_sha256": "0" * 64},
                  {**embedder.fingerprint, "encoder": "onnxruntime-fp32-0123456789ab"}):
        with pytest.raises(RankerModelError, match="trained for another embedder"):
            model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, other)
    rebuilt_graph = {**embedder.fingerprint, "encoder": embedder.fingerprint["encoder"][:-12] + "0" * 12}
    model.check(PASSAGE_FEATURES, SENTENCE_FEATURES, rebuilt_graph)  # same weights and precision
    with pytest.raises(RankerModelError, match="another feature list"):
        model.check(PASSAGE_FEATURES[:-1], SENTENCE_FEATURES, embedder.fingerprint)


def test_missing_or_damaged_model_files_say_how_to_retrain(tmp_path):
    with pytest.raises(RankerModelError, match="qa train-ranker"):
        RankerModel.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RankerModelError, match="cannot be read"):
        RankerModel.load(tmp_path / "bad.json")

"""Fit the reranking model: LightGBM lambdarank for passages and for evidence sentences,
and a binary classifier turning the passage's features and score into P(contains the answer).

The calibration is fitted on out-of-fold scores (folds by article), so it learns how
sure the ranker is on questions it did not train on, not on its own training lists.
"""

from __future__ import annotations

import hashlib
from typing import Any

import lightgbm
import numpy as np

from eval.train.data import CandidateList, SentenceGroup
from eval.train.export import as_regression, forest_of
from index.rank.answerable import ANSWERABLE_FEATURES, answerable_row, top_checked
from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
from index.rank.model import CONFIDENCE_EXTRA_INPUTS, Calibration
from index.rank.reranker import confidence_inputs

FOLDS = 3
PASSAGE_PARAMS: dict[str, Any] = {
    "objective": "lambdarank", "metric": "ndcg", "eval_at": [1, 3], "lambdarank_truncation_level": 10,
    "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40, "feature_fraction": 0.8,
    "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1, "seed": 7,
    "num_threads": 2, "deterministic": True, "force_row_wise": True,
}
PASSAGE_ROUNDS = 300
CONFIDENCE_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 100,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 5.0, "verbose": -1,
    "seed": 7, "num_threads": 2, "deterministic": True, "force_row_wise": True,
}
CONFIDENCE_ROUNDS = 200
ANSWERABLE_PARAMS: dict[str, Any] = {**CONFIDENCE_PARAMS, "min_data_in_leaf": 50}
ANSWERABLE_ROUNDS = 300
SENTENCE_ROUNDS = 200


def _fold(article: str) -> int:
    return hashlib.sha256(("fold:" + article).encode("utf-8")).digest()[0] % FOLDS


def _ranker(rows: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...], rounds: int) -> lightgbm.Booster:
    features = np.vstack([f for f, _ in rows])
    labels = np.concatenate([y for _, y in rows])
    dataset = lightgbm.Dataset(features, labels, group=[len(y) for _, y in rows], feature_name=list(names),
                               free_raw_data=False)
    return lightgbm.train(PASSAGE_PARAMS, dataset, num_boost_round=rounds)


def fit_passage_ranker(lists: list[CandidateList]) -> lightgbm.Booster:
    """Only lists with an answer among them teach the order (an all-zero list has no gradient)."""
    rows = [(c.features, c.labels) for c in lists if c.answerable and c.labels.any()]
    return _ranker(rows, PASSAGE_FEATURES, PASSAGE_ROUNDS)


def out_of_fold_scores(lists: list[CandidateList]) -> list[np.ndarray]:
    scores: list[np.ndarray | None] = [None] * len(lists)
    for fold in range(FOLDS):
        booster = fit_passage_ranker([c for c in lists if _fold(c.article) != fold])
        for i, c in enumerate(lists):
            if _fold(c.article) == fold:
                scores[i] = booster.predict(c.features)
    return scores  # type: ignore[return-value]


def fit_calibration(lists: list[CandidateList], scores: list[np.ndarray]) -> Calibration:
    """A binary classifier on out-of-fold scores: P(this candidate holds the answer). Trained on
    the questions as asked and with their article or answering passages missing (not on the
    changed questions, which are for the "no answer" model)."""
    pairs = [(c, s) for c, s in zip(lists, scores, strict=True) if c.kind in ("asked", "article", "gold")]
    inputs = np.vstack([confidence_inputs(c.features, s) for c, s in pairs])
    labels = np.concatenate([c.labels for c, _ in pairs])
    names = [*PASSAGE_FEATURES, *CONFIDENCE_EXTRA_INPUTS]
    booster = lightgbm.train(CONFIDENCE_PARAMS, lightgbm.Dataset(inputs, labels, feature_name=names),
                             num_boost_round=CONFIDENCE_ROUNDS)
    return Calibration(forest_of(as_regression(booster), check_rows=inputs[:500]))


def fit_sentence_ranker(groups: list[SentenceGroup]) -> lightgbm.Booster:
    return _ranker([(g.features, g.labels) for g in groups], SENTENCE_FEATURES, SENTENCE_ROUNDS)


def no_answer_threshold(lists: list[CandidateList], scores: list[np.ndarray], calibration: Calibration,
                        flag_answerable: float = 0.05) -> dict[str, float]:
    """The confidence below which `flag_answerable` of answerable questions fall, and what it catches."""
    def best(c: CandidateList, s: np.ndarray) -> float:
        return float(calibration.probability(confidence_inputs(c.features, s)).max()) if len(s) else 0.0

    pairs = [(c, s) for c, s in zip(lists, scores, strict=True) if c.kind in ("asked", "article", "gold")]
    answerable = [best(c, s) for c, s in pairs if c.answerable]
    unanswerable = [best(c, s) for c, s in pairs if not c.answerable]
    threshold = float(np.quantile(answerable, flag_answerable))
    return {"threshold": round(threshold, 4),
            "unanswerable_caught": round(float(np.mean(np.array(unanswerable) < threshold)), 4)}


def answerable_rows(lists: list[CandidateList], scores: list[np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[CandidateList]]:
    """One row per response, its label (1: an answerable question) and whether it is trained on:
    an answerable question whose answer was not retrieved teaches nothing about whether the
    articles give it, so it is left out of training, but it still counts when the threshold is
    set (search flags it like any other answerable question)."""
    kept = [(c, s) for c, s in zip(lists, scores, strict=True) if len(s)]
    rows = np.vstack([answerable_row(c.features, s, c.constraints[top_checked(s)], c.doc_ids) for c, s in kept])
    labels = np.array([c.answerable for c, _ in kept], dtype=np.int32)
    trained = np.array([not c.answerable or bool(c.labels.any()) for c, _ in kept])
    return rows, labels, trained, [c for c, _ in kept]


def _answerable_booster(rows: np.ndarray, labels: np.ndarray) -> lightgbm.Booster:
    dataset = lightgbm.Dataset(rows, labels, feature_name=list(ANSWERABLE_FEATURES))
    return lightgbm.train(ANSWERABLE_PARAMS, dataset, num_boost_round=ANSWERABLE_ROUNDS)


def fit_answerable(lists: list[CandidateList], scores: list[np.ndarray], flag_answerable: float = 0.05
                   ) -> tuple[lightgbm.Booster, Calibration, dict[str, Any]]:
    """The "no answer" model: P(the response holds an answer), and its out-of-fold threshold
    (the value `flag_answerable` of answerable questions fall below) with what it catches by kind."""
    rows, labels, trained, kept = answerable_rows(lists, scores)
    folds = np.array([_fold(c.article) for c in kept])
    oof = np.zeros(len(rows))
    for fold in range(FOLDS):
        train = trained & (folds != fold)
        booster = _answerable_booster(rows[train], labels[train])
        oof[folds == fold] = booster.predict(rows[folds == fold])
    threshold = float(np.quantile(oof[labels == 1], flag_answerable))
    kinds = np.array([c.kind for c in kept])
    caught = {kind: round(float(np.mean(oof[kinds == kind] < threshold)), 4)
              for kind in sorted(set(kinds)) if kind != "asked"}
    booster = _answerable_booster(rows[trained], labels[trained])
    model = Calibration(forest_of(as_regression(booster), check_rows=rows[:500]))
    return booster, model, {"threshold": round(threshold, 4), "answerable_flagged": flag_answerable,
                            "unanswerable_caught": caught, "responses": {k: int(np.sum(kinds == k))
                                                                         for k in sorted(set(kinds))}}


def importances(booster: lightgbm.Booster) -> dict[str, float]:
    gain = booster.feature_importance("gain")
    total = gain.sum() or 1.0
    return dict(sorted(((n, round(float(g / total), 4)) for n, g in zip(booster.feature_name(), gain, strict=True)),
                       key=lambda pair: -pair[1]))

"""Ranking features: computed the same way for training and search, and pointing the right way."""

from __future__ import annotations

import numpy as np

from index.ingest.chunking import Span
from index.rank.analysis import PassageView, QuestionView
from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES, passage_features, sentence_features
from index.tokenize import ChineseTokenizer

TOKENIZE = ChineseTokenizer()
ANSWERING = "嘉兴经开区党委书记、管委会主任章澜在会上讲话。会议部署了全年工作。"
OTHER = "嘉兴南湖高新区2003年财政总收入8043万元。园区位于城东。"


def _view(text: str, title: str, ordinal: int = 0) -> PassageView:
    return PassageView.of(text, title, Span(0, len(text)), ordinal, TOKENIZE)


def test_the_answering_passage_covers_more_of_the_question():
    question = "嘉兴经开区党委书记是谁"
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 3.0, 1000)
    views = [_view(OTHER, "南湖高新区"), _view(ANSWERING, "嘉兴经开区")]
    rows, best = passage_features(q, views, np.array([0.3, 0.2]), np.array([1.0, 5.0]), np.array([0.8, 0.85]),
                                  [np.array([0.8, 0.7]), np.array([0.9, 0.6])])
    assert rows.shape == (2, len(PASSAGE_FEATURES)) and best == [0, 0]
    column = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
    assert rows[1, column["idf_cover"]] > rows[0, column["idf_cover"]]
    assert rows[1, column["title_bigram_cover"]] > rows[0, column["title_bigram_cover"]]
    assert rows[0, column["idf_missing_max"]] > rows[1, column["idf_missing_max"]]
    assert rows[1, column["type_cue"]] == 1.0  # 主任 … a person is named
    assert rows[1, column["bm25_rel"]] == 1.0 and rows[0, column["bm25_rank"]] == 2
    assert rows[0, column["fused_rank"]] == 1 and rows[1, column["dense_best_sentence"]] == np.float32(0.9)


def test_sentence_features_mark_the_sentence_with_the_asked_number():
    question = "嘉兴南湖高新区2003年财政总收入是多少"
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 3.0, 1000)
    rows = sentence_features(q, _view(OTHER, "南湖高新区"), np.array([0.9, 0.5]))
    column = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    assert rows.shape == (2, len(SENTENCE_FEATURES))
    assert rows[0, column["type_cue"]] == 1.0 and rows[1, column["type_cue"]] == 0.0
    assert rows[0, column["numbers_matched"]] == 1.0 and rows[0, column["dense_rank"]] == 1


def test_a_year_named_before_the_passage_counts_where_the_passage_does_not_repeat_it():
    text = "2024年，嘉兴引进先进制造业项目136个。过去这一年，嘉兴引进11个新能源项目。2023年引进项目90个。"
    question = "嘉兴2024年引进了多少个新能源项目"
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 3.0, 1000)
    start = text.index("过去")
    view = PassageView.of(text, "招商", Span(start, len(text)), 1, TOKENIZE)
    rows, _ = passage_features(q, [view], np.array([0.3]), np.array([1.0]), np.array([0.8]), [np.array([0.8, 0.7])])
    column = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
    assert rows[0, column["years_matched"]] == 0.0 and rows[0, column["years_in_force"]] == 1.0
    sentences = sentence_features(q, view, np.array([0.9, 0.5]))
    in_force = SENTENCE_FEATURES.index("years_in_force")
    assert sentences[:, in_force].tolist() == [1.0, 0.0]  # 过去这一年 is 2024; the next sentence names 2023
    plain = "嘉兴引进了多少个新能源项目"
    unyeared = QuestionView.of(plain, TOKENIZE(plain), lambda t: 3.0, 1000)
    assert sentence_features(unyeared, view, np.array([0.9, 0.5]))[:, in_force].tolist() == [-1.0, -1.0]


def test_ranks_are_a_stable_argsort_of_the_negated_values_with_nan_as_minus_one():
    from index.rank.features import _ranks

    rng = np.random.default_rng(7)
    for _ in range(200):
        values = rng.choice([0.5, 0.25, -1.0, -2.0, np.nan, 0.0, -0.0, 0.75], size=int(rng.integers(1, 12)))
        keys = np.nan_to_num(values, nan=-1.0)
        expected = np.empty(len(values))
        expected[np.argsort(-keys, kind="stable")] = np.arange(1, len(values) + 1)
        assert _ranks(values.tolist()) == expected.tolist()


def test_sentence_features_of_several_passages_are_each_passages_own():
    from index.rank.features import sentence_features_many

    question = "嘉兴南湖高新区2003年财政总收入是多少"
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 3.0, 1000)
    views = [_view(OTHER, "南湖高新区"), _view(ANSWERING, "嘉兴经开区")]
    dense = [np.array([0.9, np.nan], dtype=np.float32), np.array([0.2, 0.6])]
    together = sentence_features_many(q, views, dense)
    alone = np.vstack([sentence_features(q, v, d) for v, d in zip(views, dense, strict=True)])
    assert together.shape == (4, len(SENTENCE_FEATURES)) and together.dtype == np.float32
    np.testing.assert_array_equal(together, alone)
    column = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    assert np.isnan(together[0, column["dense_gap"]]) and together[3, column["dense_rank"]] == 1
    assert sentence_features_many(q, [], []).shape == (0, len(SENTENCE_FEATURES))

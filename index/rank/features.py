"""Features of (question, candidate passage) pairs for the reranker, and of
(question, sentence) pairs for choosing the evidence sentence.

One code path for training (``qa train-ranker``) and for search, so the model always
sees features computed the same way. The names are stored with the trained model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from index.rank.analysis import ANSWER_TYPES, PassageView, QuestionView

PASSAGE_FEATURES = (
    "fused_score", "fused_rank",
    "bm25", "bm25_rel", "bm25_rank",
    "dense", "dense_gap", "dense_rank",
    "idf_cover", "idf_cover_title", "idf_cover_best_sentence", "idf_missing_max",
    "bigram_cover", "bigram_cover_best_sentence", "title_bigram_cover", "title_in_question",
    "numbers_in_question", "numbers_matched", "years_matched", "years_in_force",
    "answer_type", "type_cue", "type_cue_best_sentence",
    "chars", "ordinal", "question_chars",
    "dense_best_sentence", "dense_best_sentence_gap", "best_sentences_agree",
    "idf_cover_beyond_title", "idf_cover_beyond_title_best_sentence", "title_run",
)
SENTENCE_FEATURES = (
    "idf_cover", "bigram_cover", "numbers_matched", "type_cue", "answer_type",
    "position", "is_first", "is_last", "chars", "sentences", "best_lexical",
    "dense", "dense_gap", "dense_rank", "focus_in_sentence", "idf_cover_beyond_title", "years_in_force",
)


@dataclass
class Candidates:
    """The fused candidates of one question: passage numbers, retriever scores and features."""

    passage_ids: list[int]
    fused: np.ndarray  # RRF score
    bm25: np.ndarray  # BM25 score of every candidate (0 when it shares no word with the question)
    dense: np.ndarray  # cosine of every candidate (nan when no query vector was computed)
    features: np.ndarray  # (candidates, len(PASSAGE_FEATURES))
    best_sentence: list[int]  # per candidate, the sentence with the most question words


def _ranks(values: list[float]) -> list[int]:
    """1 for the highest value (nan counts as -1); equal values keep their order of position,
    as a stable argsort of the negated values would."""
    keys = [-1.0 if v != v else v for v in values]
    ranks = [0] * len(keys)
    for rank, i in enumerate(sorted(range(len(keys)), key=keys.__getitem__, reverse=True), start=1):
        ranks[i] = rank
    return ranks


def _maxima(arrays: list[np.ndarray]) -> np.ndarray:
    """The largest value of each array (nan for an empty one), in one numpy call when none is empty."""
    lengths = [len(a) for a in arrays]
    if min(lengths) == 0:
        return np.array([float(a.max()) if len(a) else np.nan for a in arrays])
    return np.maximum.reduceat(np.concatenate(arrays), np.cumsum([0, *lengths[:-1]])).astype(np.float64)


def _covers_and_best(question: QuestionView, passage: PassageView) -> tuple[list[tuple[float, float, float]], int]:
    """Each sentence's QuestionView.sentence_cover, and the best one's position (best_lexical_sentence)."""
    covers = [question.sentence_cover(s) for s in passage.sentences]
    lexical = [score for _, _, score in covers]
    return covers, lexical.index(max(lexical))


def best_lexical_sentence(question: QuestionView, passage: PassageView) -> int:
    """The sentence with the most question words: idf_cover plus half the bigram_cover (the first of equals)."""
    return _covers_and_best(question, passage)[1]


def passage_features(question: QuestionView, views: list[PassageView], fused: np.ndarray,
                     bm25: np.ndarray, dense: np.ndarray,
                     sentence_dense: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """`sentence_dense`: per candidate, the cosine of the question with each of its sentences.
    Rows are built as tuples of Python numbers and made float32 once, at the end."""
    n = len(views)
    if n == 0:
        return np.zeros((0, len(PASSAGE_FEATURES)), dtype=np.float32), []
    kind = question.answer_type
    type_code = ANSWER_TYPES.index(kind)
    bm25_max = float(bm25.max()) or 1.0
    dense_max = float(np.nanmax(dense)) if not np.all(np.isnan(dense)) else np.nan
    bm25_list, dense_list = bm25.tolist(), dense.tolist()
    bm25_rank, dense_rank = _ranks(bm25_list), _ranks(dense_list)
    q_numbers, q_years, q_bigrams, idf_items = question.numbers, question.years, question.bigrams, question.idf_items
    max_idf, question_chars = question.max_idf, len(question.normalized)
    best_sentences = []
    sentence_best = _maxima(sentence_dense)
    sentence_best_max = float(np.nanmax(sentence_best)) if not np.all(np.isnan(sentence_best)) else np.nan
    rows = []
    for i, (view, f, b, d, c, s_best, b_rank, d_rank) in enumerate(zip(
            views, fused.tolist(), bm25_list, dense_list, sentence_dense, sentence_best.tolist(),
            bm25_rank, dense_rank, strict=True)):
        tokens, title_tokens = view.tokens, view.title_tokens
        missing = [w for t, w in idf_items if t not in tokens and t not in title_tokens]
        covers, best = _covers_and_best(question, view)
        best_sentences.append(best)
        sentence = view.sentences[best]
        sentence_idf, sentence_bigrams, _ = covers[best]
        rows.append((
            f, i + 1,
            b, b / bm25_max, b_rank,
            d, dense_max - d, d_rank,
            question.idf_cover(tokens), question.idf_cover(title_tokens),
            sentence_idf, (max(missing) / max_idf) if missing else 0.0,
            question.bigram_cover(view.bigrams), sentence_bigrams,
            question.bigram_cover(view.title_bigrams),
            len(view.title_bigrams & q_bigrams) / (len(view.title_bigrams) or 1),
            len(q_numbers), (len(q_numbers & view.numbers) / len(q_numbers)) if q_numbers else -1.0,
            (len(q_years & view.numbers) / len(q_years)) if q_years else -1.0,
            (len(q_years & view.years_in_force) / len(q_years)) if q_years else -1.0,
            type_code, view.cues.type_cue(kind, q_numbers), sentence.cues.type_cue(kind, q_numbers),
            len(view.normalized), view.ordinal, question_chars,
            s_best, sentence_best_max - s_best,
            float(len(c) > 0 and int(c.argmax()) == best),
            question.beyond_title_cover(title_tokens, tokens),
            question.beyond_title_cover(title_tokens, sentence.tokens),
            question.title_run(view.title),
        ))
    return np.array(rows, dtype=np.float32), best_sentences


def sentence_features(question: QuestionView, view: PassageView, dense: np.ndarray) -> np.ndarray:
    """`dense`: the cosine of the question with each sentence (nan when unknown)."""
    return sentence_features_many(question, [view], [dense])


def sentence_features_many(question: QuestionView, views: list[PassageView], dense: list[np.ndarray]) -> np.ndarray:
    """sentence_features of several passages (the results of a response), one after the other."""
    kind = question.answer_type
    type_code = ANSWER_TYPES.index(kind)
    q_numbers = question.numbers
    focus, q_years = question.focus, question.years
    rows = []
    for view, cosines in zip(views, dense, strict=True):
        n = len(view.sentences)
        covers, best = _covers_and_best(question, view)
        values = cosines.tolist()
        dense_max = math.nan if any(v != v for v in values) else max(values, default=math.nan)
        title_tokens = view.title_tokens
        for i, (sentence, (idf_cover, bigram_cover, _), d, d_rank, years) in enumerate(zip(
                view.sentences, covers, values, _ranks(values), view.sentence_years, strict=True)):
            cues = sentence.cues
            tokens = sentence.tokens
            rows.append((
                idf_cover, bigram_cover,
                (len(q_numbers & cues.numbers) / len(q_numbers)) if q_numbers else -1.0,
                cues.type_cue(kind, q_numbers), type_code,
                i / max(n - 1, 1), i == 0, i == n - 1, len(sentence.normalized), n, i == best,
                d, dense_max - d, d_rank,
                float(focus in sentence.normalized) if focus else -1.0,
                question.beyond_title_cover(title_tokens, tokens),
                (len(q_years & years) / len(q_years)) if q_years else -1.0,
            ))
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))

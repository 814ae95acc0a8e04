"""Features of (question, candidate passage) pairs for the reranker, and of
(question, sentence) pairs for choosing the evidence sentence.

One code path for training (``qa train-ranker``) and for search, so the model always
sees features computed the same way. The names are stored with the trained model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.rank.analysis import ANSWER_TYPES, PassageView, QuestionView, has_type_cue, numbers

PASSAGE_FEATURES = (
    "fused_score", "fused_rank",
    "bm25", "bm25_rel", "bm25_rank",
    "dense", "dense_gap", "dense_rank",
    "idf_cover", "idf_cover_title", "idf_cover_best_sentence", "idf_missing_max",
    "bigram_cover", "bigram_cover_best_sentence", "title_bigram_cover", "title_in_question",
    "numbers_in_question", "numbers_matched", "years_matched",
    "answer_type", "type_cue", "type_cue_best_sentence",
    "chars", "ordinal", "question_chars",
    "dense_best_sentence", "dense_best_sentence_gap", "best_sentences_agree",
)
SENTENCE_FEATURES = (
    "idf_cover", "bigram_cover", "numbers_matched", "type_cue", "answer_type",
    "position", "is_first", "is_last", "chars", "sentences", "best_lexical",
    "dense", "dense_gap", "dense_rank", "focus_in_sentence", "idf_cover_beyond_title",
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


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """1 for the highest score; ties share the better rank's order by position."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def _lexical_sentence_score(question: QuestionView, sentence_tokens, sentence_bigrams) -> float:
    return question.idf_cover(sentence_tokens) + 0.5 * question.bigram_cover(sentence_bigrams)


def best_lexical_sentence(question: QuestionView, passage: PassageView) -> int:
    scores = [_lexical_sentence_score(question, s.tokens, s.bigrams) for s in passage.sentences]
    return int(np.argmax(scores))


def passage_features(question: QuestionView, views: list[PassageView], fused: np.ndarray,
                     bm25: np.ndarray, dense: np.ndarray,
                     sentence_dense: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """`sentence_dense`: per candidate, the cosine of the question with each of its sentences."""
    n = len(views)
    rows = np.zeros((n, len(PASSAGE_FEATURES)), dtype=np.float32)
    if n == 0:
        return rows, []
    type_code = ANSWER_TYPES.index(question.answer_type)
    bm25_max = float(bm25.max()) or 1.0
    dense_max = float(np.nanmax(dense)) if not np.all(np.isnan(dense)) else np.nan
    bm25_rank, dense_rank = _rank_of(bm25), _rank_of(np.nan_to_num(dense, nan=-1.0))
    q_numbers, q_years = question.numbers, question.years
    best_sentences = []
    sentence_best = np.array([float(np.max(c)) if len(c) else np.nan for c in sentence_dense])
    sentence_best_max = float(np.nanmax(sentence_best)) if not np.all(np.isnan(sentence_best)) else np.nan
    for i, view in enumerate(views):
        everything = view.tokens | view.title_tokens
        missing = [w for t, w in question.idf.items() if t not in everything]
        best = best_lexical_sentence(question, view)
        best_sentences.append(best)
        sentence = view.sentences[best]
        rows[i] = (
            fused[i], i + 1,
            bm25[i], bm25[i] / bm25_max, bm25_rank[i],
            dense[i], dense_max - dense[i], dense_rank[i],
            question.idf_cover(view.tokens), question.idf_cover(view.title_tokens),
            question.idf_cover(sentence.tokens), (max(missing) / question.max_idf) if missing else 0.0,
            question.bigram_cover(view.bigrams), question.bigram_cover(sentence.bigrams),
            question.bigram_cover(view.title_bigrams),
            len(view.title_bigrams & question.bigrams) / (len(view.title_bigrams) or 1),
            len(q_numbers), (len(q_numbers & view.numbers) / len(q_numbers)) if q_numbers else -1.0,
            (len(q_years & view.numbers) / len(q_years)) if q_years else -1.0,
            type_code, has_type_cue(question.answer_type, view.normalized, q_numbers),
            has_type_cue(question.answer_type, sentence.normalized, q_numbers),
            len(view.normalized), view.ordinal, len(question.normalized),
            sentence_best[i], sentence_best_max - sentence_best[i],
            float(len(sentence_dense[i]) > 0 and int(np.argmax(sentence_dense[i])) == best),
        )
    return rows, best_sentences


def sentence_features(question: QuestionView, view: PassageView, dense: np.ndarray) -> np.ndarray:
    """`dense`: the cosine of the question with each sentence (nan when unknown)."""
    n = len(view.sentences)
    rows = np.zeros((n, len(SENTENCE_FEATURES)), dtype=np.float32)
    type_code = ANSWER_TYPES.index(question.answer_type)
    q_numbers = question.numbers
    best = best_lexical_sentence(question, view)
    dense_max = float(np.max(dense)) if len(dense) else np.nan
    dense_rank = _rank_of(np.nan_to_num(dense, nan=-1.0))
    focus = question.focus
    # What the question asks beyond what its article is about (the title's words: an entity's
    # name is in its defining sentence, the asked attribute is in the answer's)
    beyond_title = {t: w for t, w in question.idf.items() if t not in view.title_tokens}
    beyond_total = sum(beyond_title.values())
    for i, sentence in enumerate(view.sentences):
        s_numbers = numbers(sentence.normalized)
        rows[i] = (
            question.idf_cover(sentence.tokens), question.bigram_cover(sentence.bigrams),
            (len(q_numbers & s_numbers) / len(q_numbers)) if q_numbers else -1.0,
            has_type_cue(question.answer_type, sentence.normalized, q_numbers), type_code,
            i / max(n - 1, 1), i == 0, i == n - 1, len(sentence.normalized), n, i == best,
            dense[i], dense_max - dense[i], dense_rank[i],
            float(focus in sentence.normalized) if focus else -1.0,
            sum(w for t, w in beyond_title.items() if t in sentence.tokens) / beyond_total if beyond_total else -1.0,
        )
    return rows

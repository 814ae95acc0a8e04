"""Features of a whole response for the "no answer" model: does the best result, and its
article, give what the question asks for?

The per-passage confidence says how likely a passage holds the answer *compared with the
others*; an on-topic question about a year, a zone or a person the articles never mention
still finds a passage that looks right. So this model also checks the question's constraints
against the top results' articles: years and numbers asked and absent, question words (and
nouns in particular) found nowhere in the article, a person named when "who" is asked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.rank.analysis import PERSON, ArticleView, PassageView, QuestionView, Sentence, person_names
from index.rank.features import PASSAGE_FEATURES

FROM_TOP_PASSAGE = (
    "fused_rank", "bm25_rel", "dense", "dense_gap", "dense_best_sentence", "idf_cover", "idf_cover_title",
    "idf_cover_best_sentence", "idf_missing_max", "bigram_cover", "bigram_cover_best_sentence",
    "title_bigram_cover", "numbers_in_question", "numbers_matched", "years_matched", "answer_type",
    "type_cue", "type_cue_best_sentence", "question_chars",
)
CONSTRAINTS = (
    "article_idf_missing", "article_idf_missing_max", "article_words_missing", "article_noun_idf_missing",
    "article_bigram_cover", "years_in_question", "article_years_missing", "article_numbers_missing",
    "person_in_passage", "person_in_best_sentence",
    "focus_in_article", "focus_in_passage", "focus_sentence_typed",
    "typed_window_cover", "typed_window_nouns", "typed_window_years", "typed_window_focus",
    "typed_window_missing_max",
)
ANSWERABLE_FEATURES = (
    "top_score", "score_gap", "second_score", "top3_same_article",
    *FROM_TOP_PASSAGE, *CONSTRAINTS,
    "top3_min_article_idf_missing", "top3_min_article_years_missing",
    "top3_max_typed_window_cover", "top3_max_typed_window_nouns", "top3_min_typed_window_missing_max",
)
_COLUMN = {name: i for i, name in enumerate(PASSAGE_FEATURES)}
_TOP_COLUMNS = [_COLUMN[name] for name in FROM_TOP_PASSAGE]
TOP_CHECKED = 3  # the best candidates whose articles are checked


def _holds_asked_kind(question: QuestionView, sentence: Sentence, known_word: Callable[[str], bool]) -> bool:
    """Whether a sentence holds the kind of thing asked for: a number other than the question's,
    a date, a person's name (or title), a place; anything, when the kind is unknown."""
    kind = question.answer_type
    if kind == "other":
        return True
    if kind == "who":  # a name, or a title the question does not use itself (书记 in 谁是书记 is no answer)
        return bool(person_names(sentence.tokens - frozenset(question.idf), known_word)) or any(
            title not in question.normalized for title in PERSON.findall(sentence.normalized))
    return bool(sentence.cues.type_cue(kind, question.numbers))


def typed_window(question: QuestionView, view: PassageView, known_word: Callable[[str], bool]
                 ) -> tuple[float, float, float, float, float]:
    """Where the passage could state the answer: of its sentences that hold the kind of thing
    asked for, the one covering most of the question's idf. Returns that cover; whether the
    question's specific words, years and asked-about word are in it (-1 when the question has
    none); and the largest idf (scaled to [0, 1]) of a question word it lacks. An on-topic
    question about a fact the articles do not give finds its words, but not in one sentence with
    a value. (A sentence joined with its neighbour was tried: it pairs one sentence's subject
    with the next one's figure.)"""
    best: tuple[float, frozenset[str], str] | None = None
    for sentence in view.sentences:
        if _holds_asked_kind(question, sentence, known_word):
            cover = question.idf_cover(sentence.tokens)
            if best is None or cover > best[0]:
                best = (cover, sentence.tokens, sentence.normalized)
    if best is None:
        return 0.0, (0.0 if question.nouns else -1.0), (0.0 if question.years else -1.0), (
            0.0 if question.focus else -1.0), 1.0
    cover, tokens, text = best
    nouns, years, focus = question.nouns, question.years, question.focus
    return (cover,
            sum(question.idf[t] for t in nouns if t in tokens or t in text) / question.nouns_idf if nouns else -1.0,
            sum(1 for y in years if y in text) / len(years) if years else -1.0,
            float(focus in text) if focus else -1.0,
            max((w for t, w in question.idf.items() if t not in tokens and t not in text),
                default=0.0) / question.max_idf)


def constraint_row(question: QuestionView, view: PassageView, best_sentence: int, article: ArticleView,
                   known_word: Callable[[str], bool]) -> np.ndarray:
    """CONSTRAINTS of one candidate passage (`best_sentence`: its sentence with most question words)."""
    missing = [t for t in question.idf if not article.has(t)]
    idf_missing = sum(question.idf[t] for t in missing) / question.idf_total
    nouns = question.nouns
    noun_missing = sum(question.idf[t] for t in nouns if not article.has(t)) / question.nouns_idf if nouns else -1.0
    years = question.years
    q_numbers = question.numbers
    asked_who = question.answer_type == "who"
    own = frozenset(question.idf)
    focus = question.focus
    typed = [s for s in view.sentences if focus is not None and focus in s.normalized
             and (question.answer_type == "other" or s.cues.type_cue(question.answer_type, q_numbers))]
    return np.array([
        idf_missing,
        max((question.idf[t] for t in missing), default=0.0) / question.max_idf,
        sum(1 for t in missing if len(t) >= 2),
        noun_missing,
        sum(1 for b in question.bigrams if b in article.normalized) / (len(question.bigrams) or 1),
        len(years),
        sum(1 for y in years if y not in article.numbers) if years else -1.0,
        (sum(1 for n in q_numbers if n not in article.numbers) / len(q_numbers)) if q_numbers else -1.0,
        float(bool(person_names(view.tokens - own, known_word))) if asked_who else -1.0,
        float(bool(person_names(view.sentences[best_sentence].tokens - own, known_word))) if asked_who else -1.0,
        float(article.has(focus)) if focus else -1.0,
        float(focus in view.normalized) if focus else -1.0,
        float(bool(typed)) if focus else -1.0,
        *typed_window(question, view, known_word),
    ], dtype=np.float64)


def answerable_row(features: np.ndarray, scores: np.ndarray, constraints: np.ndarray,
                   articles: list[str]) -> np.ndarray:
    """ANSWERABLE_FEATURES of one response. `features`, `scores`, `articles`: of the candidates
    in any order; `constraints`: CONSTRAINTS of the TOP_CHECKED best by score, best first."""
    order = np.argsort(-scores, kind="stable")
    top = order[0]
    second = float(scores[order[1]]) if len(order) > 1 else np.nan
    same = sum(1 for i in order[1:TOP_CHECKED] if articles[i] == articles[top])
    idf_missing, years_missing = CONSTRAINTS.index("article_idf_missing"), CONSTRAINTS.index("article_years_missing")
    window_cover, window_nouns = CONSTRAINTS.index("typed_window_cover"), CONSTRAINTS.index("typed_window_nouns")
    window_missing = CONSTRAINTS.index("typed_window_missing_max")
    return np.concatenate([
        [float(scores[top]), float(scores[top]) - second, second, same],
        features[top, _TOP_COLUMNS],
        constraints[0],
        [float(constraints[:, idf_missing].min()), float(constraints[:, years_missing].min()),
         float(constraints[:, window_cover].max()), float(constraints[:, window_nouns].max()),
         float(constraints[:, window_missing].min())],
    ]).astype(np.float64)


def top_checked(scores: np.ndarray) -> list[int]:
    """The positions (into the candidates) whose constraints answerable_row needs, best first."""
    return [int(i) for i in np.argsort(-scores, kind="stable")[:TOP_CHECKED]]

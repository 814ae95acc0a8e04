"""The reranking stage: rescore the fused candidates, give each a calibrated confidence,
and pick each result's evidence sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from index.ingest.chunking import Span
from index.rank.analysis import ArticleView, PassageView, QuestionView, in_dictionary
from index.rank.answerable import ANSWERABLE_FEATURES, answerable_row, constraint_row, top_checked
from index.rank.features import (
    PASSAGE_FEATURES,
    SENTENCE_FEATURES,
    passage_features,
)
from index.rank.model import RankerModel
from index.store import LoadedIndex


@cache
def _float16_values() -> np.ndarray:
    """The float32 value of each of the 65,536 float16 bit patterns, as astype gives it."""
    return np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)


def as_float32(vectors: np.ndarray) -> np.ndarray:
    """`vectors` (the stored float16 sentence vectors) as float32: the same values as
    ``astype(np.float32)``, looked up in a table, which takes half the time of numpy's
    float16 conversion here (a tenth of a millisecond for one question's candidates)."""
    if vectors.dtype != np.float16:
        return vectors.astype(np.float32)
    return np.take(_float16_values(), vectors.view(np.uint16))


class PassageViews:
    """PassageView of each passage, made on first use and kept (a passage is analysed once),
    and the question's cosine with each of a passage's sentences (vectors stored in the index)."""

    def __init__(self, index: LoadedIndex, tokenize: Callable[[str], list[str]]) -> None:
        self.index, self.tokenize = index, tokenize
        self._views: dict[int, PassageView] = {}
        self._articles: dict[str, ArticleView] = {}

    def article(self, doc_id: str) -> ArticleView:
        view = self._articles.get(doc_id)
        if view is None:
            document = self.index.documents[doc_id]
            view = self._articles[doc_id] = ArticleView.of(document.title, document.text)
        return view

    def constraints(self, question: QuestionView, passage_ids: list[int], best_sentences: list[int],
                    articles: dict[str, ArticleView] | None = None) -> np.ndarray:
        """The answerable model's CONSTRAINTS of these candidates, one row each. `articles`: views
        to use instead of some documents' own (training: an article with its answer taken out)."""
        passages = self.index.passages
        articles = articles or {}
        return np.array([constraint_row(question, self[pid], best,
                                        articles.get(passages[pid].doc_id) or self.article(passages[pid].doc_id),
                                        in_dictionary)
                         for pid, best in zip(passage_ids, best_sentences, strict=True)])

    def sentence_cosines(self, passage_id: int, query_vector: np.ndarray | None) -> np.ndarray:
        vectors = self.index.sentences_of(passage_id)
        if query_vector is None:
            return np.full(len(vectors), np.nan)
        return as_float32(vectors) @ query_vector.astype(np.float32)

    def sentence_cosines_many(self, passage_ids: list[int], query_vector: np.ndarray | None) -> list[np.ndarray]:
        """sentence_cosines of several passages in one product (the candidates of one question)."""
        starts = self.index.sentence_start
        ids = np.asarray(passage_ids, dtype=np.int64)
        first = starts[ids]
        lengths = starts[ids + 1] - first
        ends = np.cumsum(lengths)
        if query_vector is None or not passage_ids:
            return [np.full(n, np.nan) for n in lengths.tolist()]
        # every passage's rows, in order: first[i], first[i] + 1, ... as one vector operation
        rows = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(first - (ends - lengths), lengths)
        cosines = as_float32(self.index.sentence_vectors[rows]) @ query_vector.astype(np.float32)
        bounds = [0, *ends.tolist()]
        return [cosines[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def joined(self, passage_ids: list[int], span: Span, query_vector: np.ndarray | None
               ) -> tuple[PassageView, np.ndarray]:
        """The view of a merged result: neighbouring passages joined into one span, or the part of
        one passage that a better result does not show; and the question's cosine with each of its
        sentences, taken from the passages' stored vectors."""
        if len(passage_ids) == 1 and self[passage_ids[0]].span == span:
            return self[passage_ids[0]], self.sentence_cosines(passage_ids[0], query_vector)
        view = PassageView.join([self[pid] for pid in passage_ids], span)
        known: dict[tuple[int, int], float] = {}
        for pid in passage_ids:
            for sentence, cosine in zip(self[pid].sentences, self.sentence_cosines(pid, query_vector), strict=True):
                known.setdefault((sentence.span.start, sentence.span.end), float(cosine))
        return view, np.array([known.get((s.span.start, s.span.end), np.nan) for s in view.sentences])

    def __getitem__(self, passage_id: int) -> PassageView:
        view = self._views.get(passage_id)
        if view is None:
            passage = self.index.passages[passage_id]
            document = self.index.documents[passage.doc_id]
            view = PassageView.of(document.text, document.title, Span(passage.start, passage.end),
                                  passage.ordinal, self.tokenize)
            self._views[passage_id] = view
        return view


@dataclass
class Ranked:
    """Candidates in their final order, with what each result needs."""

    passage_ids: list[int]
    scores: list[float]  # reranker score when reranked, else the fused score
    confidence: list[float | None]
    answerable: float | None = None  # P(the response holds an answer at all): no_answer when low


def confidence_inputs(features: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The confidence model's inputs: the passage features, then CONFIDENCE_EXTRA_INPUTS."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return np.column_stack([features, scores, scores.max() - scores, ranks]).astype(np.float64)


class Reranker:
    def __init__(self, model: RankerModel | None, views: PassageViews) -> None:
        self.model = model
        self.views = views

    def features(self, question: QuestionView, passage_ids: list[int], fused: np.ndarray,
                 bm25: np.ndarray, dense: np.ndarray, query_vector: np.ndarray | None) -> tuple[np.ndarray, list[int]]:
        views = [self.views[pid] for pid in passage_ids]
        sentence_dense = self.views.sentence_cosines_many(passage_ids, query_vector)
        return passage_features(question, views, fused, bm25, dense, sentence_dense)

    def rank(self, question: QuestionView, passage_ids: list[int], fused: np.ndarray,
             bm25: np.ndarray, dense: np.ndarray, query_vector: np.ndarray | None, reorder: bool) -> Ranked:
        features, best_sentences = self.features(question, passage_ids, fused, bm25, dense, query_vector)
        if self.model is None or not passage_ids:
            return Ranked(list(passage_ids), [float(s) for s in fused], [None] * len(passage_ids))
        scores = self.model.passages.predict(features)
        confidence = self.model.calibration.probability(confidence_inputs(features, scores))
        answerable = self.model.answerable.probability(self.answerable_inputs(
            question, passage_ids, features, best_sentences, scores)[None, :])[0]
        order = np.argsort(-scores, kind="stable") if reorder else np.arange(len(passage_ids))
        shown = scores if reorder else fused
        return Ranked([passage_ids[i] for i in order], [float(shown[i]) for i in order],
                      [float(confidence[i]) for i in order], float(answerable))

    def answerable_inputs(self, question: QuestionView, passage_ids: list[int], features: np.ndarray,
                          best_sentences: list[int], scores: np.ndarray) -> np.ndarray:
        """ANSWERABLE_FEATURES of the response these candidates and scores make."""
        top = top_checked(scores)
        constraints = self.views.constraints(question, [passage_ids[i] for i in top], [best_sentences[i] for i in top])
        articles = [self.views.index.passages[pid].doc_id for pid in passage_ids]
        return answerable_row(features, scores, constraints, articles)


FEATURE_LISTS = (PASSAGE_FEATURES, SENTENCE_FEATURES, ANSWERABLE_FEATURES)

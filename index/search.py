"""Search: the one pipeline behind `qa search`, the HTTP API and the evaluation.

retrieve (BM25, dense) → fuse (RRF) → rerank (learned, hybrid mode) → merge (no repeated
text) → read (the answer span in the first results) → evidence (the answering sentence), with a
calibrated confidence per result and a "no answer" flag per response.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.console import log
from index.encoder.embedder import Embedder, LazyEmbedder, check_index_encoder, load_embedder
from index.evidence import choose_evidence_many
from index.fusion import reciprocal_rank_fusion
from index.ingest.chunking import Span
from index.merge import MergedResult, merge_results
from index.query import parse_min_confidence, validate_request
from index.rank import DEFAULT_MODEL, PassageViews, Ranked, RankerModel, Reranker
from index.rank.analysis import QuestionView
from index.rank.reranker import FEATURE_LISTS
from index.read.decide import ReadingCalibration
from index.read.reader import Answer, Reader, Reading, load_reader
from index.retrieve.backends import open_index, retriever_for
from index.retrieve.filters import DocumentFilter, Selection, parse_filter, select
from index.settings import Settings
from index.store import LoadedIndex, read_manifest
from index.tokenize import ChineseTokenizer


@dataclass
class Evidence:
    start: int
    end: int
    text: str


@dataclass
class SearchResult:
    rank: int
    score: float
    confidence: float | None
    doc_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    evidence: Evidence
    scores: dict[str, float | None]
    answer: Answer | None = None  # the answer span the reader marked (None: not read, or nothing to mark)
    metadata: dict[str, Any] = field(default_factory=dict)  # the document's metadata object


@dataclass
class SearchResponse:
    query: str
    mode: str
    k: int
    reranked: bool
    read: bool  # whether the reader read the first results
    no_answer: bool | None
    took_ms: float
    results: list[SearchResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """What the ranker and the reader said before they were combined."""

    answerable: float | None  # the ranker's P(the response holds an answer)
    first_confidence: float | None  # the ranker's confidence in the first result
    first_margin: float | None  # the reader's best span minus null score on the first result


@dataclass
class Retrieved:
    """What the retrievers and fusion found for one question, before reranking."""

    question: QuestionView
    passage_ids: list[int]  # fused order (or the single retriever's order)
    fused: np.ndarray
    bm25: np.ndarray  # BM25 score of each of passage_ids
    dense: np.ndarray  # cosine of each of passage_ids (nan without a query vector)
    query_vector: np.ndarray | None


def load_ranker_model(settings: Settings, embedder: Embedder) -> RankerModel:
    model = RankerModel.load(settings.ranker_model or DEFAULT_MODEL)
    model.check(*FEATURE_LISTS, embedder.fingerprint)
    return model


class Searcher:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings,
                 ranker_model: RankerModel | None = None, reader: Reader | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = retriever_for(index, settings)  # the backend seam: local files or Milvus
        self.tokenizer = ChineseTokenizer()
        self.reranker = Reranker(ranker_model, PassageViews(index, self.tokenizer))
        self.reader = reader
        self.reading_calibration = ReadingCalibration.load() if reader is not None else None

    @classmethod
    def open(cls, index_dir: Path, settings: Settings, embedder: Embedder | None = None,
             log=log, load_model: bool = True, ranker: bool = True) -> Searcher:
        """Load the model, the index (checked to be built with this model and encoder) and the
        reranking model (checked to be trained with this encoder), and the reader when
        settings.reader is on (a missing or corrupt reader file is an error). With load_model=False
        (BM25-only searches) neither model is loaded: the encoder loads, and is checked against
        the index, only if a dense search comes after all; BM25 results are not reranked."""
        if embedder is None and not load_model:
            built_with = read_manifest(index_dir).get("model", {})
            index = open_index(index_dir, {**built_with, "name": settings.model_name}, settings)
            lazy = LazyEmbedder(lambda: load_embedder(settings, log=log),
                                lambda e: check_index_encoder(index_dir, built_with, e.fingerprint))
            return cls(index, lazy, settings)
        embedder = embedder or load_embedder(settings, log=log)
        model = {"name": settings.model_name, **embedder.fingerprint}
        index = open_index(index_dir, model, settings)
        check_index_encoder(index_dir, index.manifest.get("model", {}), embedder.fingerprint)
        reader = load_reader(settings, embedder.model_dir, log=log, tokenizer=embedder.untruncated_tokenizer()) \
            if ranker and settings.reader else None
        return cls(index, embedder, settings, load_ranker_model(settings, embedder) if ranker else None, reader)

    def question_view(self, question: str) -> QuestionView:
        tokens = self.tokenizer(question)  # once: for BM25, ranking and evidence
        return QuestionView.of(question, tokens, self.retriever.idf, self.retriever.n_passages)

    def retrieve(self, question: str, mode: str = "hybrid", query_vector: np.ndarray | None = None,
                 n: int | None = None, only: Selection | None = None) -> Retrieved:
        """Retrieve and fuse; every candidate gets both retrievers' scores where they can be computed.
        `only` (a filter's selection) restricts both retrievers to its passages."""
        view = self.question_view(question)
        n = n or self.settings.candidates
        lexical = self.retriever.lexical_search(question, view.tokens, n, only) if mode in ("hybrid", "bm25") \
            else None
        if mode in ("hybrid", "dense") and query_vector is None:
            query_vector = self.embedder.embed_query(question)
        lists: dict[str, list[tuple[int, float]]] = {}
        if lexical is not None:
            lists["bm25"] = lexical.hits
        if query_vector is not None:
            lists["dense"] = self.retriever.dense_search(query_vector, n, only)
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(
                {name: [pid for pid, _ in hits] for name, hits in lists.items()},
                {"bm25": self.settings.rrf_weight_bm25, "dense": self.settings.rrf_weight_dense},
                self.settings.rrf_k,
            )
        else:
            ranked = lists[mode]
        ids = [pid for pid, _ in ranked]
        bm25 = lexical.scores(ids) if lexical is not None else np.zeros(len(ids))
        if mode == "dense":  # the retriever's own scores
            dense = np.array([score for _, score in ranked])
        elif query_vector is not None:
            dense = self.retriever.dense_cosines(query_vector, ids)
        else:
            dense = np.full(len(ids), np.nan)
        return Retrieved(view, ids, np.array([s for _, s in ranked]), np.asarray(bm25, dtype=np.float64),
                         np.asarray(dense, dtype=np.float64), query_vector)

    def rank(self, retrieved: Retrieved, rerank: bool) -> Ranked:
        """Rerank the top candidates (hybrid mode); the rest keep their fused order behind them."""
        top = self.settings.rerank_candidates
        head = self.reranker.rank(retrieved.question, retrieved.passage_ids[:top], retrieved.fused[:top],
                                  retrieved.bm25[:top], retrieved.dense[:top], retrieved.query_vector,
                                  reorder=rerank)
        tail = retrieved.passage_ids[top:]
        return Ranked(head.passage_ids + tail, head.scores + [float(s) for s in retrieved.fused[top:]],
                      head.confidence + [None] * len(tail), head.answerable)

    def search(self, question: str, k: int | None = None, mode: str = "hybrid",
               query_vector: np.ndarray | None = None, rerank: bool | None = None,
               read: bool | None = None, filter: Any = None, min_confidence: Any = None) -> SearchResponse:
        """`filter`: which documents may be returned (index.retrieve.filters: a JSON object, its
        text, or a parsed DocumentFilter); FilterError (a QueryError) when it is malformed.
        `min_confidence`: only results whose calibrated confidence is at least this (hybrid mode:
        in the others no result has one, so none is kept)."""
        return self.search_with_signals(question, k, mode, query_vector, rerank, read, filter, min_confidence)[0]

    def search_with_signals(self, question: str, k: int | None = None, mode: str = "hybrid",
                            query_vector: np.ndarray | None = None, rerank: bool | None = None,
                            read: bool | None = None, filter: Any = None,
                            min_confidence: Any = None) -> tuple[SearchResponse, Signals]:
        """The response, and the ranker's and reader's own figures behind its confidence and
        no_answer (for fitting the reading calibration)."""
        started = time.perf_counter()
        question, k, mode = validate_request(
            question, self.settings.default_k if k is None else k, mode, self.settings
        )
        least = parse_min_confidence(min_confidence)
        document_filter = filter if isinstance(filter, DocumentFilter) else parse_filter(filter)
        only = None if document_filter is None else select(self.index, document_filter)
        retrieved = self.retrieve(question, mode, query_vector, max(k, self.settings.candidates), only)
        scored = mode == "hybrid" and self.reranker.model is not None
        rerank = scored and (self.settings.rerank if rerank is None else rerank)
        if scored:
            ranked = self.rank(retrieved, rerank)
        else:
            ranked = Ranked(retrieved.passage_ids, [float(s) for s in retrieved.fused],
                            [None] * len(retrieved.passage_ids))
        position = {pid: i for i, pid in enumerate(ranked.passage_ids)}
        raw = {pid: i for i, pid in enumerate(retrieved.passage_ids)}
        merged = merge_results(ranked.passage_ids, self.index.passages, k, self.settings.merge_max_chars,
                               self.settings.merge_min_rest_chars, lambda doc_id: self.index.documents[doc_id].text)
        views = self.reranker.views
        model = self.reranker.model if scored else None
        evidence_inputs = [views.joined(r.passage_ids, Span(r.start, r.end), retrieved.query_vector) for r in merged]
        evidence = choose_evidence_many(retrieved.question, [view for view, _ in evidence_inputs],
                                        model.sentences if model is not None else None,
                                        [cosines for _, cosines in evidence_inputs],
                                        self.settings.evidence_label_chars)
        read = self.reader is not None and (self.settings.reader if read is None else read)
        readings = self._read(question, merged[: self.settings.reader_results], evidence) if read else []
        no_answer = ((ranked.answerable or 0.0) < self.settings.no_answer_threshold) if scored else None
        first_confidence = ranked.confidence[position[merged[0].passage_ids[0]]] if merged else None
        signals = Signals(ranked.answerable if scored else None, first_confidence,
                          readings[0].margin if readings else None)
        answers = [reading.answer for reading in readings]
        calibration = self.reading_calibration if scored else None
        if readings and calibration is not None:
            # decided by reading: the first result's best span is the answer unless the response
            # is "no answer" (by the ranker's cut or the reader's margin)
            no_answer = calibration.no_answer(ranked.answerable or 0.0, readings[0].margin,
                                              self.settings.no_answer_threshold)
            answers[0] = None if no_answer else readings[0].best
        evidence = [answer_evidence(span, view, answer) for span, (view, _), answer in
                    zip(evidence, evidence_inputs, answers + [None] * (len(merged) - len(answers)), strict=True)]
        results = [self._result(rank, result, ranked, position, retrieved, raw, span)
                   for rank, (result, span) in enumerate(zip(merged, evidence, strict=True), start=1)]
        for result, answer in zip(results, answers, strict=False):
            result.answer = answer
        if readings and calibration is not None and first_confidence is not None:
            results[0].confidence = round(calibration.confidence(first_confidence, readings[0].margin), 4)
        if least is not None:  # ranks stay as they were: a gap shows what was dropped. Without a
            # calibrated confidence (bm25, dense) no result is known to be that likely, so none is kept
            results = [r for r in results if r.confidence is not None and r.confidence >= least]
        took_ms = (time.perf_counter() - started) * 1000
        response = SearchResponse(question, mode, k, rerank, bool(readings), no_answer, round(took_ms, 2), results)
        return response, signals

    def _read(self, question: str, merged: list[MergedResult], evidence: list[Span]) -> list[Reading]:
        documents = self.index.documents
        return [self.reader.read(question, documents[r.doc_id].text, r.start, r.end, (span.start, span.end))
                for r, span in zip(merged, evidence, strict=False)]

    def search_many(self, questions: list[str], k: int | None = None, mode: str = "hybrid",
                    rerank: bool | None = None, read: bool | None = None, filter: Any = None) -> list[SearchResponse]:
        """Batch search: query vectors are computed together, which is faster than one by one."""
        vectors: list[np.ndarray | None] = [None] * len(questions)
        if mode in ("hybrid", "dense") and questions:
            vectors = list(self.embedder.embed_queries(questions))
        return [self.search(q, k, mode, v, rerank, read, filter) for q, v in zip(questions, vectors, strict=True)]

    def _result(self, rank: int, result: MergedResult, ranked: Ranked, position: dict[int, int],
                retrieved: Retrieved, raw: dict[int, int], span: Span) -> SearchResult:
        """A result cites its span (one passage, or neighbours joined) and marks its evidence
        sentence; its score and confidence are its best passage's (the confidence model was
        fitted on single passages, so a joined span gets no credit it was not calibrated for)."""
        first = result.passage_ids[0]
        document = self.index.documents[result.doc_id]
        confidence = ranked.confidence[position[first]]
        bm25, dense = retrieved.bm25[raw[first]], retrieved.dense[raw[first]]
        return SearchResult(
            rank=rank,
            score=round(ranked.scores[position[first]], 6),
            confidence=None if confidence is None else round(confidence, 4),
            doc_id=result.doc_id,
            title=document.title,
            source=document.source,
            start=result.start,
            end=result.end,
            text=document.text[result.start:result.end],
            evidence=Evidence(span.start, span.end, document.text[span.start:span.end]),
            scores={"bm25": round(float(bm25), 6) if bm25 > 0 else None,
                    "dense": None if np.isnan(dense) else round(float(dense), 6)},
            metadata=document.metadata,
        )


def answer_evidence(chosen: Span, view, answer: Answer | None) -> Span:
    """The evidence is the sentence holding the answer when the reader marked one: the chosen
    sentence if it holds it, else the result's sentences the answer touches."""
    if answer is None or (chosen.start <= answer.start and answer.end <= chosen.end):
        return chosen
    touched = [s.span for s in view.sentences if s.span.start < answer.end and answer.start < s.span.end]
    if not touched:
        return chosen
    return Span(min(s.start for s in touched), max(s.end for s in touched))

"""Search: BM25 and dense retrieval, fused, with citations and evidence sentences.

The one code path behind `qa search`, the HTTP API and the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Span
from index.console import log
from index.dense import Hit
from index.embedder import Embedder, LazyEmbedder, check_index_encoder, load_embedder
from index.evidence import best_sentence
from index.fusion import reciprocal_rank_fusion
from index.memo import MemoTokenizer
from index.query import validate_request
from index.settings import Settings
from index.store import LoadedIndex, load_index, read_manifest
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
    doc_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    evidence: Evidence
    scores: dict[str, float | None]


@dataclass
class SearchResponse:
    query: str
    mode: str
    k: int
    took_ms: float
    results: list[SearchResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Searcher:
    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.tokenizer = ChineseTokenizer()

    @classmethod
    def open(cls, index_dir: Path, settings: Settings, embedder: Embedder | None = None,
             log=log, load_model: bool = True) -> Searcher:
        """Load the model and the index, checking that the index was built with this model and
        encoder. With load_model=False (BM25-only searches) the model is not loaded: it loads,
        and is checked against the index, only if a dense or hybrid search comes after all."""
        if embedder is None and not load_model:
            built_with = read_manifest(index_dir).get("model", {})
            index = load_index(index_dir, {**built_with, "name": settings.model_name}, settings.hnsw_ef_search)
            embedder = LazyEmbedder(lambda: load_embedder(settings, log=log),
                                    lambda e: check_index_encoder(index_dir, built_with, e.fingerprint))
        else:
            embedder = embedder or load_embedder(settings, log=log)
            model = {"name": settings.model_name, **embedder.fingerprint}
            index = load_index(index_dir, model, settings.hnsw_ef_search)
            check_index_encoder(index_dir, index.manifest.get("model", {}), embedder.fingerprint)
        searcher = cls(index, embedder, settings)
        searcher.tokenizer = MemoTokenizer(searcher.tokenizer)  # evidence sentences recur across requests
        return searcher

    def _retrieve(self, question: str, query_tokens: list[str], mode: str, n: int,
                  query_vector: np.ndarray | None) -> tuple[list[Hit], dict[int, dict[str, float]]]:
        per_retriever: dict[str, list[Hit]] = {}
        if mode in ("hybrid", "bm25"):
            per_retriever["bm25"] = self.index.lexical.search(query_tokens, n)
        if mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self.embedder.embed_query(question)
            per_retriever["dense"] = self.index.dense.search(vector, n)
        raw_scores: dict[int, dict[str, float]] = {}
        for name, hits in per_retriever.items():
            for passage_id, score in hits:
                raw_scores.setdefault(passage_id, {})[name] = score
        if mode != "hybrid":
            return per_retriever[mode], raw_scores
        fused = reciprocal_rank_fusion(
            {name: [pid for pid, _ in hits] for name, hits in per_retriever.items()},
            {"bm25": self.settings.rrf_weight_bm25, "dense": self.settings.rrf_weight_dense},
            self.settings.rrf_k,
        )
        return fused, raw_scores

    def search(self, question: str, k: int | None = None, mode: str = "hybrid",
               query_vector: np.ndarray | None = None) -> SearchResponse:
        started = time.perf_counter()
        question, k, mode = validate_request(
            question, self.settings.default_k if k is None else k, mode, self.settings
        )
        query_tokens = self.tokenizer(question)  # once: for BM25 and for the evidence sentences
        ranked, raw_scores = self._retrieve(question, query_tokens, mode, max(k, self.settings.candidates),
                                            query_vector)
        results = [
            self._result(rank, passage_id, score, raw_scores.get(passage_id, {}), question, query_tokens)
            for rank, (passage_id, score) in enumerate(ranked[:k], start=1)
        ]
        took_ms = (time.perf_counter() - started) * 1000
        return SearchResponse(question, mode, k, round(took_ms, 2), results)

    def search_many(self, questions: list[str], k: int | None = None,
                    mode: str = "hybrid") -> list[SearchResponse]:
        """Batch search: query vectors are computed together, which is faster than one by one."""
        vectors: list[np.ndarray | None] = [None] * len(questions)
        if mode in ("hybrid", "dense") and questions:
            vectors = list(self.embedder.embed_queries(questions))
        return [self.search(q, k, mode, v) for q, v in zip(questions, vectors, strict=True)]

    def _result(self, rank: int, passage_id: int, score: float, raw: dict[str, float],
                question: str, query_tokens: list[str]) -> SearchResult:
        passage = self.index.passages[passage_id]
        document = self.index.documents[passage.doc_id]
        span = best_sentence(
            document.text, Span(passage.start, passage.end), question, query_tokens,
            self.tokenizer, self.index.lexical.idf,
        )
        return SearchResult(
            rank=rank,
            score=round(score, 6),
            doc_id=passage.doc_id,
            title=document.title,
            source=document.source,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            evidence=Evidence(span.start, span.end, document.text[span.start:span.end]),
            scores={"bm25": _rounded(raw.get("bm25")), "dense": _rounded(raw.get("dense"))},
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)

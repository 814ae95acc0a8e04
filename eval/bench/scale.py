"""How FAISS (exact vs the large-size index: HNSW over float16 vectors) and BM25 costs grow with
corpus size, on a synthetic corpus, and how much the approximate index loses against exact search
(recall@10, unfiltered and inside a filter keeping 1% of the passages).

Passages recombine real sentences of the seed and CMRC corpora (their jieba
tokens are computed once per sentence, so a million passages cost no jieba
time). Their vectors are derived from real passage embeddings: each synthetic
vector mixes two real ones plus a little noise, then is normalized. Embedding a
million passages for real would take hours on this machine. Queries are real
question embeddings and tokens.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import faiss
import numpy as np

from eval.bench.stats import percentiles
from index.fusion import reciprocal_rank_fusion
from index.ingest.chunking import split_sentences
from index.ingest.documents import Document
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.settings import Settings
from index.tokenize import ChineseTokenizer

SENTENCES_PER_PASSAGE = (2, 5)
NOISE = 0.05
CANDIDATES = 50


def rss_mb() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sentence_tokens(documents: list[Document], tokenizer: ChineseTokenizer) -> list[list[str]]:
    texts = {doc.text[s.start:s.end] for doc in documents for s in split_sentences(doc.text)}
    return [tokens for text in sorted(texts) if (tokens := tokenizer(text))]


def synthetic_tokens(sentences: list[list[str]], n: int, rng: np.random.Generator) -> list[list[str]]:
    low, high = SENTENCES_PER_PASSAGE
    counts = rng.integers(low, high + 1, size=n)
    picks = rng.integers(0, len(sentences), size=int(counts.sum()))
    passages, at = [], 0
    for count in counts:
        passages.append([token for i in picks[at:at + count] for token in sentences[i]])
        at += count
    return passages


def synthetic_vectors(real: np.ndarray, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        a = real[rng.integers(0, len(real), size)]
        b = real[rng.integers(0, len(real), size)]
        mixed = a + 0.5 * b + NOISE * rng.standard_normal(a.shape, dtype=np.float32)
        out[start:start + size] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def _timed(build, *args):
    before = rss_mb()
    started = time.perf_counter()
    built = build(*args)
    return built, round(time.perf_counter() - started, 2), round(rss_mb() - before, 1)


def _latencies(search, queries) -> dict:
    samples = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def index_mb(dense: DenseIndex) -> float:
    """The dense index's own size: its serialized bytes (the vectors, and for HNSW the graph)."""
    return round(len(faiss.serialize_index(dense.index)) / 2**20, 1)


def _recall(found: list[list[int]], exact: list[list[int]], k: int = 10) -> float:
    return round(float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact, strict=True)])), 4)


def _ids(hits: list[tuple[int, float]]) -> list[int]:
    return [i for i, _ in hits]


def filtered_recall(dense: DenseIndex, flat: DenseIndex, query_vectors: np.ndarray, settings: Settings,
                    share: float, rng: np.random.Generator) -> dict:
    """Search inside a filter keeping `share` of the passages (whole documents, as eval/bench/filters.py
    picks them) the way a search does (exact scan or IDSelector, by settings), against the exact top 10
    of the selection; and through the IDSelector alone, to show what the exact scan saves."""
    from eval.bench.filters import selection  # that module imports this one

    only = selection(len(dense), share, rng)
    ids, bitmap, below = only.passage_ids, only.bitmap, settings.filter_exact_passages
    exact = [_ids(flat.search(q, 10, ids, len(ids))) for q in query_vectors]
    found = [_ids(dense.search(q, 10, ids, below, bitmap)) for q in query_vectors]
    walker = DenseIndex(dense.index, dense.ef_search, exact_share=0.0)
    walked = [_ids(walker.search(q, 10, ids, 0, bitmap)) for q in query_vectors]
    cut = max(below, dense.exact_share * len(dense))
    return {"share": share, "passages": len(ids), "path": "exact scan" if len(ids) <= cut else "IDSelector",
            "recall_at_10": _recall(found, exact), "selector_recall_at_10": _recall(walked, exact),
            "query": _latencies(lambda q: dense.search(q, CANDIDATES, ids, below, bitmap), query_vectors),
            "selector_query": _latencies(lambda q: walker.search(q, CANDIDATES, ids, 0, bitmap), query_vectors)}


def bench_size(n: int, real_vectors: np.ndarray, sentences: list[list[str]], query_vectors: np.ndarray,
               query_tokens: list[list[str]], settings: Settings, seed: int = 7) -> dict:
    """Exact (flat) and the large-size index (HNSW as settings build it, whatever n is) on n synthetic
    passages: build time, memory, recall@10 against exact, unfiltered and inside a 1% filter, query
    latencies, and BM25 + dense + fusion (without the question's embedding) on the index n would use.
    "memory_mb" is the process's growth during the build; "index_mb" the index's own bytes."""
    rng = np.random.default_rng(seed)
    vectors = synthetic_vectors(real_vectors, n, rng)
    result: dict = {"passages": n}

    # DenseIndex.build chooses the type by threshold: force each kind in turn.
    flat, flat_s, flat_mb = _timed(DenseIndex.build, vectors, n + 1, settings.hnsw_m)
    hnsw, hnsw_s, hnsw_mb = _timed(DenseIndex.build, vectors, 0, settings.hnsw_m, settings.hnsw_ef_search,
                                   settings.hnsw_ef_construction, settings.hnsw_storage)
    hnsw.release_build_vectors()
    del vectors
    gc.collect()
    exact = [_ids(flat.search(q, 10)) for q in query_vectors]
    approx = [_ids(hnsw.search(q, 10)) for q in query_vectors]
    shortlist = [_ids(hnsw.search(q, CANDIDATES)) for q in query_vectors]  # what a hybrid search asks for
    result["flat"] = {"build_s": flat_s, "memory_mb": flat_mb, "index_mb": index_mb(flat),
                      "query": _latencies(lambda q: flat.search(q, CANDIDATES), query_vectors)}
    result["hnsw"] = {"index": hnsw.describe(), "build_s": hnsw_s, "memory_mb": hnsw_mb, "index_mb": index_mb(hnsw),
                      "recall_at_10": _recall(approx, exact), "recall_at_10_of_50": _recall(shortlist, exact),
                      "filtered_1pct": filtered_recall(hnsw, flat, query_vectors, settings, 0.01,
                                                       np.random.default_rng(seed + 1)),
                      "query": _latencies(lambda q: hnsw.search(q, CANDIDATES), query_vectors)}

    tokens = synthetic_tokens(sentences, n, rng)
    lexical, bm25_s, bm25_mb = _timed(LexicalIndex.build, tokens)
    del tokens
    gc.collect()
    result["bm25"] = {"build_s": bm25_s, "memory_mb": bm25_mb,
                      "query": _latencies(lambda t: lexical.search(t, CANDIDATES), query_tokens)}

    dense = hnsw if n >= settings.hnsw_threshold else flat  # what an index of this size would use
    weights = {"bm25": settings.rrf_weight_bm25, "dense": settings.rrf_weight_dense}

    def hybrid(i: int) -> None:
        rankings = {"bm25": [p for p, _ in lexical.search(query_tokens[i], CANDIDATES)],
                    "dense": [p for p, _ in dense.search(query_vectors[i], CANDIDATES)]}
        reciprocal_rank_fusion(rankings, weights, settings.rrf_k)

    result["hybrid_without_embedding"] = {"dense_index": dense.kind,
                                          "query": _latencies(hybrid, range(len(query_vectors)))}
    return result

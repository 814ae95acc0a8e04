"""How FAISS (exact vs HNSW) and BM25 costs grow with corpus size, on a synthetic corpus.

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


def bench_size(n: int, real_vectors: np.ndarray, sentences: list[list[str]], query_vectors: np.ndarray,
               query_tokens: list[list[str]], settings: Settings, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    vectors = synthetic_vectors(real_vectors, n, rng)
    result: dict = {"passages": n}

    # DenseIndex.build chooses the type by threshold: force each kind in turn.
    flat, flat_s, flat_mb = _timed(DenseIndex.build, vectors, n + 1, settings.hnsw_m)
    hnsw, hnsw_s, hnsw_mb = _timed(DenseIndex.build, vectors, 0, settings.hnsw_m, settings.hnsw_ef_search)
    del vectors
    gc.collect()
    exact = [set(i for i, _ in flat.search(q, 10)) for q in query_vectors]
    approx = [set(i for i, _ in hnsw.search(q, 10)) for q in query_vectors]
    recall = float(np.mean([len(e & a) / 10 for e, a in zip(exact, approx, strict=True)]))
    result["flat"] = {"build_s": flat_s, "memory_mb": flat_mb,
                      "query": _latencies(lambda q: flat.search(q, CANDIDATES), query_vectors)}
    result["hnsw"] = {"build_s": hnsw_s, "memory_mb": hnsw_mb, "recall_at_10": round(recall, 4),
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

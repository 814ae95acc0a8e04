"""Filtered retrieval against unfiltered, on the synthetic corpora of eval/bench/scale.py.

The retrieval stage a search runs (BM25 and dense, through the local backend's LocalRetriever,
then fusion) with no filter and with filters keeping 1%, 10% and 50% of the passages (whole
documents of a few passages each, picked at random), on the dense index the size would use and
on HNSW. The selection a filter makes is built once and cached per index state in a server, so
it is timed apart (first use), not in every query. Also counts results outside the filter.
"""

from __future__ import annotations

import gc
import time
from types import SimpleNamespace

import numpy as np

from eval.bench.scale import CANDIDATES, synthetic_tokens, synthetic_vectors
from eval.bench.stats import percentiles
from index.fusion import reciprocal_rank_fusion
from index.retrieve.backends.local import LocalRetriever
from index.retrieve.dense import DenseIndex
from index.retrieve.filters import Selection
from index.retrieve.lexical import LexicalIndex
from index.settings import Settings

SHARES = (0.01, 0.10, 0.50)
PASSAGES_PER_DOCUMENT = 5


def selection(n: int, share: float, rng: np.random.Generator) -> Selection:
    """A filter keeping about `share` of n passages: whole documents of PASSAGES_PER_DOCUMENT."""
    documents = np.arange(0, n, PASSAGES_PER_DOCUMENT)
    kept = np.sort(rng.choice(len(documents), size=max(1, round(len(documents) * share)), replace=False))
    ids = np.concatenate([np.arange(d * PASSAGES_PER_DOCUMENT, min(n, (d + 1) * PASSAGES_PER_DOCUMENT))
                          for d in kept]).astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    mask[ids] = True
    return Selection(tuple(f"d{d}" for d in kept), ids, mask)


def _retrieval(retriever: LocalRetriever, settings: Settings, tokens: list[list[str]], vectors: np.ndarray,
               only: Selection | None) -> tuple[dict, int]:
    weights = {"bm25": settings.rrf_weight_bm25, "dense": settings.rrf_weight_dense}
    samples, outside = [], 0
    for question_tokens, vector in zip(tokens, vectors, strict=True):
        started = time.perf_counter()
        lexical = retriever.lexical_search("", question_tokens, CANDIDATES, only)
        dense = retriever.dense_search(vector, CANDIDATES, only)
        fused = reciprocal_rank_fusion({"bm25": [p for p, _ in lexical.hits], "dense": [p for p, _ in dense]},
                                       weights, settings.rrf_k)
        samples.append((time.perf_counter() - started) * 1000)
        if only is not None:
            outside += sum(not only.mask[p] for p, _ in fused)
    return percentiles(samples), outside


def bench_filters(n: int, real_vectors: np.ndarray, sentences: list[list[str]], query_vectors: np.ndarray,
                  query_tokens: list[list[str]], settings: Settings, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    vectors = synthetic_vectors(real_vectors, n, rng)
    kinds = {"flat": DenseIndex.build(vectors, n + 1, settings.hnsw_m),
             "hnsw": DenseIndex.build(vectors, 0, settings.hnsw_m, settings.hnsw_ef_search,
                                      settings.hnsw_ef_construction, settings.hnsw_storage)}
    kinds["hnsw"].release_build_vectors()
    del vectors
    lexical = LexicalIndex.build(synthetic_tokens(sentences, n, rng))
    gc.collect()
    result: dict = {"passages": n, "dense_index": "hnsw" if n >= settings.hnsw_threshold else "flat", "kinds": {}}
    for kind, dense in kinds.items():
        retriever = LocalRetriever(SimpleNamespace(lexical=lexical, dense=dense), settings.filter_exact_passages)
        retriever.lexical_search("", query_tokens[0], CANDIDATES)  # warm up
        unfiltered, _ = _retrieval(retriever, settings, query_tokens, query_vectors, None)
        rows = {"unfiltered": unfiltered}
        for share in SHARES:
            only = selection(n, share, rng)
            latency, outside = _retrieval(retriever, settings, query_tokens, query_vectors, only)
            rows[f"{share:.0%}"] = {**latency, "passages": len(only), "outside": int(outside),
                                    "p50_ratio": round(latency["p50"] / max(unfiltered["p50"], 1e-9), 2)}
        result["kinds"][kind] = rows
    return result


def markdown_section(filters: dict) -> list[str]:
    """The filtered-retrieval table of `qa bench` (and `--only filters`)."""
    lines = ["## Filtered retrieval (BM25 + dense + fusion, local backend)", ""]
    for size in filters["sizes"].values():
        for kind, rows in size["kinds"].items():
            used = " (what an index of this size uses)" if kind == size["dense_index"] else ""
            lines += [f"{size['passages']:,} passages, {kind}{used}:", "",
                      "| filter keeps | passages | p50 ms | p95 ms | p50 / unfiltered | results outside |",
                      "|---|---|---|---|---|---|"]
            for label, row in rows.items():
                lines.append(f"| {label} | {row.get('passages', size['passages']):,} | {row['p50']} | {row['p95']} | "
                             f"{row.get('p50_ratio', 1.0)} | {row.get('outside', '-')} |")
            lines.append("")
    lines.append("Target (issue 27): filtered p50 <= 1.2x unfiltered at 1% and 10%, at 100k passages; 0 outside.")
    return lines

"""The Milvus backend (Milvus Lite here) beside the local one, in one run: index build time and
search latency at the seed size, and at synthetic sizes (as eval/bench/scale.py builds them:
passages of real sentences' tokens, vectors mixed from real ones).

Seed: both backends build the bundled corpus from scratch (the same embedding), then answer the
same questions, interleaved, per mode. Scale: the same synthetic passages go into bm25s + FAISS
and into Milvus Lite (its text is the tokens joined by spaces, which its analyzer drops), and the
same questions (text for Milvus, tokens for bm25s, real query vectors) are timed on each.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.bench.scale import CANDIDATES, _latencies, synthetic_tokens, synthetic_vectors
from eval.bench.stats import percentiles
from index.build import build_index
from index.encoder.embedder import Embedder
from index.fusion import reciprocal_rank_fusion
from index.ingest.chunking import Passage
from index.retrieve.backends.milvus import MilvusRetriever, MilvusStore, collection_names, connect, disconnect
from index.retrieve.backends.milvus_write import build_milvus_index
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.search import Searcher
from index.settings import MODES, Settings
from index.tokenize import ChineseTokenizer


def _seed(settings: Settings, embedder: Embedder, questions: list[str], rounds: int, root: Path) -> dict:
    result: dict = {"build_s": {}, "search_p50_ms": {}}
    searchers = {}
    for name, build in (("local", build_index), ("milvus_lite", build_milvus_index)):
        report = build(settings.corpus_path, root / name, settings, embedder, progress=False)
        result["build_s"][name] = round(report.seconds["total"], 2)
        result["build_s"][f"{name}_without_embedding"] = round(report.seconds["total"] - report.seconds["embed"], 2)
        searchers[name] = Searcher.open(root / name, settings, embedder)
    vectors = embedder.embed_queries(questions)  # the model call is the same for both: time the rest
    samples: dict[str, list[float]] = {f"{b}/{m}": [] for b in searchers for m in MODES}
    for question, vector in zip(questions[:3], vectors[:3], strict=False):  # warm-up
        for searcher in searchers.values():
            searcher.search(question, 5, "hybrid", vector)
    for _ in range(rounds):
        for question, vector in zip(questions, vectors, strict=True):
            for backend, searcher in searchers.items():
                for mode in MODES:
                    started = time.perf_counter()
                    searcher.search(question, 5, mode, None if mode == "bm25" else vector)
                    samples[f"{backend}/{mode}"].append((time.perf_counter() - started) * 1000)
    for key, values in samples.items():
        backend, mode = key.split("/")
        result["search_p50_ms"].setdefault(backend, {})[mode] = percentiles(values)["p50"]
    result["note"] = "search without the query's model call (the same vector is given to both backends)"
    return result


def _milvus_synthetic(n: int, tokens: list[list[str]], vectors: np.ndarray, settings: Settings,
                      root: Path) -> tuple[MilvusRetriever, float]:
    uri = str(root / f"scale-{n}.db")
    store = MilvusStore(connect(uri, settings), uri, collection_names("bench", str(n)))
    kind = "hnsw" if n >= settings.hnsw_threshold else "flat"
    started = time.perf_counter()
    store.create(vectors.shape[1], kind, settings)
    passages = [Passage(f"d{i // 20}", i % 20, 0, 0, "") for i in range(n)]
    store.insert_passages(0, passages, [" ".join(t) for t in tokens], tokens, vectors,
                          [np.zeros((0, vectors.shape[1]), dtype=np.float16)] * n, settings.milvus_insert_batch)
    store.set_meta({"generation": 1, "next_id": n, "next_position": 0})
    store.flush()
    built = time.perf_counter() - started
    return MilvusRetriever(store, list(range(n)), {}, kind, settings.hnsw_ef_search), built


def _scale(n: int, real_vectors: np.ndarray, sentences: list[list[str]], questions: list[str],
           query_vectors: np.ndarray, query_tokens: list[list[str]], settings: Settings, root: Path) -> dict:
    rng = np.random.default_rng(11)
    vectors = synthetic_vectors(real_vectors, n, rng)
    tokens = synthetic_tokens(sentences, n, rng)
    started = time.perf_counter()
    lexical = LexicalIndex.build(tokens)
    dense = DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search)
    local_build = time.perf_counter() - started
    milvus, milvus_build = _milvus_synthetic(n, tokens, vectors, settings, root)
    del tokens
    weights = {"bm25": settings.rrf_weight_bm25, "dense": settings.rrf_weight_dense}

    def hybrid(search_bm25, search_dense):
        def run(i: int) -> None:
            reciprocal_rank_fusion({"bm25": [p for p, _ in search_bm25(i)], "dense": [p for p, _ in search_dense(i)]},
                                   weights, settings.rrf_k)
        return run

    local_bm25 = lambda i: lexical.search(query_tokens[i], CANDIDATES)  # noqa: E731
    local_dense = lambda i: dense.search(query_vectors[i], CANDIDATES)  # noqa: E731
    milvus_bm25 = lambda i: milvus.lexical_search(questions[i], query_tokens[i], CANDIDATES).hits  # noqa: E731
    milvus_dense = lambda i: milvus.dense_search(query_vectors[i], CANDIDATES)  # noqa: E731
    indices = range(len(questions))
    result = {
        "passages": n, "dense_index": dense.kind,
        "build_s": {"local": round(local_build, 2), "milvus_lite": round(milvus_build, 2)},
        "p50_ms": {
            "local": {"bm25": _latencies(local_bm25, indices)["p50"], "dense": _latencies(local_dense, indices)["p50"],
                      "hybrid_without_embedding": _latencies(hybrid(local_bm25, local_dense), indices)["p50"]},
            "milvus_lite": {"bm25": _latencies(milvus_bm25, indices)["p50"],
                            "dense": _latencies(milvus_dense, indices)["p50"],
                            "hybrid_without_embedding": _latencies(hybrid(milvus_bm25, milvus_dense), indices)["p50"]},
        },
    }
    disconnect(milvus.store.uri)
    return result


def bench_milvus(settings: Settings, embedder: Embedder, questions: list[str], rounds: int, sizes: tuple[int, ...],
                 real_vectors: np.ndarray, sentences: list[list[str]], scale_questions: int) -> dict:
    """`questions` at the seed size, the first `scale_questions` of them at each synthetic size."""
    root = Path(tempfile.mkdtemp(prefix="zhqa-bench-milvus-"))
    try:
        result = {"seed": _seed(settings, embedder, questions, rounds, root / "seed"), "sizes": {},
                  "questions": {"seed": len(questions), "scale": min(scale_questions, len(questions))}}
        few = questions[:scale_questions]
        tokenizer = ChineseTokenizer()
        query_vectors, query_tokens = embedder.embed_queries(few), [tokenizer(q) for q in few]
        for n in sizes:
            result["sizes"][str(n)] = _scale(n, real_vectors, sentences, few, query_vectors, query_tokens,
                                             settings, root)
        return result
    finally:
        disconnect(str(root / "seed" / "milvus_lite" / "milvus.db"))
        shutil.rmtree(root, ignore_errors=True)


def markdown_section(milvus: dict | None) -> list[str]:
    if not milvus:
        return []
    seed = milvus["seed"]
    rows = [["seed: build s (with embedding)", seed["build_s"]["local"], seed["build_s"]["milvus_lite"]],
            ["seed: build s without embedding", seed["build_s"]["local_without_embedding"],
             seed["build_s"]["milvus_lite_without_embedding"]]]
    rows += [[f"seed: {mode} search p50 ms (no model call)", seed["search_p50_ms"]["local"][mode],
              seed["search_p50_ms"]["milvus_lite"][mode]] for mode in MODES]
    for n, size in milvus["sizes"].items():
        rows.append([f"{int(n):,} passages: build s", size["build_s"]["local"], size["build_s"]["milvus_lite"]])
        p50 = size["p50_ms"]
        rows += [[f"{int(n):,} passages: {kind} p50 ms", p50["local"][kind], p50["milvus_lite"][kind]]
                 for kind in ("bm25", "dense", "hybrid_without_embedding")]
    lines = ["| | local (bm25s + FAISS) | Milvus Lite |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return ["", "## Milvus backend (Milvus Lite) beside the local one", "", *lines]

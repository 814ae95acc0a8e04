"""Run every section of the benchmark and write eval/report/bench.json, bench.md and charts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.bench.build import bench_build
from eval.bench.cold import bench_cold
from eval.bench.http import bench_http
from eval.bench.layouts import bench_layouts
from eval.bench.memory import index_memory, process_memory
from eval.bench.scale import bench_size, sentence_tokens
from eval.bench.search import bench_search, reference_encoders
from eval.bench.server import running_server
from eval.benchmarks import benchmarks, open_or_build
from eval.questions import load_seed_questions
from index.console import log
from index.encoder.embedder import load_embedder
from index.ingest.documents import load_corpus
from index.search import Searcher
from index.settings import REPO_ROOT, Settings
from index.store import IndexLoadError
from index.tokenize import ChineseTokenizer


@dataclass(frozen=True)
class BenchPlan:
    questions: int
    rounds: int
    http_requests: int
    concurrencies: tuple[int, ...]
    build_rounds: int
    cmrc_build: bool
    scale_sizes: tuple[int, ...]
    cold_rounds: int
    layout_questions: int
    update_sizes: tuple[int, ...] = ()  # synthetic index sizes for the add/remove timings (and the seed)
    milvus_sizes: tuple[int, ...] = ()  # synthetic sizes for the Milvus Lite backend beside the local one
    milvus_questions: int = 40  # at the synthetic sizes (Milvus Lite answers in tens of ms to seconds there)
    filter_sizes: tuple[int, ...] = ()  # synthetic sizes for filtered against unfiltered retrieval
    collection_counts: tuple[int, ...] = (1, 20)  # copies of the seed index one server holds (--only collections)
    distractor_sizes: tuple[int, ...] = ()  # distractors the CMRC held-out passages are planted among
    distractor_questions: int = 0  # held-out CMRC questions searched there (0: all of them)


FULL = BenchPlan(questions=226, rounds=3, http_requests=200, concurrencies=(1, 4, 8, 16), build_rounds=3,
                 cmrc_build=True, scale_sizes=(100_000, 1_000_000), cold_rounds=5, layout_questions=60,
                 update_sizes=(100_000,), milvus_sizes=(100_000,), filter_sizes=(100_000,),
                 distractor_sizes=(500_000,))
QUICK = BenchPlan(questions=12, rounds=1, http_requests=16, concurrencies=(1, 8), build_rounds=1,
                  cmrc_build=False, scale_sizes=(3_000,), cold_rounds=1, layout_questions=8, update_sizes=(2_000,),
                  milvus_sizes=(3_000,), milvus_questions=8, filter_sizes=(3_000,), collection_counts=(1, 2),
                  distractor_sizes=(3_000,), distractor_questions=40)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    import onnxruntime
    import torch
    flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("flags")), [])
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 2**20, 1),
            "simd": [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags],
            "load_average_at_start": os.getloadavg()[0],
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "onnxruntime": onnxruntime.__version__}


def commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    return proc.stdout.strip() + ("+uncommitted" if dirty.strip() else "") if proc.returncode == 0 else "unknown"


def _real_vectors(searchers: list[Searcher]) -> np.ndarray:
    return np.concatenate([s.index.dense.index.reconstruct_n(0, len(s.index.dense)) for s in searchers])


def run_bench(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    started = time.perf_counter()
    embedder = load_embedder(settings, log=log)
    known = benchmarks(settings)
    seed = open_or_build(known["seed"], index_dir, settings, embedder, log=log)
    questions = [q.question for q in load_seed_questions()][: plan.questions]
    results: dict = {"machine": machine(), "commit": commit(), "plan": plan.__dict__}

    results["encoder"] = {"precision": settings.encoder_precision, "threads_per_call": settings.encoder_threads,
                          "calls_at_once": settings.encoder_parallel_calls, **embedder.fingerprint}

    log("search: in process, per mode, against the model call and the torch reference ...")
    results["search"] = bench_search(seed, questions, plan.rounds, reference_encoders(embedder.model_dir))

    log("layouts: encoder threads per call x calls at once ...")
    results["layouts"] = bench_layouts(seed, questions, plan.layout_questions)

    log("http: qa serve on loopback ...")
    with running_server(index_dir, out_dir / "bench-serve.log") as server:
        results["http"] = bench_http(server.url, questions, plan.http_requests, plan.concurrencies, plan.rounds)
        results["memory"] = {"serve": process_memory(server.pid)}
    log("http: qa serve with the reader off (QA_READER=0), concurrency 1 ...")
    with running_server(index_dir, out_dir / "bench-serve-noread.log", env={"QA_READER": "0"}) as server:
        results["http_noread"] = bench_http(server.url, questions, plan.http_requests, (1,), plan.rounds)
        results["memory"]["serve_noread"] = process_memory(server.pid)
    log("memory: qa index ...")
    results["memory"]["index"] = index_memory(settings.corpus_path)

    log("cold: whole qa search processes ...")
    results["cold"] = bench_cold(index_dir, plan.cold_rounds)

    log("build: passages per second ...")
    results["build"] = {"seed": bench_build(settings.corpus_path, settings, embedder, plan.build_rounds)}
    if plan.cmrc_build:
        results["build"]["cmrc2018"] = bench_build(known["cmrc2018"].corpus, settings, embedder, 1)

    log(f"scale: synthetic corpora of {', '.join(f'{n:,}' for n in plan.scale_sizes)} passages ...")
    results["scale"] = _scale(settings, embedder, seed, questions, plan, log)
    log(f"updates: add and remove one article at the seed size and at {', '.join(map(str, plan.update_sizes))} ...")
    results["updates"] = _updates(settings, embedder, seed, index_dir, plan, results)
    log(f"milvus: Milvus Lite beside local at the seed size and {', '.join(map(str, plan.milvus_sizes))} ...")
    results["milvus"] = run_milvus(settings, embedder, seed, questions, plan)
    results["filters"] = run_filters(settings, embedder, seed, questions, plan, log)
    results["distractors"] = run_distractors(settings, embedder, plan, log)
    results["targets"] = targets(results, settings)
    results["seconds"] = round(time.perf_counter() - started, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    from eval.bench.report import write_bench_report
    write_bench_report(results, out_dir)
    return results


def _synthetic_inputs(settings: Settings, embedder, seed: Searcher, questions: list[str], log) -> tuple:
    """What the synthetic corpora are made of: real vectors, real sentences' tokens, and the questions'
    vectors and tokens."""
    searchers = [seed]
    cmrc_corpus = benchmarks(settings)["cmrc2018"].corpus
    try:
        searchers.append(Searcher.open(settings.index_dir_for(cmrc_corpus), settings, embedder))
    except IndexLoadError:
        log("scale: no CMRC index built; deriving vectors from the seed passages only")
    tokenizer = ChineseTokenizer()
    documents = list(seed.index.documents.values()) + load_corpus(cmrc_corpus).documents
    sentences = sentence_tokens(documents, tokenizer)
    query_vectors = embedder.embed_queries(questions)
    query_tokens = [tokenizer(q) for q in questions]
    return _real_vectors(searchers), sentences, query_vectors, query_tokens


def _scale(settings: Settings, embedder, seed: Searcher, questions: list[str], plan: BenchPlan, log) -> dict:
    real, sentences, query_vectors, query_tokens = _synthetic_inputs(settings, embedder, seed, questions, log)
    sizes = {}
    for n in plan.scale_sizes:
        log(f"scale: {n:,} passages ...")
        sizes[str(n)] = bench_size(n, real, sentences, query_vectors, query_tokens, settings)
    return {"real_vectors": len(real), "real_sentences": len(sentences), "hnsw_threshold": settings.hnsw_threshold,
            "sizes": sizes}


def run_filters(settings: Settings, embedder, seed: Searcher, questions: list[str], plan: BenchPlan, log) -> dict:
    from eval.bench.filters import bench_filters

    real, sentences, query_vectors, query_tokens = _synthetic_inputs(settings, embedder, seed, questions, log)
    sizes = {}
    for n in plan.filter_sizes:
        log(f"filters: {n:,} passages, flat and HNSW, filters keeping 1%, 10%, 50% ...")
        sizes[str(n)] = bench_filters(n, real, sentences, query_vectors, query_tokens, settings)
    return {"sizes": sizes}


def run_distractors(settings: Settings, embedder, plan: BenchPlan, log) -> dict:
    """Hit@1 of the held-out CMRC questions on the CMRC index and with its passages planted among
    distractors made of the CMRC and DRCD training articles (eval/bench/distractors.py)."""
    from eval.bench.distractors import bench_distractors
    from eval.questions import load_benchmark_questions
    from eval.splits import is_held_out

    known = benchmarks(settings)
    noread = settings.model_copy(update={"reader": False})  # Hit@k does not depend on the reader
    small = open_or_build(known["cmrc2018"], settings.index_dir_for(known["cmrc2018"].corpus), noread, embedder,
                          log=log)
    drcd = open_or_build(known["drcd"], settings.index_dir_for(known["drcd"].corpus), noread, embedder, log=log,
                         ranker=False)
    questions = [q for q in load_benchmark_questions(settings.cmrc_dir, "heldout") if q.answerable]
    questions = questions[: plan.distractor_questions or None]
    return bench_distractors(noread, embedder, small, [small.index, drcd.index], questions, plan.distractor_sizes,
                             lambda title: not is_held_out(title), log)


def run_distractors_only(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    """`qa bench --only distractors`: quality at scale, written to bench-distractors.json."""
    embedder = load_embedder(settings, log=log)
    started = time.perf_counter()
    results = {"machine": machine(), "commit": commit(), "plan": plan.__dict__,
               "distractors": run_distractors(settings, embedder, plan, log)}
    results["seconds"] = round(time.perf_counter() - started, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench-distractors.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def run_collections_only(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    """`qa bench --only collections`: one server's memory with 1 and 20 collections, to bench-collections.json."""
    from eval.bench.collections import bench_collections

    embedder = load_embedder(settings, log=log)
    open_or_build(benchmarks(settings)["seed"], index_dir, settings, embedder, log=log)
    log(f"collections: qa serve --collections with {' then '.join(map(str, plan.collection_counts))} copies of "
        "the seed index ...")
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "commit": commit(),
               "collections": bench_collections(index_dir, out_dir, plan.collection_counts)}
    (out_dir / "bench-collections.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def run_filters_only(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    """`qa bench --only filters`: filtered against unfiltered retrieval, written to bench-filters.json."""
    embedder = load_embedder(settings, log=log)
    seed = open_or_build(benchmarks(settings)["seed"], index_dir, settings, embedder, log=log)
    questions = [q.question for q in load_seed_questions()][: plan.questions]
    results = {"machine": machine(), "commit": commit(), "plan": plan.__dict__,
               "filters": run_filters(settings, embedder, seed, questions, plan, log)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench-filters.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def run_milvus(settings: Settings, embedder, seed: Searcher, questions: list[str], plan: BenchPlan) -> dict:
    from eval.bench.milvus import bench_milvus

    documents = list(seed.index.documents.values()) + load_corpus(benchmarks(settings)["cmrc2018"].corpus).documents
    return bench_milvus(settings, embedder, questions, plan.rounds, plan.milvus_sizes, _real_vectors([seed]),
                        sentence_tokens(documents, ChineseTokenizer()), plan.milvus_questions)


def run_milvus_only(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    """`qa bench --only milvus`: just the Milvus section, written to bench-milvus.json."""
    embedder = load_embedder(settings, log=log)
    seed = open_or_build(benchmarks(settings)["seed"], index_dir, settings, embedder, log=log)
    questions = [q.question for q in load_seed_questions()][: plan.questions]
    log(f"milvus: Milvus Lite beside local at the seed size and {', '.join(map(str, plan.milvus_sizes))} ...")
    results = {"machine": machine(), "commit": commit(), "plan": plan.__dict__,
               "milvus": run_milvus(settings, embedder, seed, questions, plan)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench-milvus.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def bench_reading(index_dir: Path, questions: list[str], plan: BenchPlan, out_dir: Path) -> dict:
    """qa serve at concurrency 1 with the reader and without it (QA_READER=0): server took_ms and
    resident memory both ways, one after the other in this run."""
    results = {}
    for label, env in (("reader", {}), ("noread", {"QA_READER": "0"})):
        with running_server(index_dir, out_dir / f"bench-serve-{label}.log", env=env) as server:
            results[label] = {"http": bench_http(server.url, questions, plan.http_requests, (1,), plan.rounds)["1"],
                              "memory": process_memory(server.pid)}
    added = {p: round(results["reader"]["http"][f"server_took_{p}"] - results["noread"]["http"][f"server_took_{p}"], 2)
             for p in ("p50", "p95")}
    return {**results, "reading_added_ms": added}


def run_reading_only(settings: Settings, plan: BenchPlan, index_dir: Path, out_dir: Path, log=log) -> dict:
    """`qa bench --only reading`: what the reader costs a server, written to bench-reading.json."""
    embedder = load_embedder(settings, log=log)
    open_or_build(benchmarks(settings)["seed"], index_dir, settings, embedder, log=log)
    questions = [q.question for q in load_seed_questions()][: plan.questions]
    log("reading: qa serve with the reader and with QA_READER=0, concurrency 1 ...")
    results = {"machine": machine(), "commit": commit(), "plan": plan.__dict__,
               "reading": bench_reading(index_dir, questions, plan, out_dir)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench-reading.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def _updates(settings: Settings, embedder, seed: Searcher, index_dir: Path, plan: BenchPlan, results: dict) -> dict:
    from eval.bench.update import bench_updates
    from index.ingest.chunking import split_sentences

    documents = list(seed.index.documents.values())
    sentences = sorted({doc.text[s.start:s.end].strip() for doc in documents for s in split_sentences(doc.text)} - {""})
    speed = results["build"]["seed"]["passages_per_s"]["median"]
    return bench_updates(index_dir, documents[0], plan.update_sizes, sentences, ChineseTokenizer(),
                         _real_vectors([seed]), speed, settings, embedder)


def targets(results: dict, settings: Settings) -> list[dict]:
    """Each performance target (issues 5 and 11), with the measured figure and whether it is met."""
    search, http, cold = results["search"], results["http"], results["cold"]
    reference = search["yardstick_p50"]  # the faster of the torch references, measured in this run
    top = str(max(int(c) for c in http))
    busy = "8" if "8" in http else top
    rows = [
        ("server-side hybrid took_ms p50 (HTTP, c=1) / reference encode p50",
         round(http["1"]["server_took_p50"] / reference, 3), "<=", 0.6),
        ("in-process hybrid search p50 / reference encode p50", search["ratio_to_reference"]["hybrid"], "<=", 0.6),
        ("ranking stage: hybrid p50 minus hybrid-unranked p50 (ms)", round(search["ranking_stage_ms"]["median"], 2),
         "<=", 5.0),
        (f"requests/s at concurrency {busy} / at concurrency 1", round(http[busy]["rps"] / http["1"]["rps"], 2),
         ">=", 1.5),
        ("HTTP errors", sum(c["errors"] for c in http.values()), "==", 0),
        ("HTTP p50 at concurrency 1 minus in-process hybrid p50 (ms)",
         round(http["1"]["p50"] - search["hybrid"]["p50"], 2), "<=", 5.0),
        ("cold qa search, hybrid (s)", cold["hybrid"]["median"], "<=", 3.0),
        ("cold qa search --mode bm25 (s)", cold["bm25"]["median"], "<=", 2.0),
        ("qa serve resident memory after warm-up, reader loaded (MB)", results["memory"]["serve"]["rss_mb"],
         "<=", 550),
        ("reading: server took_ms p50 with the reader minus with it off (ms, HTTP c=1)",
         round(http["1"]["server_took_p50"] - results["http_noread"]["1"]["server_took_p50"], 2), "<=", 25.0),
        ("index build, seed corpus (passages/s)", results["build"]["seed"]["passages_per_s"]["median"], ">=", 40),
    ]
    if "cmrc2018" in results["build"]:
        rows.append(("index build, CMRC (passages/s)", results["build"]["cmrc2018"]["passages_per_s"]["median"],
                     ">=", 40))
    largest = max(results["scale"]["sizes"], key=int)
    rows.append((f"hybrid without embedding at {int(largest):,} passages, p50 (ms)",
                 results["scale"]["sizes"][largest]["hybrid_without_embedding"]["query"]["p50"], "<", 50))
    distractors = results.get("distractors", {}).get("sizes", {})
    if distractors:
        largest = max(distractors, key=int)
        rows.append((f"CMRC held-out Hit@1, small index minus among {int(largest):,} distractors",
                     distractors[largest]["runs"]["settings"]["versus_small"]["hit@1_drop"], "<=", 0.03))
    check = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "==": lambda a, b: a == b}
    return [{"target": name, "measured": value, "goal": f"{op} {goal}", "met": bool(check[op](value, goal))}
            for name, value, op, goal in rows]

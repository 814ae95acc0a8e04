"""The benchmarks `qa eval` knows: which corpus, which index, which questions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.modes import BENCHMARKS
from eval.questions import Question, load_benchmark_questions, load_seed_questions, to_traditional
from index.build import build_index
from index.console import log
from index.encoder.embedder import Embedder
from index.search import Searcher
from index.settings import Settings
from index.store import IndexLoadError


@dataclass(frozen=True)
class Benchmark:
    name: str
    corpus: Path
    load_questions: Callable[[], list[Question]]
    description: str


def benchmarks(settings: Settings) -> dict[str, Benchmark]:
    """Every benchmark; the held-out parts are what the reranker never trained on (eval/splits.py)."""
    known = {
        "seed": Benchmark("seed", settings.corpus_path, load_seed_questions,
                          "the bundled Jiaxing articles and eval/questions.jsonl (never trained on)"),
        "seed-traditional": Benchmark("seed-traditional", settings.corpus_path,
                                      lambda: to_traditional(load_seed_questions()),
                                      "the seed questions converted to traditional characters (OpenCC s2t)"),
    }
    for name, bench_dir, label in (("cmrc2018", settings.cmrc_dir, "CMRC 2018 dev (simplified)"),
                                   ("drcd", settings.drcd_dir, "DRCD test (traditional)")):
        corpus = bench_dir / "passages.jsonl"
        known[name] = Benchmark(name, corpus, lambda d=bench_dir: load_benchmark_questions(d),
                                f"{label}: every question")
        known[f"{name}-heldout"] = Benchmark(
            f"{name}-heldout", corpus, lambda d=bench_dir: load_benchmark_questions(d, "heldout"),
            f"{label}: the held-out third of its articles, never trained on")
    assert tuple(known) == BENCHMARKS, "eval/modes.py lists the benchmarks the command line offers"
    return known


def open_or_build(benchmark: Benchmark, index_dir: Path, settings: Settings, embedder: Embedder,
                  log=log, ranker: bool = True) -> Searcher:
    """A benchmark's index is derived data: build it when it is missing or stale."""
    try:
        return Searcher.open(index_dir, settings, embedder, ranker=ranker)
    except IndexLoadError as exc:
        log(f"{exc.problem}: building the {benchmark.name} index at {index_dir} ...")
    build_index(benchmark.corpus, index_dir, settings, embedder, progress=True)
    return Searcher.open(index_dir, settings, embedder, ranker=ranker)

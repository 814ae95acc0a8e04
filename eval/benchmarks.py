"""The benchmarks `qa eval` knows: which corpus, which index, which questions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.questions import Question, load_cmrc_questions, load_seed_questions
from index.build import build_index
from index.console import log
from index.embedder import Embedder
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
    cmrc_passages = settings.cmrc_dir / "passages.jsonl"
    stride = settings.cmrc_ci_stride
    return {
        "seed": Benchmark("seed", settings.corpus_path, load_seed_questions,
                          "the bundled Jiaxing articles and eval/questions.jsonl"),
        "cmrc2018": Benchmark("cmrc2018", cmrc_passages, lambda: load_cmrc_questions(settings.cmrc_dir),
                              "CMRC 2018 dev: 848 Wikipedia paragraphs, all 3,219 questions"),
        "cmrc2018-ci": Benchmark("cmrc2018-ci", cmrc_passages,
                                 lambda: load_cmrc_questions(settings.cmrc_dir, stride),
                                 f"CMRC 2018 dev, every {stride}th question (the CI subset)"),
    }


def open_or_build(benchmark: Benchmark, index_dir: Path, settings: Settings, embedder: Embedder,
                  log=log) -> Searcher:
    """A benchmark's index is derived data: build it when it is missing or stale."""
    try:
        return Searcher.open(index_dir, settings, embedder)
    except IndexLoadError as exc:
        log(f"{exc.problem}: building the {benchmark.name} index at {index_dir} ...")
    build_index(benchmark.corpus, index_dir, settings, embedder, progress=True)
    return Searcher.open(index_dir, settings, embedder)

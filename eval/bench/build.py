"""Index build speed: passages per second, split into load and clean, tokenize, embed, write."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from eval.bench.stats import median_with_spread
from index.build import build_index
from index.embedder import Embedder
from index.settings import Settings

STAGES = ("load_and_clean", "tokenize", "embed", "write", "total")


def bench_build(corpus: Path, settings: Settings, embedder: Embedder, rounds: int) -> dict:
    reports = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            reports.append(build_index(corpus, Path(tmp) / "index", settings, embedder, progress=False))
    rates = [r.passages_per_second for r in reports]
    return {
        "passages": reports[0].passages,
        "documents": reports[0].documents,
        "passages_per_s": median_with_spread(rates),
        "embed_passages_per_s": round(statistics.median(r.passages / r.seconds["embed"] for r in reports), 2),
        "seconds": {stage: round(statistics.median(r.seconds[stage] for r in reports), 3) for stage in STAGES},
    }

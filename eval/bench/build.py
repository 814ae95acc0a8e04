"""Index build speed: passages per second, split into load and clean, tokenize, embed, write.

Beside wall-clock rates, the CPU time the build used is recorded: on a shared machine the
wall rate depends on what else runs, while passages per CPU-second does much less.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from eval.bench.stats import median_with_spread
from index.build import build_index
from index.encoder.embedder import Embedder
from index.settings import Settings

STAGES = ("load_and_clean", "tokenize", "embed", "write", "total")


def bench_build(corpus: Path, settings: Settings, embedder: Embedder, rounds: int) -> dict:
    reports, cpu = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.process_time()  # every thread of this process, the model's included
            reports.append(build_index(corpus, Path(tmp) / "index", settings, embedder, progress=False))
            cpu.append(time.process_time() - started)
    rates = [r.passages_per_second for r in reports]
    per_cpu_second = statistics.median(r.passages / c for r, c in zip(reports, cpu, strict=True))
    return {
        "passages": reports[0].passages,
        "documents": reports[0].documents,
        "passages_per_s": median_with_spread(rates),
        "embed_passages_per_s": round(statistics.median(r.passages / r.seconds["embed"] for r in reports), 2),
        "passages_per_cpu_s": round(per_cpu_second, 2),
        # CPU-seconds per wall second: below the core count, other processes held the rest
        "cores_busy": round(statistics.median(c / r.seconds["total"] for r, c in zip(reports, cpu, strict=True)), 2),
        # what the wall rate would be with every core free for the build
        "passages_per_s_all_cores": round(per_cpu_second * (os.cpu_count() or 1), 2),
        "seconds": {stage: round(statistics.median(r.seconds[stage] for r in reports), 3) for stage in STAGES},
    }

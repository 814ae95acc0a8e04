"""Cold start: wall time of a whole `qa search` process, per mode (what a user waits for)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from eval.bench.stats import median_with_spread

QUESTION = "嘉兴经开区党委书记是谁"


def bench_cold(index_dir: Path, rounds: int, modes: tuple[str, ...] = ("hybrid", "bm25")) -> dict:
    """Run `qa search` `rounds` times per mode, alternating modes, and time each process."""
    qa = str(Path(sys.executable).with_name("qa"))
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode in modes:
            started = time.perf_counter()
            proc = subprocess.run([qa, "search", QUESTION, "--mode", mode, "--index-dir", str(index_dir), "--json"],
                                  capture_output=True, text=True, timeout=300)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise RuntimeError(f"qa search --mode {mode} failed: {proc.stderr[-2000:]}")
            seconds[mode].append(elapsed)
    return {mode: median_with_spread(values) for mode, values in seconds.items()}

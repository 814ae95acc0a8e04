"""Summaries of repeated timings."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=float)
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
        "mean": round(float(values.mean()), 3),
        "n": int(values.size),
    }


def time_calls(call: Callable[[], object], repeats: int, warmup: int = 3) -> list[float]:
    """Wall time of each call, in milliseconds, after a few warm-up calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median_with_spread(values: Sequence[float]) -> dict[str, float]:
    """Median of repeated runs, with the lowest and highest run (the spread)."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": len(values)}

"""In-process search latency per mode, against the floor: the bare query-embedding call."""

from __future__ import annotations

import time

from eval.bench.stats import median_with_spread, percentiles
from index.search import Searcher
from index.settings import MODES


def bench_search(searcher: Searcher, questions: list[str], rounds: int) -> dict:
    """Each round asks every question once per mode and once through the bare model call,
    interleaved, so that all of them see the same machine conditions."""
    names = ("floor", *MODES)
    per_round: dict[str, list[dict]] = {name: [] for name in names}
    for question in questions[:3]:  # warm-up
        for mode in MODES:
            searcher.search(question, 5, mode)
    for _ in range(rounds):
        samples: dict[str, list[float]] = {name: [] for name in names}
        for question in questions:
            started = time.perf_counter()
            searcher.embedder.embed_query(question)
            samples["floor"].append((time.perf_counter() - started) * 1000)
            for mode in MODES:
                started = time.perf_counter()
                searcher.search(question, 5, mode)
                samples[mode].append((time.perf_counter() - started) * 1000)
        for name in names:
            per_round[name].append(percentiles(samples[name]))
    result: dict = {}
    for name in names:
        rounds_of = per_round[name]
        result[name] = {key: median_with_spread([r[key] for r in rounds_of])["median"] for key in ("p50", "p95", "p99")}
        result[name]["p50_spread"] = median_with_spread([r["p50"] for r in rounds_of])
        result[name]["questions_per_round"] = len(questions)
    floor = result["floor"]["p50"]
    result["ratio_to_floor"] = {mode: round(result[mode]["p50"] / floor, 3) for mode in MODES}
    return result

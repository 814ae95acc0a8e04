"""Thread layouts of the encoder, compared in process on the same questions.

A layout is (intra-op threads per model call, model calls at once). Each is measured for a
single question at a time (latency) and for 8 threads searching at once (throughput), in
hybrid mode, so that BM25, fusion and evidence run beside the model calls as in the server.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from eval.bench.stats import percentiles
from index.search import Searcher

LAYOUTS = ((1, 2), (2, 1), (1, 1), (2, 2))
CONCURRENCY = 8


def bench_layouts(searcher: Searcher, questions: list[str], repeats: int) -> dict:
    base = searcher.embedder
    result = {}
    for threads, calls in LAYOUTS:
        layout = Searcher(searcher.index, base.with_layout(threads, calls), searcher.settings)
        layout.tokenizer = searcher.tokenizer  # as opened (memoized evidence tokens), shared
        for question in questions[:3]:
            layout.search(question, 5, "hybrid")
        latencies = []
        for question in questions[:repeats]:
            time.sleep(0.002)
            started = time.perf_counter()
            layout.search(question, 5, "hybrid")
            latencies.append((time.perf_counter() - started) * 1000)
        batch = (questions * (1 + 4 * repeats // max(1, len(questions))))[: 4 * repeats]
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            started = time.perf_counter()
            list(pool.map(lambda q, s=layout: s.search(q, 5, "hybrid"), batch))
            wall = time.perf_counter() - started
        single_qps = 1000 / percentiles(latencies)["mean"]
        result[f"{threads}x{calls}"] = {
            "threads_per_call": threads, "calls_at_once": calls,
            "single_p50_ms": percentiles(latencies)["p50"],
            "qps_1": round(single_qps, 1),
            f"qps_{CONCURRENCY}": round(len(batch) / wall, 1),
            "scaling": round(len(batch) / wall / single_qps, 2),
        }
    return result

"""In-process search latency per mode, against the model call and the reference.

- floor: the project's own query-embedding call (the encoder the index uses);
- reference: a plain sentence-transformers torch fp32 `encode` of the same question with
  the same converted model (torch's default threads, and one thread), the yardstick of the
  performance targets;
- hybrid-unranked: hybrid search with no ranking stage at all (fused order, lexical evidence,
  no confidence): hybrid minus it is what the ranking stage costs;
- hybrid-noread: hybrid search with the reader off (``read=False``): hybrid minus it is what
  reading the first result costs.
"""

from __future__ import annotations

import statistics
import time

from eval.bench.stats import median_with_spread, percentiles
from index.search import Searcher
from index.settings import MODES

UNRANKED = "hybrid-unranked"
NOREAD = "hybrid-noread"

PAUSE_S = 0.005  # before each timed call: torch's OpenMP threads spin a while after a call


def reference_encoders(model_dir) -> dict:
    """The reference: the converted folder on sentence-transformers and torch, fp32, with
    torch's default threads ("reference") and with one thread ("reference_1t"). On a shared
    machine torch's threads wait for each other whenever another process holds a core, so
    the default can be many times slower than on an idle machine; targets are judged
    against the faster of the two, the harder yardstick."""
    import torch

    from index.encoder.model_convert import load_torch_reference

    model = load_torch_reference(model_dir)
    default_threads = torch.get_num_threads()

    def encode(question: str, threads: int):
        torch.set_num_threads(threads)
        try:
            return model.encode([question], prompt_name="query", normalize_embeddings=True)
        finally:
            torch.set_num_threads(default_threads)

    return {"reference": lambda q: encode(q, default_threads), "reference_1t": lambda q: encode(q, 1)}


def bench_search(searcher: Searcher, questions: list[str], rounds: int, references: dict | None = None) -> dict:
    """Each round asks every question once per mode, once through the bare model call and once
    through the reference, interleaved, so that all of them see the same machine conditions."""
    calls = {"floor": searcher.embedder.embed_query, **(references or {})}
    unranked = Searcher(searcher.index, searcher.embedder, searcher.settings, ranker_model=None)
    searchers = {**{mode: searcher for mode in MODES}, UNRANKED: unranked, NOREAD: searcher}
    names = (*calls, *MODES, UNRANKED, NOREAD)

    def run(name: str, question: str) -> None:
        own = searchers[name]
        if name in (UNRANKED, NOREAD):
            own.search(question, 5, "hybrid", read=False)
        else:
            own.search(question, 5, name)

    per_round: dict[str, list[dict]] = {name: [] for name in names}
    for question in questions[:3]:  # warm-up
        for call in calls.values():
            call(question)
        for name in searchers:
            run(name, question)
    for _ in range(rounds):
        samples: dict[str, list[float]] = {name: [] for name in names}
        for question in questions:
            for name in names:
                time.sleep(PAUSE_S)
                started = time.perf_counter()
                if name in calls:
                    calls[name](question)
                else:
                    run(name, question)
                samples[name].append((time.perf_counter() - started) * 1000)
        for name in names:
            per_round[name].append(percentiles(samples[name]))
    result: dict = {}
    for name in names:
        rounds_of = per_round[name]
        result[name] = {key: median_with_spread([r[key] for r in rounds_of])["median"] for key in ("p50", "p95", "p99")}
        result[name]["p50_spread"] = median_with_spread([r["p50"] for r in rounds_of])
        result[name]["questions_per_round"] = len(questions)
    floor = result["floor"]["p50"]
    result["ratio_to_floor"] = {mode: round(result[mode]["p50"] / floor, 3) for mode in (*MODES, UNRANKED, NOREAD)}
    result["ranking_stage_ms"] = median_with_spread(
        [n["p50"] - u["p50"] for n, u in zip(per_round[NOREAD], per_round[UNRANKED], strict=True)])
    result["reading_stage_ms"] = median_with_spread(
        [h["p50"] - n["p50"] for h, n in zip(per_round["hybrid"], per_round[NOREAD], strict=True)])
    if references:
        # the yardstick: the faster reference, round by round
        best = [min(per_round[name][i]["p50"] for name in references) for i in range(rounds)]
        ref = statistics.median(best)
        result["yardstick_p50"] = round(ref, 3)
        result["yardstick"] = min(references, key=lambda name: result[name]["p50"])
        result["ratio_to_reference"] = {name: round(result[name]["p50"] / ref, 3) for name in names}
        # the same ratio round by round: its spread says how much to trust the median
        result["hybrid_to_reference_by_round"] = median_with_spread(
            [h["p50"] / b for h, b in zip(per_round["hybrid"], best, strict=True)])
    return result

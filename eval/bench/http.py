"""Over HTTP: `qa serve` on loopback, driven by an asyncio httpx client at fixed concurrency."""

from __future__ import annotations

import asyncio
import time

import httpx

from eval.bench.stats import median_with_spread, percentiles


async def _drive(url: str, questions: list[str], requests: int, concurrency: int) -> dict:
    latencies: list[float] = []
    took: list[float] = []
    errors = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(questions[i % len(questions)])

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                question = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                response = await client.get("/api/search", params={"q": question})
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code == 200:
                    took.append(response.json()["took_ms"])
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await client.get("/healthz")
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {**percentiles(latencies), "server_took_p50": percentiles(took)["p50"] if took else None,
            "server_took_p95": percentiles(took)["p95"] if took else None,
            "rps": round(requests / wall, 2), "errors": errors}


def bench_http(url: str, questions: list[str], requests: int, concurrencies: tuple[int, ...],
               rounds: int) -> dict:
    result = {}
    asyncio.run(_drive(url, questions, min(20, requests), 1))  # warm-up
    for concurrency in concurrencies:
        runs = [asyncio.run(_drive(url, questions, requests, concurrency)) for _ in range(rounds)]
        summary = {key: median_with_spread([r[key] for r in runs])["median"]
                   for key in ("p50", "p95", "p99", "rps", "server_took_p50", "server_took_p95")}
        summary["p50_spread"] = median_with_spread([r["p50"] for r in runs])
        summary["errors"] = sum(r["errors"] for r in runs)
        summary["requests_per_round"] = requests
        result[str(concurrency)] = summary
    return result

"""Resident memory of one `qa serve --collections` process holding 1 collection, then 20.

Each collection is a copy of the seed index; every collection answers one search before memory
is read, so each has loaded its index. The model (encoder, ranker, reader) is loaded once per
process, so the 20 should cost little more than the 1 (issue 27's target: at most 1.3 times).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import httpx

from eval.bench.memory import process_memory
from eval.bench.server import running_server

QUESTION = "嘉兴经开区党委书记是谁"


def bench_collections(seed_index_dir: Path, out_dir: Path, counts: tuple[int, ...]) -> dict:
    results = {}
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="zhqa-collections-") as root:
            for i in range(count):
                shutil.copytree(seed_index_dir, Path(root) / f"c{i:02d}")
            with running_server(Path(root), out_dir / f"bench-collections-{count}.log", collections=True) as server:
                for i in range(count):
                    reply = httpx.get(f"{server.url}/api/collections/c{i:02d}/search", params={"q": QUESTION},
                                      timeout=120)
                    reply.raise_for_status()
                results[str(count)] = process_memory(server.pid)
    first, last = results[str(counts[0])]["rss_mb"], results[str(counts[-1])]["rss_mb"]
    return {"collections": results, "rss_ratio": round(last / first, 3)}


def markdown_section(collections: dict) -> list[str]:
    rows = [f"| {count} | {m['rss_mb']} | {m['peak_rss_mb']} |" for count, m in collections["collections"].items()]
    return ["## Collections: one server, one model", "", "| collections (seed copies) | RSS MB | peak RSS MB |",
            "|---|---|---|", *rows, "",
            f"RSS with {list(collections['collections'])[-1]} collections is {collections['rss_ratio']} times that "
            "with one (target: at most 1.3)."]

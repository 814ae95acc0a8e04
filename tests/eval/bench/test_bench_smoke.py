"""`qa bench --quick` runs end to end and writes its files. Timings are not asserted (noisy machines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

QA = str(Path(sys.executable).with_name("qa"))
SECTIONS = {"machine", "commit", "encoder", "search", "layouts", "http", "http_noread", "cold", "build", "memory",
            "scale", "updates", "filters", "targets"}


def test_quick_bench_writes_every_section(seed_index_dir, tmp_path):
    proc = subprocess.run([QA, "bench", "--quick", "--index-dir", str(seed_index_dir), "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "bench.json").read_text())
    assert set(results) >= SECTIONS
    assert set(results["search"]["ratio_to_floor"]) == {"hybrid", "bm25", "dense", "hybrid-unranked", "hybrid-noread"}
    assert results["search"]["hybrid-unranked"]["p50"] > 0 and "median" in results["search"]["ranking_stage_ms"]
    assert results["search"]["hybrid-noread"]["p50"] > 0 and "median" in results["search"]["reading_stage_ms"]
    assert results["http_noread"]["1"]["errors"] == 0 and results["memory"]["serve_noread"]["rss_mb"] > 0
    assert results["search"]["reference"]["p50"] > 0 and "hybrid" in results["search"]["ratio_to_reference"]
    assert set(results["cold"]) == {"hybrid", "bm25"} and all(v["median"] > 0 for v in results["cold"].values())
    assert len(results["layouts"]) >= 2 and all(v["qps_8"] > 0 for v in results["layouts"].values())
    assert set(results["http"]) == {"1", "8"} and all(c["errors"] == 0 for c in results["http"].values())
    assert results["build"]["seed"]["passages"] > 50
    assert results["memory"]["serve"]["rss_mb"] > 0 and results["memory"]["index"]["peak_rss_mb"] > 0
    size = results["scale"]["sizes"]["3000"]
    assert 0 <= size["hnsw"]["recall_at_10"] <= 1 and size["bm25"]["query"]["n"] > 0
    filtered = results["filters"]["sizes"]["3000"]["kinds"]
    assert set(filtered) == {"flat", "hnsw"} and all(rows[share]["outside"] == 0 and rows[share]["passages"] > 0
                                                     for rows in filtered.values() for share in ("1%", "10%", "50%"))
    updates = results["updates"]
    assert updates["seed"]["add_s"] > 0 and updates["seed"]["remove_s"] > 0 and updates["2000"]["passages"] == 2000
    assert "## Adding and removing one article" in (tmp_path / "bench.md").read_text()
    assert "## Targets" in (tmp_path / "bench.md").read_text() and (tmp_path / "bench.png").stat().st_size > 10_000
    assert "## Targets" in proc.stdout


def test_the_reading_section_alone_measures_both_servers(seed_index_dir, tmp_path):
    proc = subprocess.run([QA, "bench", "--quick", "--only", "reading", "--index-dir", str(seed_index_dir),
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reading = json.loads((tmp_path / "bench-reading.json").read_text())["reading"]
    for label in ("reader", "noread"):
        assert reading[label]["http"]["errors"] == 0 and reading[label]["memory"]["rss_mb"] > 0
        assert reading[label]["http"]["server_took_p50"] > 0
    assert set(reading["reading_added_ms"]) == {"p50", "p95"}
    assert "## Reading: qa serve with and without the reader" in proc.stdout


def test_the_collections_section_measures_one_server_per_count(seed_index_dir, tmp_path):
    proc = subprocess.run([QA, "bench", "--quick", "--only", "collections", "--index-dir", str(seed_index_dir),
                           "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    collections = json.loads((tmp_path / "bench-collections.json").read_text())["collections"]
    assert set(collections["collections"]) == {"1", "2"} and collections["rss_ratio"] > 0
    assert all(m["rss_mb"] > 0 for m in collections["collections"].values())
    assert "## Collections: one server, one model" in proc.stdout

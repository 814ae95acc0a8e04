"""Resident memory of `qa serve` after warm-up and the peak of `qa index`, read from the kernel."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _status_kb(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def process_memory(pid: int) -> dict:
    """Resident memory now and at its peak (VmHWM), for a running process."""
    return {"rss_mb": round(_status_kb(pid, "VmRSS") / 1024, 1),
            "peak_rss_mb": round(_status_kb(pid, "VmHWM") / 1024, 1)}


# The child reports its own VmHWM. wait4's ru_maxrss would not do: a child forked from this
# (large) benchmark process counts the pages it shared with it before exec.
_INDEX_AND_REPORT = """
import json, sys
from pathlib import Path
from service.cli import main
code = main(["index", "--corpus", sys.argv[1], "--index-dir", sys.argv[2], "--quiet"])
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
Path(sys.argv[3]).write_text(json.dumps({"code": code, "peak_kb": peak}))
"""


def index_memory(corpus: Path) -> dict:
    """Run `qa index` (its own entry point, in a fresh interpreter) and take its peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peak.json"
        proc = subprocess.run([sys.executable, "-c", _INDEX_AND_REPORT, str(corpus), f"{tmp}/index", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"qa index exited with {proc.returncode}: {proc.stderr[-2000:]}")
        report = json.loads(out.read_text())
    if report["code"] != 0:
        raise RuntimeError(f"qa index exited with {report['code']}")
    return {"peak_rss_mb": round(report["peak_kb"] / 1024, 1)}

"""Peak resident memory of `qa serve` after warm-up and of `qa index`, read from the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def process_memory(pid: int) -> dict:
    """Resident memory now and at its peak (VmHWM), for a running process."""
    return {"rss_mb": round(_status_kb(pid, "VmRSS") / 1024, 1),
            "peak_rss_mb": round(_status_kb(pid, "VmHWM") / 1024, 1)}


def index_memory(corpus: Path) -> dict:
    """Run `qa index` as a child process and take its peak RSS from wait4's rusage."""
    qa = str(Path(sys.executable).with_name("qa"))
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen([qa, "index", "--corpus", str(corpus), "--index-dir", f"{tmp}/index", "--quiet"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"qa index exited with {process.returncode}")
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}

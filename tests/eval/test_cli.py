"""`qa eval` from the command line: tables, report files, exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QA = str(Path(sys.executable).with_name("qa"))


def test_qa_eval_writes_the_report(seed_index_dir, tmp_path):
    proc = subprocess.run([QA, "eval", "--index-dir", str(seed_index_dir), "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    for mode in ("hybrid", "bm25", "dense"):
        assert f"### seed: {mode}" in proc.stdout
    report = (tmp_path / "seed.md").read_text()
    assert "## Worst questions" in report and "Gate: passed" in report
    assert (tmp_path / "seed.png").stat().st_size > 10_000


def test_qa_eval_help():
    proc = subprocess.run([QA, "eval", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--benchmark" in proc.stdout

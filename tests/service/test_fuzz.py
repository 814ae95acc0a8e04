"""Schemathesis against a live `qa serve` on loopback: every check, a fixed seed, a minute or two.

It generates requests from /openapi.json (valid and invalid ones, unexpected methods,
sequences that follow the API's links) and checks each answer: no 5xx, statuses,
content types, headers and bodies as documented, valid data accepted, invalid data
refused, 405 with Allow. tests/service/fuzz_hooks.py explains the one exclusion.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HOOKS = Path(__file__).with_name("fuzz_hooks.py")
ST = Path(sys.executable).with_name("st")


def test_schemathesis_finds_no_failures(live_server, tmp_path):
    command = [str(ST), "run", f"{live_server['url']}/openapi.json", "--checks", "all", "--seed", "1",
               "--max-examples", "50", "--workers", "1", "--request-timeout", "60", "--no-color"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)})
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "No issues found" in report, report[-6000:]
    assert "Operations:       5 selected / 5 total" in report  # every operation was tested

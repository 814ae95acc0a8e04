"""Schemathesis against a live `qa serve` on loopback: every check, a fixed seed, a minute or two.

It generates requests from /openapi.json (valid and invalid ones, unexpected methods,
sequences that follow the API's links) and checks each answer: no 5xx, statuses,
content types, headers and bodies as documented, valid data accepted, invalid data
refused, 405 with Allow. tests/service/fuzz_hooks.py explains the one exclusion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval.bench.server import ServerStartError, running_server

HOOKS = Path(__file__).with_name("fuzz_hooks.py")
ST = Path(sys.executable).with_name("st")


TOKEN = "fuzz-token-5d1c"


@pytest.fixture(scope="module")
def writable_server(seed_index_dir, tmp_path_factory):
    """Its own copy of the index, with writes enabled: the fuzzer adds and removes documents for real."""
    index_dir = tmp_path_factory.mktemp("fuzzed") / "index"
    shutil.copytree(seed_index_dir, index_dir)
    try:
        with running_server(index_dir, index_dir.parent / "serve.log", {"QA_API_TOKEN": TOKEN}) as server:
            yield server.url
    except ServerStartError as exc:
        pytest.fail(str(exc))


def test_schemathesis_finds_no_failures(writable_server, tmp_path):
    command = [str(ST), "run", f"{writable_server}/openapi.json", "--checks", "all", "--seed", "1",
               "--max-examples", "50", "--workers", "1", "--request-timeout", "60", "--no-color",
               "-H", f"Authorization: Bearer {TOKEN}"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)})
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "No issues found" in report, report[-6000:]
    assert "Operations:       18 selected / 18 total" in report  # every operation was tested

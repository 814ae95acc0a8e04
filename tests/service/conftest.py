"""A real `qa serve` process on a free loopback port, shared by the tests that need one."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "serve.log"
    qa = str(Path(sys.executable).with_name("qa"))
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [qa, "serve", "--port", str(port), "--index-dir", str(seed_index_dir)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"qa serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"qa serve did not come up in {STARTUP_SECONDS} s:\n{log_path.read_text()}")
    yield {"url": base, "port": port, "log": log_path}
    process.terminate()
    process.wait(timeout=30)

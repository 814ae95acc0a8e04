"""Start `qa serve` as a real process on a free loopback port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 180


@dataclass
class RunningServer:
    url: str
    port: int
    pid: int
    log: Path


class ServerStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(index_dir: Path, log_path: Path, env: dict[str, str] | None = None,
                   collections: bool = False) -> Iterator[RunningServer]:
    """`env`: extra environment variables for the server (settings such as QA_API_TOKEN);
    `collections`: serve `index_dir` as `qa serve --collections` (each index folder in it)."""
    port = free_port()
    qa = str(Path(sys.executable).with_name("qa"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        where = "--collections" if collections else "--index-dir"
        process = subprocess.Popen([qa, "serve", "--port", str(port), where, str(index_dir)],
                                   stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, url, log_path)
        yield RunningServer(url, port, process.pid, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"qa serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise ServerStartError(f"qa serve did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()}")

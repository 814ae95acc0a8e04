"""Half-sent requests (slowloris) against a real `qa serve` with a low open-file limit.

The server here has a 3 s request-head timeout and a soft limit of 256 open files, so
300 half-open connections are more than it could hold. Every loop is bounded and every
socket is closed by the test; only 127.0.0.1 is used.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.bench.server import free_port

HEAD_TIMEOUT = 3
FILE_LIMIT = 256
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


@pytest.fixture(scope="module")
def guarded_server(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("slow") / "serve.log"
    env = {**os.environ, "QA_REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT)}
    qa = str(Path(sys.executable).with_name("qa"))
    with log_path.open("w") as log:
        process = subprocess.Popen([qa, "serve", "--port", str(port), "--index-dir", str(seed_index_dir)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_low_file_limit)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield {"url": url, "port": port, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _half_open(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(PARTIAL_HEAD)
        sockets.append(sock)
    return sockets


def _read_until_closed(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_a_half_sent_request_head_is_closed_after_the_timeout(guarded_server):
    started = time.monotonic()
    partial, silent = _half_open(guarded_server["port"], 1)[0], socket.create_connection(
        ("127.0.0.1", guarded_server["port"]), timeout=10)
    try:
        answer = _read_until_closed(partial, HEAD_TIMEOUT + 20)
        _read_until_closed(silent, HEAD_TIMEOUT + 20)  # a connection that sends nothing is closed too
    finally:
        partial.close()
        silent.close()
    assert HEAD_TIMEOUT - 0.5 <= time.monotonic() - started <= HEAD_TIMEOUT + 20
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer


def test_a_slow_but_complete_head_is_answered(guarded_server):
    with socket.create_connection(("127.0.0.1", guarded_server["port"]), timeout=30) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(HEAD_TIMEOUT / 4)
        assert _read_until_closed(sock, 30).startswith(b"HTTP/1.1 200 ")


def test_the_server_keeps_answering_while_hundreds_of_heads_are_half_sent(guarded_server):
    sockets = _half_open(guarded_server["port"], 300)  # more than the file limit allows to hold
    try:
        for _ in range(3):
            response = httpx.get(f"{guarded_server['url']}/api/search",
                                 params={"q": "嘉兴经开区党委书记是谁", "k": 1, "mode": "bm25"}, timeout=20)
            assert response.status_code == 200 and "章澜" in response.json()["results"][0]["text"]
    finally:
        for sock in sockets:
            sock.close()
    log = guarded_server["log"].read_text()
    assert "Too many open files" not in log and "Traceback" not in log, log[-3000:]

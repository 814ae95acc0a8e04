"""The real server process: raw UTF-8 URLs (as curl sends them), request logs, concurrency."""

from __future__ import annotations

import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from service.http_protocol import percent_encode_high_bytes


def raw_http(port: int, request: bytes) -> tuple[int, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_raw_utf8_in_the_request_line_is_answered(live_server):
    request = "GET /api/search?q=嘉兴经开区党委书记是谁&k=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    status, body = raw_http(live_server["port"], request.encode("utf-8"))
    assert status == 200 and body["query"] == "嘉兴经开区党委书记是谁"
    assert "章澜" in body["results"][0]["text"]


def test_curl_as_in_the_readme(live_server):
    proc = subprocess.run(["curl", "-s", f"{live_server['url']}/api/search?q=嘉兴经开区党委书记是谁"],
                          capture_output=True, text=True, timeout=60)
    assert "章澜" in json.loads(proc.stdout)["results"][0]["text"]


def test_utf8_post_bodies_are_not_rewritten(live_server):
    body = json.dumps({"q": "嘉兴科技城2003年财政总收入", "k": 1}, ensure_ascii=False).encode()
    request = (b"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    status, answer = raw_http(live_server["port"], request)
    assert status == 200 and answer["query"] == "嘉兴科技城2003年财政总收入"


def test_keep_alive_connection_serves_several_requests(live_server):
    with httpx.Client(base_url=live_server["url"], timeout=60) as client:
        for question in ["嘉兴经开区党委书记是谁", "昱能科技上市时间", "嘉兴高新区研发经费"]:
            assert client.get("/api/search", params={"q": question, "k": 1}).json()["query"] == question


def test_percent_encoding_touches_only_high_bytes():
    assert percent_encode_high_bytes("GET /?q=嘉 HTTP/1.1".encode()) == b"GET /?q=%E5%98%89 HTTP/1.1"
    assert percent_encode_high_bytes(b"GET /?q=%E5 HTTP/1.1") == b"GET /?q=%E5 HTTP/1.1"


def test_concurrent_requests_all_succeed_with_the_same_answers(live_server):
    questions = ["嘉兴经开区党委书记是谁", "嘉兴科技城2003年财政总收入", "昱能科技什么时候上市"] * 8

    def ask(question: str) -> list[tuple[str, int]]:
        response = httpx.get(f"{live_server['url']}/api/search", params={"q": question}, timeout=120)
        assert response.status_code == 200
        return [(r["doc_id"], r["start"]) for r in response.json()["results"]]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(ask, questions))
    for question, answer in zip(questions, answers, strict=True):
        assert answer == answers[questions.index(question)]


def test_one_log_line_per_request_with_time_taken(live_server):
    httpx.get(f"{live_server['url']}/api/documents/log-probe-id", timeout=30)
    lines = [line for line in live_server["log"].read_text().splitlines() if "log-probe-id" in line]
    assert len(lines) == 1 and " 404 " in lines[0] and lines[0].endswith(" ms")


def test_request_log_escapes_control_characters_in_the_path(live_server):
    # A decoded %0A would start a forged log line; %1B would send a terminal colour code.
    forged = "x-forge-probe%0A2026-11-23%2000:00:00,000%20GET%20/admin%20200%201.0%20ms%1B%5B31m%5C"
    httpx.get(f"{live_server['url']}/api/documents/{forged}", timeout=30)
    log = live_server["log"].read_text()
    assert "\x1b" not in log and "\n2026-11-23 00:00:00,000 GET /admin" not in log
    lines = [line for line in log.splitlines() if "x-forge-probe" in line]
    assert len(lines) == 1, lines
    assert "x-forge-probe\\n2026-11-23\\x2000:00:00,000\\x20GET\\x20/admin" in lines[0]
    assert lines[0].endswith(" ms") and "\\x1b[31m\\\\ 404 " in lines[0]


def raw_exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes; return the response head and body (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_malformed_http_gets_a_json_400(live_server, request_bytes):
    head, body = raw_exchange(live_server["port"], request_bytes)
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_head_over_the_wire_has_no_body(live_server):
    head, body = raw_exchange(live_server["port"], b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b""


def test_a_double_slash_path_is_never_redirected_off_site(live_server):
    head, _ = raw_exchange(live_server["port"], b"GET //evil.example/ HTTP/1.1\r\nHost: evil.example\r\n"
                                                b"Connection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ") and b"location" not in head.lower()

"""Writing documents over HTTP on a real `qa serve`: the token, every status, live changes seen at once
(also from another process), searches during writes, and a restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import docx
import httpx
import pytest

from eval.bench.server import running_server

TOKEN = "test-token-8f3a91c2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = "嘉兴的火星基地有几座塔？"
MARS = {"doc_id": "mars", "title": "火星基地", "text": "嘉兴的火星基地有三座塔。塔高一百米。", "source": "测试"}


@pytest.fixture(scope="module")
def writable(seed_index_dir, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("writable") / "index"
    shutil.copytree(seed_index_dir, index_dir)
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {"QA_API_TOKEN": TOKEN, "QA_MAX_DOCUMENT_CHARS": "20000"}
    with running_server(index_dir, log, env) as server:
        yield {"url": server.url, "index_dir": index_dir, "log": log}


def test_writes_are_disabled_without_a_configured_token(live_server):
    response = httpx.post(f"{live_server['url']}/api/documents", json=MARS, headers=AUTH)
    assert response.status_code == 403 and "set QA_API_TOKEN" in response.json()["error"]["message"]
    assert httpx.delete(f"{live_server['url']}/api/documents/x", headers=AUTH).status_code == 403


def test_a_missing_or_wrong_token_is_401_and_never_logged(writable):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = httpx.post(f"{writable['url']}/api/documents", json=MARS, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{writable['url']}/api/documents").status_code == 200  # reads stay open
    assert TOKEN not in writable["log"].read_text(encoding="utf-8")


def test_add_search_replace_and_remove_without_restart(writable):
    url = writable["url"]
    created = httpx.post(f"{url}/api/documents", json=MARS, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["doc_id"] == "mars" and created.json()["passages"] == 1
    top = httpx.get(f"{url}/api/search", params={"q": QUESTION, "k": 1}).json()["results"][0]
    assert top["doc_id"] == "mars" and "三座塔" in top["evidence"]["text"]
    stored = httpx.get(f"{url}/api/documents/mars").json()["text"]
    assert stored[top["start"]:top["end"]] == top["text"]

    replaced = httpx.put(f"{url}/api/documents/mars", headers=AUTH,
                         json={**MARS, "text": "嘉兴的火星基地有五座塔。塔高两百米。"})
    assert replaced.status_code == 200 and replaced.json()["replaced"] is True
    top = httpx.get(f"{url}/api/search", params={"q": QUESTION, "k": 1}).json()["results"][0]
    assert "五座塔" in top["text"]

    assert httpx.delete(f"{url}/api/documents/mars", headers=AUTH).status_code == 200
    assert httpx.get(f"{url}/api/documents/mars").status_code == 404
    missing = httpx.delete(f"{url}/api/documents/mars", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_file_uploads_and_their_errors(writable, tmp_path):
    url = writable["url"]
    document = docx.Document()
    document.add_heading("月球工厂", level=1)
    document.add_paragraph("嘉兴的月球工厂每年生产四百台机器人。")
    document.save(tmp_path / "moon.docx")
    with (tmp_path / "moon.docx").open("rb") as handle:
        uploaded = httpx.post(f"{url}/api/documents", headers=AUTH, files={"file": ("moon.docx", handle)},
                              data={"source": "测试"})
    assert uploaded.status_code == 201 and uploaded.json()["title"] == "月球工厂", uploaded.text
    top = httpx.get(f"{url}/api/search", params={"q": "嘉兴的月球工厂每年生产多少台机器人", "k": 1}).json()
    assert top["results"][0]["doc_id"] == "moon"

    cases = [
        ({"files": {"file": ("table.xlsx", b"PK\x03\x04")}}, 415, "unsupported_media_type"),
        ({"files": {"file": ("scan.txt", b"   ")}}, 422, "invalid_document"),
        ({"content": b"text=1", "headers": {**AUTH, "Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": {**MARS, "text": "长" * 20001}}, 413, "body_too_large"),
        ({"json": {"title": 1, "text": "x"}}, 422, "invalid_document"),
        ({"content": b"{not json", "headers": {**AUTH, "Content-Type": "application/json"}}, 400, None),
        ({"content": b'{"a": 1}', "headers": {**AUTH, "Content-Type": "multipart/form-data"}}, 400, None),
    ]
    for request, status, code in cases:
        response = httpx.post(f"{url}/api/documents", **{"headers": AUTH, **request})
        assert response.status_code == status, (request, response.text)
        if code:
            assert response.json()["error"]["code"] == code


def test_a_change_by_another_process_is_seen_and_searches_during_writes_never_fail(writable, tmp_path):
    url, qa = writable["url"], str(Path(sys.executable).with_name("qa"))
    (tmp_path / "comet.txt").write_text("嘉兴彗星观测站去年记录了七颗彗星。", encoding="utf-8")
    failures, answers, stop = [], [], threading.Event()

    def search_until_stopped():
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                response = client.get(f"{url}/api/search", params={"q": "嘉兴彗星观测站记录了几颗彗星", "k": 3})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    answers.append(response.json()["results"][0]["doc_id"])

    threads = [threading.Thread(target=search_until_stopped) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        added = subprocess.run([qa, "add", str(tmp_path / "comet.txt"), "--index-dir", str(writable["index_dir"]),
                                "--quiet"], capture_output=True, text=True, timeout=300)
        assert added.returncode == 0, added.stderr
        for i in range(3):
            assert httpx.post(f"{url}/api/documents", headers=AUTH, timeout=120,
                              json={"doc_id": f"w{i}", "title": f"写入{i}", "text": f"第{i}次写入的测试正文。"}
                              ).status_code == 201
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures and answers
    assert httpx.get(f"{url}/api/search", params={"q": "嘉兴彗星观测站记录了几颗彗星", "k": 1}
                     ).json()["results"][0]["doc_id"] == "comet"


def test_documents_survive_a_restart(writable, tmp_path):
    assert httpx.post(f"{writable['url']}/api/documents", headers=AUTH,
                      json={"doc_id": "kept", "title": "保留", "text": "重启以后这篇文章还在。"}).status_code == 201
    with running_server(writable["index_dir"], tmp_path / "again.log") as again:
        assert httpx.get(f"{again.url}/api/documents/kept").status_code == 200


def test_metadata_by_json_and_upload_is_returned_and_filtered_on(writable):
    url = writable["url"]
    body = {**MARS, "doc_id": "mars-meta", "metadata": {"dept": "航天", "tags": ["火星", "基地"], "level": 3}}
    assert httpx.post(f"{url}/api/documents", json=body, headers=AUTH).status_code == 201
    stored = httpx.get(f"{url}/api/documents/mars-meta").json()["metadata"]
    assert stored == {"title": "火星基地", "source": "测试", "dept": "航天", "tags": ["火星", "基地"], "level": 3}
    upload = httpx.post(f"{url}/api/documents", headers=AUTH,
                        files={"file": ("moon.txt", "嘉兴的月球基地有两座塔。".encode(), "text/plain")},
                        data={"metadata": '{"dept": "航天", "date": "2026-05"}'})
    assert upload.status_code == 201, upload.text
    assert httpx.get(f"{url}/api/documents/moon").json()["metadata"] == {
        "title": "嘉兴的月球基地有两座塔。", "date": "2026-05", "dept": "航天"}
    found = httpx.post(f"{url}/api/search", json={"q": QUESTION, "k": 5, "filter": {"metadata": {"dept": "航天"}}})
    assert {r["doc_id"] for r in found.json()["results"]} == {"mars-meta", "moon"}
    assert all(r["metadata"]["dept"] == "航天" for r in found.json()["results"])
    for bad in ({**body, "metadata": ["a"]}, {**body, "metadata": {"x": "长" * 3000}}):
        refused = httpx.post(f"{url}/api/documents", json=bad, headers=AUTH)
        assert refused.status_code == 422 and "metadata" in refused.json()["error"]["message"]
    refused = httpx.post(f"{url}/api/documents", headers=AUTH, data={"metadata": "{not json"},
                         files={"file": ("x.txt", "正文。".encode(), "text/plain")})
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("metadata")
    for doc_id in ("mars-meta", "moon"):
        assert httpx.delete(f"{url}/api/documents/{doc_id}", headers=AUTH).status_code == 200

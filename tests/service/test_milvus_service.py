"""A Milvus Lite index used as a user uses it: `qa index --backend milvus`, `qa search`, `qa serve`
with writes over HTTP, `qa add`/`qa remove` beside a running server, and the one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from eval.bench.server import running_server

QA = str(Path(sys.executable).with_name("qa"))
TOKEN = "milvus-test-token-5d21"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MARS = {"doc_id": "mars", "title": "火星基地", "text": "嘉兴的火星基地有三座塔。塔高一百米。", "source": "测试"}


def qa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([QA, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def assert_one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert fragment in proc.stderr, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "error" in line]) == 1, proc.stderr


@pytest.fixture(scope="module")
def milvus_dir(tmp_path_factory) -> Path:
    index_dir = tmp_path_factory.mktemp("milvus-cli") / "seed"
    proc = qa("index", "--backend", "milvus", "--index-dir", str(index_dir), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Milvus Lite" in proc.stderr and "134 passages" in proc.stderr
    return index_dir


def test_index_help_names_the_backends():
    proc = qa("index", "--help")
    assert proc.returncode == 0 and "--backend {local,milvus}" in proc.stdout and "QA_MILVUS_URI" in proc.stdout


def test_search_reads_the_backend_from_the_manifest(milvus_dir):
    proc = qa("search", "嘉兴经开区党委书记是谁", "-k", "3", "--json", "--index-dir", str(milvus_dir))
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert len(response["results"]) == 3 and "章澜" in response["results"][0]["text"]
    bm25 = json.loads(qa("search", "嘉兴经开区党委书记是谁", "--mode", "bm25", "--json",
                         "--index-dir", str(milvus_dir)).stdout)
    assert bm25["results"] and bm25["results"][0]["scores"]["bm25"] > 0


def test_serve_writes_over_http_and_a_second_process_is_told_why_it_cannot(milvus_dir, tmp_path):
    index_dir = tmp_path / "served"
    shutil.copytree(milvus_dir, index_dir)
    with running_server(index_dir, tmp_path / "serve.log", {"QA_API_TOKEN": TOKEN}) as server:
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["passages"] == 134 and health["dense_index"] == "flat"
        created = httpx.post(f"{server.url}/api/documents", json=MARS, headers=AUTH, timeout=120)
        assert created.status_code == 201, created.text
        found = httpx.get(f"{server.url}/api/search", params={"q": "嘉兴的火星基地有几座塔？", "k": 1}).json()
        top = found["results"][0]
        assert top["doc_id"] == "mars" and "三座塔" in top["evidence"]["text"]
        assert httpx.get(f"{server.url}/api/documents/mars").json()["text"][top["start"]:top["end"]] == top["text"]

        # Milvus Lite is one process per file: a second process gets a one-line reason, and nothing changes
        assert_one_line_error(qa("remove", "mars", "--index-dir", str(index_dir)), "open in another process")
        assert httpx.get(f"{server.url}/api/documents/mars").status_code == 200

        assert httpx.delete(f"{server.url}/api/documents/mars", headers=AUTH, timeout=120).status_code == 200
        assert httpx.get(f"{server.url}/api/documents/mars").status_code == 404
    listed = qa("documents", "--json", "--index-dir", str(index_dir))  # the server is gone: the file is free
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)["documents"]) == 5


def test_an_unreachable_server_is_one_line_naming_the_uri(milvus_dir, tmp_path):
    env = {"QA_MILVUS_URI": "http://127.0.0.1:9", "QA_MILVUS_TIMEOUT": "2"}
    proc = qa("index", "--backend", "milvus", "--index-dir", str(tmp_path / "new"), env=env)
    assert_one_line_error(proc, "cannot reach Milvus at http://127.0.0.1:9")
    assert not (tmp_path / "new").exists()

    index_dir = tmp_path / "moved"
    index_dir.mkdir()
    manifest = json.loads((milvus_dir / "manifest.json").read_text())
    manifest["milvus"]["uri"] = "http://127.0.0.1:9"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    proc = qa("search", "嘉兴经开区党委书记是谁", "--mode", "bm25", "--index-dir", str(index_dir),
              env={"QA_MILVUS_TIMEOUT": "2"})
    assert_one_line_error(proc, "cannot reach Milvus at http://127.0.0.1:9")

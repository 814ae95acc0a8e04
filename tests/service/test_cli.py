"""The `qa` command line, run as a user runs it: a subprocess of the installed entry point."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

QA = [str(Path(sys.executable).with_name("qa"))]


def qa(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*QA, *args], capture_output=True, text=True, input=stdin, timeout=600)


def assert_one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert fragment in proc.stderr


@pytest.mark.parametrize("command", [[], ["index"], ["search"], ["add"], ["remove"], ["documents"]])
def test_every_command_has_help(command):
    proc = qa(*command, "--help")
    assert proc.returncode == 0 and "usage: qa" in proc.stdout


def test_search_json(seed_index_dir):
    proc = qa("search", "嘉兴经开区党委书记是谁", "-k", "3", "--json", "--index-dir", str(seed_index_dir))
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["mode"] == "hybrid" and response["k"] == 3 and len(response["results"]) == 3
    assert "章澜" in response["results"][0]["text"]


def test_search_readable_marks_evidence(seed_index_dir):
    proc = qa("search", "嘉兴高新区2025年规上工业企业研发经费预计达到多少？", "-k", "1",
              "--index-dir", str(seed_index_dir))
    assert proc.returncode == 0, proc.stderr
    assert "【2025年，嘉兴高新区规模以上工业企业研发经费预计达24.33亿元" in proc.stdout
    assert "[000_ad648a2326587a1a " in proc.stdout


def test_batch_queries_in_input_order_with_bad_lines_reported(seed_index_dir, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join([
        json.dumps({"id": "a", "question": "嘉兴经开区党委书记是谁"}, ensure_ascii=False),
        "{oops",
        json.dumps({"id": "b", "question": ""}),
        json.dumps({"id": "c", "question": "嘉兴科技城2003年财政总收入"}, ensure_ascii=False),
    ]), encoding="utf-8")
    proc = qa("search", "--queries", str(queries), "-k", "2", "--mode", "bm25", "--index-dir", str(seed_index_dir))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", None, "b", "c"]
    assert len(lines[0]["results"]) == 2 and "8043万元" in lines[3]["results"][0]["text"]
    assert lines[2]["error"]["code"] == "empty_question"
    assert proc.returncode == 1 and f"{queries}:2: invalid JSON" in proc.stderr


def test_index_command_builds_and_reports(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("嘉兴是浙江省的一个城市。南湖是嘉兴的名胜。", encoding="utf-8")
    (corpus / "broken.txt").write_bytes(b"\xff\xfe\x00bad")
    index_dir = tmp_path / "idx"
    proc = qa("index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Indexed 1 documents, 1 passages" in proc.stderr
    assert "warning: " in proc.stderr and "broken.txt" in proc.stderr
    assert (index_dir / "manifest.json").is_file()
    search = qa("search", "南湖", "--json", "--index-dir", str(index_dir))
    assert json.loads(search.stdout)["results"][0]["doc_id"] == "a"


def test_search_filter_and_min_confidence_and_a_filter_per_batch_line(seed_index_dir, tmp_path):
    question = "嘉兴经开区党委书记是谁"
    proc = qa("search", question, "-k", "5", "--json", "--index-dir", str(seed_index_dir),
              "--filter", '{"doc_id": ["003_aa809658476baa4e"]}')
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert results and {r["doc_id"] for r in results} == {"003_aa809658476baa4e"}
    proc = qa("search", question, "-k", "5", "--json", "--index-dir", str(seed_index_dir), "--min-confidence", "0.5")
    assert proc.returncode == 0, proc.stderr
    confident = json.loads(proc.stdout)["results"]
    assert confident and len(confident) < 5 and all(r["confidence"] >= 0.5 for r in confident)
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "a", "question": question},
        {"id": "b", "question": question, "filter": {"doc_id": "001_6ef850d05338babd"}},
        {"id": "c", "question": question, "filter": {"date": {"gte": "2025-13"}}},
    ]), encoding="utf-8")
    proc = qa("search", "--queries", str(queries), "-k", "3", "--mode", "bm25", "--index-dir", str(seed_index_dir),
              "--filter", '{"doc_id": "003_aa809658476baa4e"}')
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["doc_id"] for r in lines[0]["results"]} == {"003_aa809658476baa4e"}  # --filter
    assert {r["doc_id"] for r in lines[1]["results"]} == {"001_6ef850d05338babd"}  # the line's own
    assert lines[2]["error"]["code"] == "invalid_filter" and proc.returncode == 1


@pytest.mark.parametrize(("args", "fragment"), [
    (["search", "问题", "--index-dir", "/nonexistent/idx"], "qa: error: index at /nonexistent/idx does not exist"),
    (["search", ""], "qa: error: the question is empty"),
    (["search", "问题", "-k", "0"], "must be at least 1"),
    (["search", "问题", "-k", "abc"], "expected a whole number"),
    (["search", "问题", "--mode", "fuzzy"], "invalid choice"),
    (["search"], "give either a QUESTION or --queries"),
    (["index", "--corpus", "/nonexistent/corpus", "--index-dir", "/tmp/x"], "qa: error: corpus not found"),
    (["search", "问题", "--filter", '{"dept": 1}'], "qa: error: filter.dept: unknown key"),
    (["search", "问题", "--filter", "{oops"], "qa: error: filter: is not valid JSON"),
    (["search", "问题", "--min-confidence", "1.5"], "qa: error: min_confidence must be a number from 0 to 1"),
])
def test_bad_arguments_give_one_line_errors(seed_index_dir, args, fragment):
    if "--index-dir" not in args and args[0] == "search":
        args = [*args, "--index-dir", str(seed_index_dir)]
    assert_one_line_error(qa(*args), fragment)


def test_k_over_the_limit(seed_index_dir):
    assert_one_line_error(qa("search", "问题", "-k", "51", "--index-dir", str(seed_index_dir)),
                          "k must be from 1 to 50")


def _precious_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "u"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious", encoding="utf-8")
    return folder


def test_index_never_writes_over_its_own_corpus(tmp_path):
    corpus = _precious_folder(tmp_path)
    (corpus / "a.txt").write_text("嘉兴经开区。" * 30, encoding="utf-8")
    proc = qa("index", "--corpus", str(corpus), "--index-dir", str(corpus), "--quiet")
    assert_one_line_error(proc, "refusing to write an index into")
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt", "thesis.txt"]


def test_serve_never_builds_into_a_folder_that_is_not_an_index(tmp_path):
    folder = _precious_folder(tmp_path)
    proc = qa("serve", "--index-dir", str(folder), "--port", "0")
    assert_one_line_error(proc, "has no manifest.json")
    assert [p.name for p in folder.iterdir()] == ["thesis.txt"]
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "precious"


def test_serve_reports_an_index_that_lost_its_manifest(index_copy):
    (index_copy / "manifest.json").unlink()
    proc = qa("serve", "--index-dir", str(index_copy), "--port", "0")
    assert_one_line_error(proc, "has no manifest.json")
    assert (index_copy / "segments" / "000001" / "passages.jsonl").is_file()


def test_index_repairs_a_record_with_a_lone_surrogate_and_indexes_the_rest(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join([
        json.dumps({"id": "good", "text": "嘉兴是浙江省的一个城市。南湖是嘉兴的名胜。"}, ensure_ascii=False),
        '{"id": "bad\\udc00", "title": "标题\\ud800", "source": "\\udc00", "text": "x\\udc00。南湖。"}',
    ]), encoding="utf-8")
    index_dir = tmp_path / "idx"
    proc = qa("index", "--corpus", str(corpus), "--index-dir", str(index_dir), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Indexed 2 documents" in proc.stderr
    assert f"warning: {corpus}:2: lone surrogate" in proc.stderr
    search = qa("search", "南湖", "--json", "--index-dir", str(index_dir))
    assert {r["doc_id"] for r in json.loads(search.stdout)["results"]} == {"good", "bad\ufffd"}


def test_index_reports_an_unwritable_index_dir_before_embedding(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("嘉兴是浙江省的一个城市。", encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    proc = qa("index", "--corpus", str(corpus), "--index-dir", str(blocker / "idx"))  # with the progress bar
    assert_one_line_error(proc, f"cannot create a folder in {blocker}")
    assert "Batches" not in proc.stderr  # the embedding never started
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_batch_line_with_a_lone_surrogate_gets_an_error_and_the_rest_are_answered(seed_index_dir, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join([
        json.dumps({"id": "a", "question": "嘉兴经开区党委书记是谁"}, ensure_ascii=False),
        '{"id": "bad", "question": "x\\ud800"}',
        json.dumps({"id": "c", "question": "嘉兴科技城2003年财政总收入"}, ensure_ascii=False),
    ]), encoding="utf-8")
    proc = qa("search", "--queries", str(queries), "-k", "1", "--mode", "bm25", "--index-dir", str(seed_index_dir))
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "bad", "c"]
    assert lines[0]["results"] and "8043万元" in lines[2]["results"][0]["text"]
    assert lines[1]["question"] == "x\ud800" and lines[1]["results"] == []
    assert lines[1]["error"]["code"] == "invalid_question"
    assert proc.returncode == 1 and f"{queries}:2: the question is not valid text" in proc.stderr


def test_question_that_is_not_utf8_gives_a_one_line_error(seed_index_dir):
    proc = subprocess.run([*QA, "search", b"\xff\xfe", "--index-dir", str(seed_index_dir)],
                          capture_output=True, text=True, timeout=600)
    assert_one_line_error(proc, "qa: error: the question is not valid text")


def test_a_bad_setting_is_one_line_naming_it():
    proc = subprocess.run([*QA, "--help"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "QA_PORT": "abc"})
    assert_one_line_error(proc, "qa: error: setting QA_PORT: ")
    assert "'abc'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("model", "multilingual-e5-small"),
    ("files", {"documents.jsonl": 5}),
    ("counts", [5, 134]),
])
def test_manifest_fields_of_the_wrong_type_are_one_line_errors(index_copy, field, value):
    manifest = json.loads((index_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest[field] = value
    (index_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    proc = qa("search", "南湖", "--index-dir", str(index_copy))
    assert_one_line_error(proc, f"has a corrupt manifest.json ({field} is not")


def test_serve_on_a_taken_port_reports_only_the_bind_error(seed_index_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = qa("serve", "--port", str(port), "--index-dir", str(seed_index_dir))
    assert_one_line_error(proc, f"qa: error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "Serving" not in proc.stderr


def test_add_list_and_remove_documents(index_copy, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "owl.md").write_text("# 猫头鹰\n嘉兴湿地公园今年观测到十二只猫头鹰。", encoding="utf-8")
    (tmp_path / "notes" / "bad.pdf").write_bytes(b"%PDF-1.4 nothing")
    added = qa("add", str(tmp_path / "notes"), "--index-dir", str(index_copy), "--quiet")
    assert added.returncode == 1 and "bad.pdf" in added.stderr and "Traceback" not in added.stderr
    assert "added 1 (owl)" in added.stderr  # the good file is added, the bad one reported
    listed = json.loads(qa("documents", "--json", "--index-dir", str(index_copy)).stdout)
    owl = next(d for d in listed["documents"] if d["doc_id"] == "owl")
    assert owl["title"] == "猫头鹰" and owl["passages"] == 1 and owl["chars"] > 10
    found = json.loads(qa("search", "嘉兴湿地公园观测到几只猫头鹰", "-k", "1", "--json",
                          "--index-dir", str(index_copy)).stdout)
    assert found["results"][0]["doc_id"] == "owl"
    again = qa("add", str(tmp_path / "notes" / "owl.md"), "--id", "bird", "--index-dir", str(index_copy), "--quiet")
    assert again.returncode == 0 and "added 1 (bird)" in again.stderr
    removed = qa("remove", "owl", "bird", "--index-dir", str(index_copy))
    assert removed.returncode == 0 and "removed 2" in removed.stderr
    assert_one_line_error(qa("remove", "owl", "--index-dir", str(index_copy)), "no document with id 'owl'")


def test_add_and_remove_never_touch_a_folder_that_is_not_an_index(tmp_path):
    folder = _precious_folder(tmp_path)
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    (tmp_path / "a.txt").write_text("嘉兴。", encoding="utf-8")
    assert_one_line_error(qa("add", str(tmp_path / "a.txt"), "--index-dir", str(folder)), "nothing was changed")
    assert_one_line_error(qa("remove", "x", "--index-dir", str(folder)), "nothing was changed")
    assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before


# --- the reader: qa search --reader, the answer line, qa serve --reader ------------------------

ANSWERED = "嘉兴高新区把什么工作作为“一号工程”？"  # seed q000-02: 招商引资


@pytest.mark.parametrize("command", ["search", "serve"])
def test_the_reader_flag_is_documented(command):
    proc = qa(command, "--help")
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0 and "--reader {on,off}" in text and "on: " in text and "off: " in text


def test_search_reader_off_reads_nothing(seed_index_dir):
    proc = qa("search", ANSWERED, "-k", "2", "--json", "--reader", "off", "--index-dir", str(seed_index_dir))
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["read"] is False and all(r["answer"] is None for r in response["results"])
    assert "招商引资" in response["results"][0]["evidence"]["text"]  # the pipeline without reading
    readable = qa("search", ANSWERED, "-k", "1", "--reader", "off", "--index-dir", str(seed_index_dir))
    assert readable.returncode == 0 and "答案" not in readable.stdout and "read," not in readable.stdout
    assert "【" in readable.stdout  # the evidence is still marked


def test_search_readable_shows_the_answer_above_the_evidence(seed_index_dir):
    # Seed question q000-02: a trained reader marks 招商引资 in the first result.
    proc = qa("search", ANSWERED, "-k", "2", "--index-dir", str(seed_index_dir))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "(hybrid, reranked, read, 2 results" in lines[0]
    answers = [line for line in lines if line.lstrip().startswith("答案: ")]
    assert len(answers) == 1 and "招商引资" in answers[0]  # the first result only
    assert re.search(r"  \(score [01]\.\d\d\)$", answers[0])
    passage = "\n".join(lines[lines.index(answers[0]) + 1:]).split("\n\n")[0]  # the first result's text
    assert "招商引资" in passage[passage.index("【"):passage.index("】")]  # the evidence mark stays, around it


def test_batch_search_reads_unless_reader_off(seed_index_dir, tmp_path, settings):
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "a", "question": ANSWERED}, ensure_ascii=False), encoding="utf-8")
    for flag, read in ((["--reader", "on"], True), (["--reader", "off"], False)):
        proc = qa("search", "--queries", str(queries), "-k", "2", *flag, "--index-dir", str(seed_index_dir))
        assert proc.returncode == 0, proc.stderr
        (line,) = [json.loads(text) for text in proc.stdout.splitlines()]
        assert line["id"] == "a" and line["read"] is read and len(line["results"]) == 2
        unread = line["results"][settings.reader_results if read else 0:]
        assert all(r["answer"] is None for r in unread)


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_reader_off_serves_without_reading(seed_index_dir, tmp_path):
    import httpx

    from eval.bench.server import free_port

    port = free_port()
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen([*QA, "serve", "--port", str(port), "--index-dir", str(seed_index_dir),
                                   "--reader", "off"], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while not _answers(f"{url}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        for params in ({"q": ANSWERED}, {"q": ANSWERED, "reader": "true"}):  # the server has no reader to ask
            body = httpx.get(f"{url}/api/search", params=params, timeout=60).json()
            assert body["read"] is False and all(r["answer"] is None for r in body["results"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_corrupt_reader_graph_is_a_one_line_error_naming_it_and_the_rebuild_command(seed_index_dir, embedder,
                                                                                      tmp_path):
    """A private cache whose model folder links to the real one, but whose reader graph is damaged."""
    from index.read.graph import read_config, reader_dir

    model_dir = embedder.model_dir
    cache = tmp_path / "cache"
    models = cache / "models"
    (models / model_dir.name).mkdir(parents=True)
    (models / "source-sha256.json").write_bytes((model_dir.parent / "source-sha256.json").read_bytes())
    broken = reader_dir(models / model_dir.name, read_config())
    for entry in model_dir.iterdir():
        if not entry.name.startswith("reader-"):
            (models / model_dir.name / entry.name).symlink_to(entry)
    broken.mkdir()
    (broken / "graphs.json").write_text(json.dumps({"int8": "0" * 64}))
    (broken / "int8.onnx").write_bytes(b"damaged")
    proc = subprocess.run([*QA, "search", "嘉兴经开区党委书记是谁", "--index-dir", str(seed_index_dir)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "QA_CACHE_DIR": str(cache)})
    assert_one_line_error(proc, "int8.onnx")
    assert "qa build-reader" in proc.stderr
    assert (broken / "int8.onnx").read_bytes() == b"damaged"  # reported, not silently replaced or skipped


def test_index_help_offers_resume():
    proc = qa("index", "--help")
    assert proc.returncode == 0 and "--resume" in proc.stdout and "interrupted build" in proc.stdout

"""Loading a corpus from folders and JSONL, with problems reported by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.ingest.documents import CorpusError, load_corpus
from index.settings import REPO_ROOT


def test_bundled_corpus_loads_with_metadata():
    result = load_corpus(REPO_ROOT / "corpus")
    assert result.problems == []
    ids = [d.doc_id for d in result.documents]
    assert ids == sorted(ids) and len(ids) == 5 and "README" not in ids
    city = next(d for d in result.documents if d.doc_id == "003_aa809658476baa4e")
    assert city.title == "招商引资，嘉兴绘就“一路繁花”"
    assert city.date == "2025-01-06" and city.source == "嘉兴市投资促进中心"


def test_folder_problems_are_reported_and_do_not_stop_others(tmp_path: Path):
    (tmp_path / "good.txt").write_text("嘉兴是一座城市。", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes("第一行\n嘉兴".encode("gbk"))
    (tmp_path / "good.meta.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("ignored", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good"]
    assert result.documents[0].title == "嘉兴是一座城市。"  # metadata broken: first line
    messages = {Path(p.path).name: str(p) for p in result.problems}
    assert "empty after cleaning" in messages["empty.txt"]
    assert "not valid UTF-8" in messages["gbk.txt"] and "gbk.txt:1" in messages["gbk.txt"]
    assert "invalid JSON" in messages["good.meta.json"]


def test_nested_folders_give_path_ids(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.md").write_text("# 标题\n正文。", encoding="utf-8")
    (tmp_path / "x.txt").write_text("另一篇。", encoding="utf-8")
    assert sorted(d.doc_id for d in load_corpus(tmp_path).documents) == ["a/x", "x"]


def test_jsonl_records_and_malformed_lines(tmp_path: Path):
    lines = [
        json.dumps({"id": "d1", "title": "T1", "text": "第一篇文章。", "date": "2024"}, ensure_ascii=False),
        "{broken",
        json.dumps({"id": "d2"}),
        json.dumps(["not", "an", "object"]),
        "",
        json.dumps({"id": "d1", "text": "重复的编号。"}, ensure_ascii=False),
        json.dumps({"id": 7, "text": "数字编号。"}, ensure_ascii=False),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = load_corpus(path)
    assert [(d.doc_id, d.title) for d in result.documents] == [("d1", "T1"), ("7", "数字编号。")]
    assert result.documents[0].date == "2024"
    by_line = {p.line: p.message for p in result.problems}
    assert set(by_line) == {2, 3, 4, 6}
    assert "invalid JSON" in by_line[2] and '"text"' in by_line[3] and "duplicate" in by_line[6]


def test_cmrc_passages_load_with_record_ids():
    path = REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018_dev" / "passages.jsonl"
    result = load_corpus(path)
    assert len(result.documents) == 848 and result.problems == []
    assert result.documents[0].doc_id == "DEV_0" and result.documents[0].title == "战国无双3"


def test_unusable_corpus_paths_raise_clear_errors(tmp_path: Path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "missing")
    with pytest.raises(CorpusError, match="no documents"):
        load_corpus(tmp_path)
    (tmp_path / "x.pdf").write_text("x")
    with pytest.raises(CorpusError, match="folder of .txt/.md"):
        load_corpus(tmp_path / "x.pdf")


def test_lone_surrogates_are_repaired_with_a_warning_and_the_rest_loads(tmp_path: Path):
    # JSON escapes can spell lone surrogates, which no tokenizer, embedder or UTF-8 writer accepts.
    lines = [
        '{"id": "a", "text": "x\\udc00。"}',
        '{"id": "b\\ud800", "title": "T\\udfff", "source": "S\\ud800", "date": "2024\\udc00", "text": "南湖。"}',
        json.dumps({"id": "c", "text": "嘉兴。"}, ensure_ascii=False),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = load_corpus(path)
    docs = {d.doc_id: d for d in result.documents}
    assert set(docs) == {"a", "b\ufffd", "c"}
    assert docs["a"].text == "x\ufffd。"
    assert (docs["b\ufffd"].title, docs["b\ufffd"].source, docs["b\ufffd"].date) == ("T\ufffd", "S\ufffd", "2024\ufffd")
    for doc in result.documents:  # everything is writable as UTF-8 now
        for value in (doc.doc_id, doc.title, doc.text, doc.source, doc.date):
            value.encode("utf-8")
    by_line = {p.line: str(p) for p in result.problems}
    assert set(by_line) == {1, 2}
    assert f"{path}:1: lone surrogate" in by_line[1] and "text" in by_line[1]
    assert all(name in by_line[2] for name in ("id", "title", "source", "date"))


def test_lone_surrogates_in_a_sidecar_are_repaired(tmp_path: Path):
    (tmp_path / "a.txt").write_text("嘉兴是一座城市。", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"title": "标题\\udc00", "source": "来源"}', encoding="utf-8")
    result = load_corpus(tmp_path)
    assert result.documents[0].title == "标题\ufffd" and result.documents[0].source == "来源"
    assert [Path(p.path).name for p in result.problems] == ["a.meta.json"]
    assert "title" in result.problems[0].message


def test_metadata_from_sidecars_and_records_keeps_every_key(tmp_path: Path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("嘉兴新区种了三千棵银杏树。", encoding="utf-8")
    (folder / "a.meta.json").write_text(json.dumps(
        {"title": "银杏", "date": "2026-01", "dept": "园林", "tags": ["绿化", "新区"], "pages": 3}), encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "r1", "text": "第一条。", "metadata": {"dept": "财政", "source": "内部", "level": 2}},
        {"id": "r2", "text": "第二条。", "source": "外部", "metadata": {"source": "内部"}},  # the field wins
        {"id": "r3", "text": "第三条。", "metadata": ["not", "an", "object"]},
        {"id": "r4", "text": "第四条。", "metadata": {"big": "长" * 3000}},
    ]) + "\n", encoding="utf-8")
    loaded = load_corpus(folder)
    by_id = {d.doc_id: d for d in loaded.documents}
    assert by_id["a"].metadata == {"title": "银杏", "date": "2026-01", "dept": "园林", "tags": ["绿化", "新区"],
                                   "pages": 3}
    assert by_id["r1"].metadata == {"title": "第一条。", "source": "内部", "dept": "财政", "level": 2}
    assert by_id["r2"].source == "外部"
    assert "r3" not in by_id and "r4" not in by_id  # a bad metadata object skips its record, not the file
    messages = [str(p) for p in loaded.problems]
    assert any(":3: metadata must be a JSON object" in m for m in messages)
    assert any(":4: metadata is" in m and "over the 8192 allowed" in m for m in messages)


def test_a_bad_sidecar_object_is_ignored_with_a_problem(tmp_path: Path):
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(json.dumps({"note": "长" * 3000}), encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert loaded.documents[0].extra == {} and "over the 8192 allowed" in str(loaded.problems[0])

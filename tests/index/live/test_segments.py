"""Segments: an update writes only what changed, compaction keeps the ranking, a reload reuses what it had."""

from __future__ import annotations

import shutil

import numpy as np

from index.ingest.documents import Document, load_corpus
from index.live import add_documents, remove_documents
from index.search import Searcher
from index.store import SEGMENTS, load_index, read_manifest
from tests.conftest import SEED_CORPUS


def _articles(n: int) -> list[Document]:
    text = "嘉兴第{i}号新区今年建成{i}座桥梁和一座博物馆。博物馆收藏了{n}件文物。"
    return [Document(f"art-{i}", f"第{i}篇", text.format(i=i, n=i * 7) * 3) for i in range(n)]


def _bm25_by_passage(index, tokens: list[str]) -> dict[tuple[str, int, int], float]:
    scores = index.lexical.scores(tokens)
    return {(p.doc_id, p.start, p.end): float(s) for p, s in zip(index.passages, scores, strict=True)}


def _vectors_by_passage(index) -> dict[tuple[str, int, int], np.ndarray]:
    vectors = index.dense.index.reconstruct_n(0, len(index.dense))
    return {(p.doc_id, p.start, p.end): v for p, v in zip(index.passages, vectors, strict=True)}


def _changes(index_dir, settings, embedder) -> list:
    first = load_corpus(SEED_CORPUS).documents[0]
    reports = []
    for article in _articles(5):
        reports.append(add_documents(index_dir, [article], settings, embedder, progress=False))
    reports.append(remove_documents(index_dir, ["art-1", first.doc_id], settings))
    reports.append(add_documents(index_dir, [Document("art-3", "第3篇（改）", "嘉兴第3号新区改建了一座码头。" * 4)],
                                 settings, embedder, progress=False))
    return reports


def test_compacted_and_uncompacted_indexes_hold_and_rank_the_same(index_copy, tmp_path, settings, embedder):
    other = tmp_path / "other"
    shutil.copytree(index_copy, other)
    lazy = settings.model_copy(update={"live_max_segments": 100, "live_max_deleted_fraction": 1.0})
    eager = settings.model_copy(update={"live_max_segments": 2, "live_max_deleted_fraction": 0.001})
    _changes(index_copy, lazy, embedder)
    reports = _changes(other, eager, embedder)
    kept, compacted = read_manifest(index_copy), read_manifest(other)
    # base + 6 new segments, less the two nothing is left of (art-1 removed, the first art-3 replaced)
    first = load_corpus(SEED_CORPUS).documents[0].doc_id
    assert len(kept["segments"]) == 5 and kept["segments"][0]["deleted"] == [first]
    assert len(compacted["segments"]) <= 2 and not any(e["deleted"] for e in compacted["segments"])
    assert sum(r.compacted for r in reports) > 0
    assert sorted(p.name for p in (other / SEGMENTS).iterdir()) == sorted(e["name"] for e in compacted["segments"])
    a, b = (load_index(d, read_manifest(d)["model"]) for d in (index_copy, other))
    assert a.documents == b.documents and a.documents["art-3"].title == "第3篇（改）" and "art-1" not in a.documents
    assert kept["counts"] == compacted["counts"] == {"documents": len(a.documents), "passages": len(a.passages)}
    assert a.lexical.doc_freq == b.lexical.doc_freq
    for tokens in (["嘉兴", "博物馆"], ["码头", "新区", "新区"], ["南湖", "文物", "桥梁"]):
        assert _bm25_by_passage(a, tokens) == _bm25_by_passage(b, tokens)
    va, vb = _vectors_by_passage(a), _vectors_by_passage(b)
    assert va.keys() == vb.keys() and all(np.array_equal(va[k], vb[k]) for k in va)
    sa, sb = (Searcher(index, embedder, settings) for index in (a, b))
    for question in ("嘉兴第4号新区建成了几座桥梁？", "博物馆收藏了多少件文物", "南湖在哪里"):
        assert [(r.doc_id, r.start) for r in sa.search(question, k=3).results] == \
            [(r.doc_id, r.start) for r in sb.search(question, k=3).results]


def test_compaction_keeps_a_replaced_document_once_with_its_new_text(index_copy, settings, embedder):
    """The replaced copy is removed in the old segment and alive in the new one; merging both keeps the new."""
    eager = settings.model_copy(update={"live_max_segments": 1, "live_max_deleted_fraction": 0.001})
    old = load_corpus(SEED_CORPUS).documents[0]
    new = Document(old.doc_id, old.title, old.text + "\n嘉兴新建了一座天文台。")
    report = add_documents(index_copy, [new], eager, embedder, progress=False)
    manifest = read_manifest(index_copy)
    assert report.replaced == [old.doc_id] and report.compacted == 2
    assert len(manifest["segments"]) == 1 and not manifest["segments"][0]["deleted"]
    index = load_index(index_copy, manifest["model"])
    assert index.documents[old.doc_id].text.endswith("天文台。") and len(index.documents) == 5
    assert all(index.documents[p.doc_id].text[p.start:p.end] == p.text for p in index.passages)


def test_an_update_leaves_the_other_segments_files_untouched(index_copy, settings, embedder):
    before = read_manifest(index_copy)
    base = index_copy / SEGMENTS / before["segments"][0]["name"]
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in base.iterdir()}
    add_documents(index_copy, _articles(1), settings, embedder, progress=False)
    remove_documents(index_copy, [load_corpus(SEED_CORPUS).documents[1].doc_id], settings)
    after = read_manifest(index_copy)
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in base.iterdir()} == stamps
    assert all(after["files"][name] == entry for name, entry in before["files"].items())
    assert len(after["segments"]) == 2 and after["segments"][0]["deleted"]
    assert "corpus_fingerprint" not in after and after["counts"]["documents"] == before["counts"]["documents"]


def test_a_reload_reuses_the_segments_it_had_and_equals_a_whole_load(index_copy, settings, embedder):
    model = read_manifest(index_copy)["model"]
    served = load_index(index_copy, model)
    add_documents(index_copy, _articles(2), settings, embedder, progress=False)
    remove_documents(index_copy, ["art-0"], settings)
    reloaded = load_index(index_copy, model, previous=served)
    whole = load_index(index_copy, model)
    base = read_manifest(index_copy)["segments"][0]["name"]
    assert reloaded.segments[base] is served.segments[base] and whole.segments[base] is not served.segments[base]
    assert [(p.doc_id, p.start) for p in reloaded.passages] == [(p.doc_id, p.start) for p in whole.passages]
    assert np.array_equal(reloaded.sentence_vectors, whole.sentence_vectors)
    assert np.array_equal(reloaded.lexical.scores(["嘉兴", "桥梁"]), whole.lexical.scores(["嘉兴", "桥梁"]))
    assert "art-1" in reloaded.documents and "art-0" not in reloaded.documents


def test_a_killed_writers_leftovers_are_removed_by_the_next_writer_and_nothing_else(index_copy, settings, embedder):
    stray = index_copy / SEGMENTS / "000099"
    stray.mkdir()
    (stray / "vectors.npy").write_bytes(b"half written")
    (index_copy / ".manifest.json.123-456.tmp").write_text("{")
    (index_copy / "notes.txt").write_text("mine")
    assert load_index(index_copy, read_manifest(index_copy)["model"]).manifest["counts"]["documents"] == 5
    add_documents(index_copy, _articles(1), settings, embedder, progress=False)
    assert not stray.exists() and not list(index_copy.glob(".manifest.json.*"))
    assert (index_copy / "notes.txt").read_text() == "mine"


def test_at_hnsw_size_adds_extend_the_graph_and_removes_rebuild_it(index_copy, settings, embedder):
    small = settings.model_copy(update={"hnsw_threshold": 50})
    add_documents(index_copy, _articles(1), small, embedder, progress=False)  # rebuilt: the base had no graph
    add_documents(index_copy, _articles(2)[1:], small, embedder, progress=False)  # appended to it
    first = read_manifest(index_copy)
    assert first["dense_index"] == "hnsw" and (index_copy / first["dense_file"]).is_file()
    grown = load_index(index_copy, first["model"])
    assert len(grown.dense) == first["counts"]["passages"]
    assert grown.dense.search(grown.dense.index.reconstruct(len(grown.dense) - 1), 1)[0][0] == len(grown.dense) - 1
    remove_documents(index_copy, ["art-0"], small)
    second = read_manifest(index_copy)
    assert second["dense_file"] != first["dense_file"] and not (index_copy / first["dense_file"]).exists()
    index = load_index(index_copy, second["model"])
    assert index.dense.kind == "hnsw" and len(index.dense) == len(index.passages) == second["counts"]["passages"]
    searcher = Searcher(index, embedder, small)
    assert searcher.search("嘉兴经开区党委书记是谁", k=3).results

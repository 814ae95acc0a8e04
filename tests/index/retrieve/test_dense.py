"""The dense index at large-index size, on a few thousand vectors (a tiny hnsw_threshold): the type
chosen (HNSW over float16 vectors), search against exact, filters by exact scan and by IDSelector,
save and load through the manifest (and an older float32 HNSW index), and a live add."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from index.build import index_manifest_fields
from index.ingest.chunking import Passage
from index.ingest.documents import Document
from index.live import add_documents
from index.retrieve.dense import DenseIndex, make_faiss_index, storage_kind
from index.retrieve.lexical import LexicalIndex
from index.store import MANIFEST, load_index, read_manifest, write_index

N, DIM = 3000, 32


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def dense(vectors) -> DenseIndex:
    return DenseIndex.build(vectors, hnsw_threshold=1000, hnsw_m=16, ef_search=64, ef_construction=40)


def _exact(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
    ids = np.arange(len(vectors)) if allowed is None else allowed
    return ids[np.argsort(-(vectors[ids] @ query), kind="stable")[:k]].tolist()


def test_the_type_is_chosen_by_size():
    assert isinstance(make_faiss_index(DIM, 999, 1000, 16), faiss.IndexFlatIP)
    large = make_faiss_index(DIM, 1000, 1000, 16, ef_construction=40, storage="fp16")
    assert isinstance(large, faiss.IndexHNSWSQ) and storage_kind(large) == "fp16"
    assert large.hnsw.efConstruction == 40 and large.hnsw.nb_neighbors(1) == 16
    assert isinstance(make_faiss_index(DIM, 1000, 1000, 16, storage="fp32"), faiss.IndexHNSWFlat)
    with pytest.raises(ValueError):
        make_faiss_index(DIM, 1000, 1000, 16, storage="int4")


def test_search_finds_the_exact_neighbours(dense, vectors):
    assert dense.kind == "hnsw" and len(dense) == N
    assert dense.describe() == {"type": "IndexHNSWSQ", "storage": "fp16", "m": 16, "ef_construction": 40,
                                "ef_search": 64}
    found = [[i for i, _ in dense.search(vectors[q], 10)] for q in range(20)]
    recall = np.mean([len(set(f) & set(_exact(vectors, vectors[q], 10))) / 10 for q, f in enumerate(found)])
    assert recall >= 0.95
    hits = dense.search(vectors[5], 100)  # k above ef_search: the walk keeps k candidates
    assert len(hits) == 100 and hits[0][0] == 5 and abs(hits[0][1] - 1.0) < 1e-3


def test_stored_vectors_are_float16_and_the_build_keeps_its_own(dense, vectors):
    assert np.array_equal(dense.vectors(), vectors)  # what a segment is written with: not rounded
    ids = np.array([0, 17, 2999])
    assert np.abs(dense.vectors_of(ids) - vectors[ids]).max() < 1e-3
    assert dense.vectors_of(ids).dtype == np.float32
    assert np.allclose(dense.cosines(vectors[3], [3, 4]), vectors[[3, 4]] @ vectors[3], atol=1e-3)


def test_a_small_selection_is_scanned_exactly(dense, vectors, monkeypatch):
    rng = np.random.default_rng(1)
    allowed = np.sort(rng.choice(N, size=50, replace=False)).astype(np.int64)
    query = vectors[allowed[3]]
    scanned = []
    monkeypatch.setattr(dense, "_exact", lambda *a, _f=dense._exact: scanned.append(1) or _f(*a))
    hits = dense.search(query, 10, allowed, exact_below=100)
    decoded = dense.vectors_of(allowed)
    assert scanned and [i for i, _ in hits] == allowed[np.argsort(-(decoded @ query), kind="stable")[:10]].tolist()
    assert hits[0][0] == allowed[3]
    assert dense.search(query, 10, np.zeros(0, dtype=np.int64), exact_below=100) == []


def test_a_larger_exact_selection_is_scanned_by_faiss(dense, vectors, monkeypatch):
    monkeypatch.setattr("index.retrieve.dense.EXACT_GATHER_ROWS", 100)
    allowed = np.arange(1, N, 3, dtype=np.int64)  # 1000 passages: over 100, scanned through the bitmap
    decoded = dense.vectors_of(allowed)
    for q in (1, 2, 7):
        hits = dense.search(vectors[q], 10, allowed, exact_below=1000)
        assert [i for i, _ in hits] == allowed[np.argsort(-(decoded @ vectors[q]), kind="stable")[:10]].tolist()


def test_the_exact_cut_is_also_a_share_of_the_passages(vectors, monkeypatch):
    shared = DenseIndex.build(vectors, 1000, 16, 64, 40, "fp16")
    allowed = np.arange(0, N, 10, dtype=np.int64)  # 300 passages, 10% of them
    scanned = []
    monkeypatch.setattr(shared, "_exact", lambda *a, _f=shared._exact: scanned.append(1) or _f(*a))
    shared.exact_share = 0.05
    shared.search(vectors[0], 10, allowed, exact_below=0)
    assert not scanned  # 300 > 5% of 3000: the selector
    shared.exact_share = 0.1
    hits = shared.search(vectors[0], 10, allowed, exact_below=0)
    assert scanned and hits[0][0] == 0


def test_a_larger_selection_goes_through_the_selector(dense, vectors):
    rng = np.random.default_rng(2)
    allowed = np.sort(rng.choice(N, size=900, replace=False)).astype(np.int64)
    dense = DenseIndex(dense.index, 64, exact_share=0.0)
    recall = []
    for q in range(10):
        hits = dense.search(vectors[q], 10, allowed, exact_below=0)
        assert len(hits) == 10 and set(i for i, _ in hits) <= set(allowed.tolist())  # nothing outside
        recall.append(len(set(i for i, _ in hits) & set(_exact(vectors, vectors[q], 10, allowed))) / 10)
    assert np.mean(recall) >= 0.9


def _write(index_dir, vectors, settings, embedder, storage: str):
    """A synthetic index of len(vectors) passages (10 per document) at HNSW size, written as qa index would."""
    documents, passages, tokens = [], [], []
    for d in range(0, len(vectors), 10):
        doc_id, text = f"d{d // 10:04d}", ""
        for ordinal in range(min(10, len(vectors) - d)):
            sentence = f"第{d + ordinal}句话。"
            passages.append(Passage(doc_id, ordinal, len(text), len(text) + len(sentence), sentence))
            tokens.append([f"词{d + ordinal}"])
            text += sentence + "\n"
        documents.append(Document(doc_id, f"文档{d}", text))
    dense = DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search,
                             settings.hnsw_ef_construction, storage)
    fields = {**index_manifest_fields(settings, embedder.dim, embedder.fingerprint), "corpus_path": "synthetic"}
    return write_index(index_dir, documents, passages, dense, LexicalIndex.build(tokens),
                       [v[None, :].astype(np.float16) for v in vectors], tokens, fields)


@pytest.fixture(scope="module")
def real_sized(embedder) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, embedder.dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_save_load_and_a_live_add_through_the_manifest(tmp_path, real_sized, settings, embedder):
    small = settings.model_copy(update={"hnsw_threshold": 100, "hnsw_m": 16, "hnsw_ef_construction": 40})
    manifest = _write(tmp_path / "index", real_sized, small, embedder, "fp16")
    assert manifest["dense_index"] == "hnsw" and manifest["dense_file"]
    assert manifest["dense"] == {"type": "IndexHNSWSQ", "storage": "fp16", "m": 16, "ef_construction": 40,
                                 "ef_search": small.hnsw_ef_search}
    loaded = load_index(tmp_path / "index", manifest["model"], ef_search=100)
    assert loaded.dense.kind == "hnsw" and storage_kind(loaded.dense.index) == "fp16"
    assert loaded.dense.index.hnsw.efSearch == 100 and len(loaded.dense) == 400
    assert loaded.dense.search(real_sized[7], 1)[0][0] == 7
    segment = next(iter(loaded.segments.values()))
    assert np.array_equal(segment.vectors, real_sized)  # the segment keeps the float32 vectors

    add_documents(tmp_path / "index", [Document("new", "新文章", "嘉兴新建了一座博物馆。" * 20)], small, embedder,
                  progress=False)
    grown = read_manifest(tmp_path / "index")
    assert grown["dense"]["type"] == "IndexHNSWSQ" and grown["dense_file"] != manifest["dense_file"]
    index = load_index(tmp_path / "index", grown["model"])
    assert len(index.dense) == len(index.passages) == grown["counts"]["passages"] > 400
    last = len(index.dense) - 1
    assert index.dense.search(index.dense.vectors_of(np.array([last]))[0], 1)[0][0] == last
    only = np.array([3, 4, last], dtype=np.int64)
    assert {i for i, _ in index.dense.search(real_sized[4], 3, only, exact_below=10)} == set(only.tolist())


def test_an_older_float32_hnsw_index_still_loads_and_takes_adds(tmp_path, real_sized, settings, embedder):
    small = settings.model_copy(update={"hnsw_threshold": 100, "hnsw_m": 16, "hnsw_ef_construction": 40})
    _write(tmp_path / "index", real_sized, small, embedder, "fp32")
    path = tmp_path / "index" / MANIFEST
    old = json.loads(path.read_text())
    del old["dense"]  # as written before the manifest recorded the type
    path.write_text(json.dumps(old))
    loaded = load_index(tmp_path / "index", old["model"])
    assert isinstance(loaded.dense.index, faiss.IndexHNSWFlat) and loaded.dense.kind == "hnsw"
    only = np.arange(10, 20, dtype=np.int64)
    assert [i for i, _ in loaded.dense.search(real_sized[12], 1, only, exact_below=10)] == [12]
    add_documents(tmp_path / "index", [Document("new", "新文章", "嘉兴新建了一座博物馆。" * 20)], small, embedder,
                  progress=False)
    grown = read_manifest(tmp_path / "index")
    assert grown["dense"]["type"] == "IndexHNSWFlat" and grown["dense"]["storage"] == "fp32"
    assert len(load_index(tmp_path / "index", grown["model"]).dense) == grown["counts"]["passages"]

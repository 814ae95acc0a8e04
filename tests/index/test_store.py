"""The index directory: manifest checks on load, and atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.search import Searcher
from index.store import (
    FORMAT_VERSION,
    MANIFEST,
    IndexLoadError,
    NotAnIndexError,
    atomic_directory,
    check_replaceable,
    read_manifest,
)


def test_manifest_records_what_built_the_index(seed_index_dir: Path, embedder, settings):
    manifest = read_manifest(seed_index_dir)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["name"] == settings.model_name
    assert manifest["model"]["weights_sha256"] == embedder.fingerprint["weights_sha256"]
    assert manifest["counts"]["documents"] == 5 and manifest["counts"]["passages"] > 50
    assert manifest["chunking"]["max_chars"] == settings.max_passage_chars
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["dense_index"] == "flat"
    segment = manifest["segments"][0]["name"]
    assert [e["name"] for e in manifest["segments"]] == [segment] and manifest["dense_file"] is None
    files = ("documents.jsonl", "passages.jsonl", "vectors.npy", "sentence_vectors.npy", "terms.npz", "vocab.json")
    assert {f"segments/{segment}/{f}" for f in files} == set(manifest["files"])
    assert sum(manifest["segments"][0]["documents"].values()) == manifest["counts"]["passages"]


def test_every_passage_has_a_vector_per_sentence(searcher):
    """Sentence vectors line up with the sentences the ranking stage splits, and point the same way
    as their passage (they are pooled from the passage's own forward pass)."""
    index = searcher.index
    assert index.sentence_start[-1] == len(index.sentence_vectors)
    for passage_id in range(0, len(index.passages), 7):
        vectors = index.sentences_of(passage_id).astype("float32")
        assert len(vectors) == len(searcher.reranker.views[passage_id].sentences)
        norms = (vectors ** 2).sum(axis=1) ** 0.5
        assert abs(norms - 1).max() < 0.01
        passage_vector = index.dense.index.reconstruct(passage_id)
        assert (vectors @ passage_vector).min() > 0.6


SEGMENT = "segments/000001"  # the one segment of a full build


def _open(index_dir: Path, settings, embedder) -> Searcher:
    return Searcher.open(index_dir, settings, embedder)


def test_missing_index_says_how_to_rebuild(tmp_path, settings, embedder):
    with pytest.raises(IndexLoadError, match=r"does not exist; rebuild it with: qa index --index-dir"):
        _open(tmp_path / "none", settings, embedder)
    with pytest.raises(IndexLoadError, match="has no manifest.json"):
        _open(tmp_path, settings, embedder)


def test_missing_file_is_named(index_copy, settings, embedder):
    (index_copy / SEGMENT / "vectors.npy").unlink()
    with pytest.raises(IndexLoadError, match=f"missing the file {SEGMENT}/vectors.npy"):
        _open(index_copy, settings, embedder)


def test_corrupt_file_is_named(index_copy, settings, embedder):
    path = index_copy / SEGMENT / "passages.jsonl"
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match=f"corrupt file {SEGMENT}/passages.jsonl"):
        _open(index_copy, settings, embedder)


def test_corrupt_manifest(index_copy, settings, embedder):
    (index_copy / MANIFEST).write_text("{truncated")
    with pytest.raises(IndexLoadError, match="corrupt manifest.json"):
        _open(index_copy, settings, embedder)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("format_version", 999, "format version 999"),
    ("model", {"name": "other-model", "weights_sha256": "x"}, "different embedding model"),
    ("tokenizer_version", 1, "tokenized by another version"),
])
def test_stale_manifest(index_copy, settings, embedder, field, value, message):
    manifest = json.loads((index_copy / MANIFEST).read_text())
    manifest[field] = value
    (index_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match=message):
        _open(index_copy, settings, embedder)


def _write_minimal_index(staging: Path, version: str) -> None:
    (staging / "v").write_text(version)
    (staging / MANIFEST).write_text(json.dumps({"format_version": FORMAT_VERSION, "files": {}}))


def test_failed_build_leaves_the_old_index_untouched(tmp_path: Path):
    target = tmp_path / "idx"
    with atomic_directory(target) as staging:
        _write_minimal_index(staging, "1")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        _write_minimal_index(staging, "2")
        raise RuntimeError("crash mid-build")
    assert (target / "v").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no staging left behind


def test_successful_build_replaces_the_old_index(tmp_path: Path):
    target = tmp_path / "idx"
    for version in ("1", "2"):
        with atomic_directory(target) as staging:
            _write_minimal_index(staging, version)
    assert (target / "v").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_a_folder_that_is_not_an_index_is_never_replaced(tmp_path: Path):
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "thesis.txt").write_text("precious")
    with pytest.raises(NotAnIndexError, match="refusing to write an index into"), atomic_directory(target) as staging:
        (staging / "v").write_text("1")
    assert (target / "thesis.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # no staging left behind


def test_an_index_that_lost_its_manifest_is_not_replaced(index_copy: Path):
    (index_copy / MANIFEST).unlink()
    with pytest.raises(NotAnIndexError), atomic_directory(index_copy):
        pass
    assert (index_copy / SEGMENT / "passages.jsonl").is_file()


def test_a_file_is_not_replaced(tmp_path: Path):
    target = tmp_path / "notes.txt"
    target.write_text("precious")
    with pytest.raises(NotAnIndexError, match="not a folder"):
        check_replaceable(target)
    assert target.read_text() == "precious"


def test_an_empty_folder_or_one_of_our_indexes_may_be_replaced(tmp_path: Path, index_copy: Path):
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    check_replaceable(tmp_path / "absent")
    check_replaceable(index_copy)

"""The reader's files: a missing or corrupt one is a clear error naming it and what restores it."""

from __future__ import annotations

import json
import shutil

import pytest

from index.read.graph import (
    READER_CONFIG,
    READER_DELTA,
    ReaderFileError,
    check_reader_graphs,
    ensure_reader_graphs,
    read_config,
    read_delta,
)
from index.read.reader import Reader


@pytest.fixture(scope="module")
def graphs(embedder):
    return ensure_reader_graphs(embedder.model_dir)


def test_the_committed_delta_is_small_and_matches_its_settings():
    assert READER_DELTA.stat().st_size < 25_000_000  # the limit for git
    delta = read_delta()
    assert {"head.w", "head.b"} <= set(delta)
    layers = read_config()["layers"]
    assert all(int(name.split(".")[0][1:]) < layers for name in delta if name.startswith("l"))


def test_a_missing_delta_names_the_file_and_the_command(tmp_path):
    with pytest.raises(ReaderFileError, match=r"missing.*qa train-reader"):
        read_delta(tmp_path / "reader-delta.safetensors", read_config())


def test_a_corrupt_delta_is_refused(tmp_path):
    broken = tmp_path / READER_DELTA.name
    data = bytearray(READER_DELTA.read_bytes())
    data[-100] ^= 0xFF
    broken.write_bytes(bytes(data))
    with pytest.raises(ReaderFileError, match=r"corrupt.*git checkout"):
        read_delta(broken, read_config())


def test_corrupt_settings_are_refused(tmp_path):
    bad = tmp_path / READER_CONFIG.name
    bad.write_text("{not json")
    with pytest.raises(ReaderFileError, match="reader.json"):
        read_config(bad)
    bad.write_text(json.dumps({"layers": 8}))
    with pytest.raises(ReaderFileError, match="missing or corrupt"):
        read_config(bad)


def test_a_corrupt_graph_names_the_file_and_the_rebuild_command(graphs, tmp_path):
    copy = tmp_path / graphs.name
    shutil.copytree(graphs, copy)
    data = bytearray((copy / "int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "int8.onnx").write_bytes(bytes(data))
    with pytest.raises(ReaderFileError, match=r"int8\.onnx.*qa build-reader"):
        check_reader_graphs(copy)


def test_an_unloadable_graph_is_a_reader_error(graphs, tmp_path, settings):
    copy = tmp_path / graphs.name
    copy.mkdir()
    (copy / "int8.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(ReaderFileError, match="qa build-reader"):
        Reader(copy, "int8", settings)

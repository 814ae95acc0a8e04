"""`qa index --backend milvus --resume` on real Milvus Lite: a Milvus build saves its embedding
batches as a local build does, and an interrupted one resumes embedding only the rest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.build import prepare
from index.build_checkpoint import BATCH_FILE
from index.ingest.documents import load_corpus
from index.retrieve.backends import backend_of
from index.retrieve.backends.milvus import LITE_FILE, disconnect, resolve_uri
from index.retrieve.backends.milvus_write import build_milvus_index
from index.search import Searcher
from tests.conftest import SEED_CORPUS

BATCH = 4  # passages per checkpoint batch in these tests
QA = str(Path(sys.executable).with_name("qa"))


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One article of the seed corpus (a few dozen passages)."""
    folder = tmp_path_factory.mktemp("corpus")
    stem = sorted({p.name.split(".")[0] for p in SEED_CORPUS.glob("*.txt")})[-1]
    for path in SEED_CORPUS.glob(f"{stem}.*"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def small(settings, tmp_path):
    return settings.model_copy(update={"build_checkpoint_passages": BATCH, "build_checkpoints": tmp_path / "ckpt"})


def batch_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.build_checkpoints).glob("*/*") if BATCH_FILE.fullmatch(p.name))


def test_an_interrupted_milvus_build_resumes_embedding_only_the_rest(corpus, small, settings, embedder, tmp_path):
    def interrupt(number: int, start: int, end: int) -> None:
        if number + 1 == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_milvus_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt)
    assert len(batch_files(small)) == 2 and not (tmp_path / "idx").exists()

    embedded: list[int] = []
    report = build_milvus_index(corpus, tmp_path / "idx", small, embedder, progress=False, resume=True,
                                on_batch=lambda number, start, end: embedded.extend(range(start, end)))
    assert report.reused_passages == 2 * BATCH and embedded == list(range(2 * BATCH, report.passages))
    assert not any(Path(small.build_checkpoints).iterdir())  # deleted once the index is written

    reference = prepare(load_corpus(corpus).documents, settings, embedder, progress=False)
    searcher = Searcher.open(tmp_path / "idx", settings, embedder)
    try:
        assert backend_of(tmp_path / "idx") == "milvus" and len(searcher.index.passages) == len(reference.vectors)
        query = embedder.embed_query("嘉兴有哪些名胜？")
        ids = list(range(len(reference.vectors)))
        assert np.allclose(searcher.retriever.dense_cosines(query, ids), reference.vectors @ query, atol=1e-5)
        for i in (0, len(ids) - 1):
            stored = searcher.index.sentences_of(i)
            assert np.array_equal(stored, reference.sentence_vectors[i].astype(stored.dtype))
        assert searcher.search("嘉兴有哪些名胜？", 3, read=False).results
    finally:
        disconnect(resolve_uri(tmp_path / "idx", LITE_FILE))


def test_qa_index_accepts_resume_with_the_milvus_backend(corpus, small, tmp_path):
    env = {**os.environ, "QA_BUILD_CHECKPOINT_PASSAGES": str(BATCH),
           "QA_BUILD_CHECKPOINTS": str(small.build_checkpoints)}
    proc = subprocess.run([QA, "index", "--corpus", str(corpus), "--index-dir", str(tmp_path / "idx"),
                           "--backend", "milvus", "--resume", "--quiet"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert backend_of(tmp_path / "idx") == "milvus" and "Indexed 1 documents" in proc.stderr

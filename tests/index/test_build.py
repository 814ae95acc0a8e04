"""Full builds save their embedding batches: an interrupted build resumes and gives the same index."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index, prepare
from index.build_checkpoint import BATCH_FILE
from index.ingest.documents import load_corpus
from index.store import load_index, read_manifest
from tests.conftest import SEED_CORPUS

BATCH = 4  # passages per checkpoint batch in these tests


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two articles of the seed corpus (about 45 passages)."""
    folder = tmp_path_factory.mktemp("corpus")
    for stem in sorted({p.name.split(".")[0] for p in SEED_CORPUS.glob("*.txt")})[-2:]:
        for path in SEED_CORPUS.glob(f"{stem}.*"):
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def reference(corpus, settings, embedder):
    """The corpus embedded in one call, without any checkpoint."""
    prepared = prepare(load_corpus(corpus).documents, settings, embedder, progress=False)
    return prepared.vectors, prepared.sentence_vectors


@pytest.fixture
def small(settings, tmp_path):
    return settings.model_copy(update={"build_checkpoint_passages": BATCH, "build_checkpoints": tmp_path / "ckpt"})


def batch_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.build_checkpoints).glob("*/*") if BATCH_FILE.fullmatch(p.name))


def assert_same_vectors(index_dir: Path, reference) -> None:
    vectors, sentences = reference
    index = load_index(index_dir, read_manifest(index_dir)["model"])
    assert np.array_equal(index.dense.index.reconstruct_n(0, len(index.dense)), vectors)
    assert len(index.passages) == len(sentences)
    for i, expected in enumerate(sentences):
        stored = index.sentences_of(i)  # stored in float16
        assert np.array_equal(stored, expected.astype(stored.dtype)), i


def interrupt_after(batches: int):
    def hook(number: int, start: int, end: int) -> None:
        if number + 1 == batches:
            raise Interrupted
    return hook


def recorder(embedded: list[int]):
    return lambda number, start, end: embedded.extend(range(start, end))


def test_a_build_in_small_batches_gives_the_same_index_and_removes_its_checkpoint(corpus, reference, small,
                                                                                  embedder, tmp_path):
    embedded: list[int] = []
    report = build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=recorder(embedded))
    assert embedded == list(range(len(reference[0]))) and report.reused_passages == 0
    assert_same_vectors(tmp_path / "idx", reference)
    assert not any(Path(small.build_checkpoints).iterdir())


def test_an_interrupted_build_resumes_embedding_only_the_rest(corpus, reference, small, embedder, tmp_path,
                                                              capsys):
    with pytest.raises(Interrupted):
        build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt_after(2))
    assert len(batch_files(small)) == 2 and not (tmp_path / "idx").exists()

    embedded: list[int] = []
    report = build_index(corpus, tmp_path / "idx", small, embedder, progress=False, resume=True,
                         on_batch=recorder(embedded))
    total = len(reference[0])
    assert report.reused_passages == 2 * BATCH and embedded == list(range(2 * BATCH, total))
    assert f"Resuming: {2 * BATCH} of {total} passages" in capsys.readouterr().err
    assert_same_vectors(tmp_path / "idx", reference)
    assert not any(Path(small.build_checkpoints).iterdir())


def test_damaged_batches_are_embedded_again_not_trusted(corpus, reference, small, embedder, tmp_path, capsys):
    with pytest.raises(Interrupted):
        build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt_after(3))
    first, second, third = batch_files(small)
    second.write_bytes(second.read_bytes()[: second.stat().st_size // 2])  # cut off mid-write
    with np.load(first) as data:  # a whole file whose vectors no longer match its checksum
        arrays = dict(data)
    arrays["passages"][0, 0] += 0.5
    np.savez(first, **arrays)

    embedded: list[int] = []
    report = build_index(corpus, tmp_path / "idx", small, embedder, progress=False, resume=True,
                         on_batch=recorder(embedded))
    assert report.reused_passages == BATCH  # the third batch only
    assert embedded == [i for i in range(len(reference[0])) if not 2 * BATCH <= i < 3 * BATCH]
    assert capsys.readouterr().err.count("is damaged: embedding it again") == 2
    assert_same_vectors(tmp_path / "idx", reference)


def test_a_changed_corpus_never_reuses_the_checkpoint(corpus, small, embedder, settings, tmp_path, capsys):
    changed = tmp_path / "corpus"
    shutil.copytree(corpus, changed)
    with pytest.raises(Interrupted):
        build_index(changed, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt_after(2))
    article = sorted(changed.glob("*.txt"))[0]
    article.write_text("嘉兴新区今年种了三千棵银杏树。\n\n" + article.read_text(encoding="utf-8"), encoding="utf-8")

    embedded: list[int] = []
    report = build_index(changed, tmp_path / "idx", small, embedder, progress=False, resume=True,
                         on_batch=recorder(embedded))
    assert report.reused_passages == 0 and embedded == list(range(report.passages))
    assert "is for another corpus, model or batch size: not used" in capsys.readouterr().err
    # the stale checkpoint of this index folder went with the successful build
    assert not any(Path(small.build_checkpoints).iterdir())
    assert_same_vectors(tmp_path / "idx", (lambda p: (p.vectors, p.sentence_vectors))(
        prepare(load_corpus(changed).documents, settings, embedder, progress=False)))


def test_without_resume_a_build_starts_afresh(corpus, reference, small, embedder, tmp_path):
    with pytest.raises(Interrupted):
        build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt_after(2))
    embedded: list[int] = []
    report = build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=recorder(embedded))
    assert report.reused_passages == 0 and embedded == list(range(len(reference[0])))


def test_files_beside_the_checkpoint_are_never_deleted(corpus, small, embedder, tmp_path):
    with pytest.raises(Interrupted):
        build_index(corpus, tmp_path / "idx", small, embedder, progress=False, on_batch=interrupt_after(1))
    (folder,) = Path(small.build_checkpoints).iterdir()
    (folder / "notes.txt").write_text("mine")
    build_index(corpus, tmp_path / "idx", small, embedder, progress=False, resume=True)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_qa_index_killed_mid_build_resumes_with_the_flag(corpus, reference, tmp_path):
    """The real thing: `qa index` killed with SIGKILL once it saved a batch, then `qa index --resume`."""
    checkpoints = tmp_path / "ckpt"
    env = {**os.environ, "QA_BUILD_CHECKPOINTS": str(checkpoints), "QA_BUILD_CHECKPOINT_PASSAGES": "2"}
    command = [str(Path(sys.executable).with_name("qa")), "index", "--corpus", str(corpus),
               "--index-dir", str(tmp_path / "idx")]
    build = subprocess.Popen([*command, "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(checkpoints.glob("*/batch-*.npz")):
            assert build.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
    assert not (tmp_path / "idx").exists()

    proc = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    total = len(reference[0])
    reused = int(re.search(rf"Resuming: (\d+) of {total} passages", proc.stderr).group(1))
    assert 2 <= reused < total and f"{reused} passages reused from the interrupted build" in proc.stderr
    assert "Embedding" in proc.stderr and "passage/s" in proc.stderr  # the bar: its rate (and its ETA)
    assert_same_vectors(tmp_path / "idx", reference)
    assert not any(checkpoints.iterdir())

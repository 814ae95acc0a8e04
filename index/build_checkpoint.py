"""Resumable embedding for `qa index`: finished batches of vectors are kept on disk until the index is written.

A full build embeds its passages in batches of `build_checkpoint_passages`. Each finished batch
is written, atomically and with its own checksum, to
``<build_checkpoints or cache_dir/build-checkpoints>/<key>/batch-NNNNNN.npz``, where the key is
a sha256 over everything that decides the vectors (the encoder, the chunking, the exact texts
and sentence spans, the batch size). An interrupted build (even by kill -9) loses at most the
batch it was embedding: `qa index --resume` loads the finished batches of the same key and
embeds the rest. A checkpoint of another key (the corpus or the model changed) is never used.
Once the index is written, the build's checkpoint folder is deleted. Only files this module
names are ever deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.console import log
from index.encoder.embedder import Embedder, Span
from index.settings import Settings

CHECKPOINT_VERSION = 1
BUILD_FILE = "build.json"
BATCH_FILE = re.compile(r"batch-\d{6}\.npz")
TEMP_FILE = re.compile(r"\.(batch-\d{6}|build)-.*\.tmp")
# Texts per embedder call inside a batch: the progress bar moves after each. Every int8 text is
# embedded alone, so how texts are grouped into calls never changes a vector (fp32: only in rounding).
PROGRESS_STEP = 128

BatchHook = Callable[[int, int, int], None]  # (batch number, first passage, end): after a batch is saved


def checkpoint_root(settings: Settings) -> Path:
    return Path(settings.build_checkpoints or Path(settings.cache_dir) / "build-checkpoints")


def checkpoint_key(embedder: Embedder, settings: Settings, contexts: list[str], spans: list[list[Span]]) -> str:
    """sha256 over what decides a build's passage and sentence vectors, and how they are batched."""
    from index.build import chunking_config

    digest = hashlib.sha256()
    header = {
        "version": CHECKPOINT_VERSION,
        "model": {"name": settings.model_name, **embedder.fingerprint},
        "dim": embedder.dim,
        "max_seq_length": embedder.max_seq_length,
        "embed_batch_size": embedder.batch_size,
        "chunking": chunking_config(settings).__dict__,
        "passage_context": settings.passage_context,
        "batch_passages": settings.build_checkpoint_passages,
        "passages": len(contexts),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for context, passage_spans in zip(contexts, spans, strict=True):
        text = context.encode("utf-8", "surrogatepass")
        digest.update(len(text).to_bytes(8, "little"))
        digest.update(text)
        digest.update(len(passage_spans).to_bytes(8, "little"))
        digest.update(np.asarray(passage_spans, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _batch_checksum(key: str, number: int, passages: np.ndarray, sentences: np.ndarray, counts: np.ndarray) -> str:
    digest = hashlib.sha256(f"{key}:{number}".encode())
    for array in (passages, sentences, counts):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@dataclass
class Batch:
    passages: np.ndarray  # (passages in the batch, dim)
    sentences: list[np.ndarray]  # per passage, (its sentences, dim)


class BuildCheckpoint:
    """The checkpoint folder of one build (one key): save, load and remove its batches."""

    def __init__(self, root: Path, key: str, batch_passages: int, total: int, index_dir: Path) -> None:
        self.root, self.key = Path(root), key
        self.folder = self.root / key
        self.batch_passages, self.total = batch_passages, total
        self.index_dir = Path(index_dir).resolve()
        self.writable = True

    @property
    def batches(self) -> int:
        return -(-self.total // self.batch_passages)

    def bounds(self, number: int) -> tuple[int, int]:
        start = number * self.batch_passages
        return start, min(start + self.batch_passages, self.total)

    def path(self, number: int) -> Path:
        return self.folder / f"batch-{number:06d}.npz"

    # --- writing ------------------------------------------------------------

    def start(self) -> None:
        """Make the folder and say which index it builds (to recognize a stale checkpoint of that index)."""
        self._write_atomic(self.folder / BUILD_FILE, ".build-", lambda f: f.write(json.dumps({
            "key": self.key, "index_dir": str(self.index_dir), "passages": self.total,
            "batch_passages": self.batch_passages, "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }).encode()))

    def save(self, number: int, batch: Batch) -> None:
        """Write a finished batch: a temp file renamed into place, so a file killed half-written is never read."""
        counts = np.array([len(s) for s in batch.sentences], dtype=np.int64)
        sentences = (np.concatenate(batch.sentences) if len(batch.sentences) else
                     np.zeros((0, batch.passages.shape[1]), dtype=np.float32)).astype(np.float32, copy=False)
        passages = batch.passages.astype(np.float32, copy=False)
        checksum = _batch_checksum(self.key, number, passages, sentences, counts)
        self._write_atomic(self.path(number), f".batch-{number:06d}-", lambda f: np.savez(
            f, passages=passages, sentences=sentences, counts=counts, checksum=np.array(checksum)))

    def _write_atomic(self, target: Path, prefix: str, write: Callable[[Any], Any]) -> None:
        """A failure to write a checkpoint never fails the build: it is said once, and the build goes on."""
        if not self.writable:
            return
        temp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=self.folder)
            temp = Path(name)
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, target)
            temp = None
        except OSError as exc:
            self.writable = False
            log(f"warning: cannot write the build checkpoint in {self.folder} ({exc.strerror or exc}); "
                "this build cannot be resumed if interrupted")
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)

    # --- reading ------------------------------------------------------------

    def load(self, number: int, spans: list[list[Span]], dim: int) -> Batch | None:
        """Batch `number` if its file is whole and fits these passages, else None (it is embedded again)."""
        path = self.path(number)
        if not path.is_file():
            return None
        start, end = self.bounds(number)
        try:
            with np.load(path, allow_pickle=False) as data:
                passages, sentences = data["passages"], data["sentences"]
                counts, checksum = data["counts"], str(data["checksum"])
            expected = [len(s) for s in spans[start:end]]
            ok = (passages.shape == (end - start, dim) and sentences.shape == (sum(expected), dim)
                  and counts.tolist() == expected
                  and checksum == _batch_checksum(self.key, number, passages, sentences, counts))
        except Exception:  # a truncated or damaged file: whatever np.load or zipfile raises
            ok = False
        if not ok:
            log(f"Build checkpoint batch {number} ({path.name}) is damaged: embedding it again.")
            return None
        return Batch(passages, list(np.split(sentences, np.cumsum(counts)[:-1])) if len(counts) else [])

    # --- removing -----------------------------------------------------------

    def remove(self) -> None:
        """Delete this build's checkpoint folder (its files only)."""
        remove_checkpoint_folder(self.folder)

    def finish(self) -> None:
        """The index is written: delete this checkpoint, and those of earlier builds of the same
        index folder from another corpus or model (that index has now been replaced)."""
        self.remove()
        for folder in list(self.others_for_same_index()):
            remove_checkpoint_folder(folder)

    def others_for_same_index(self) -> Iterator[Path]:
        """Checkpoint folders of other keys that were building the same index folder."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.name == self.key or not folder.is_dir():
                continue
            try:
                info = json.loads((folder / BUILD_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(info, dict) and info.get("index_dir") == str(self.index_dir):
                yield folder


def remove_checkpoint_folder(folder: Path) -> None:
    """Delete the files this module writes in `folder`, then the folder if that left it empty."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for entry in folder.iterdir():
        ours = entry.name == BUILD_FILE or BATCH_FILE.fullmatch(entry.name) or TEMP_FILE.fullmatch(entry.name)
        if ours and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # something else is in there (not ours), or another build wrote meanwhile
        folder.rmdir()


def embed_with_checkpoints(
    embedder: Embedder,
    contexts: list[str],
    spans: list[list[Span]],
    settings: Settings,
    index_dir: Path,
    resume: bool = False,
    progress: bool = True,
    on_batch: BatchHook | None = None,
) -> tuple[np.ndarray, list[np.ndarray], BuildCheckpoint, int]:
    """Embed the passages batch by batch, saving each batch; with `resume`, reuse the saved ones.

    Returns the passage vectors, the sentence vectors, the checkpoint (to remove once the index
    is written) and how many passages were reused rather than embedded."""
    root = checkpoint_root(settings)
    key = checkpoint_key(embedder, settings, contexts, spans)
    checkpoint = BuildCheckpoint(root, key, settings.build_checkpoint_passages, len(contexts), index_dir)
    found: dict[int, Batch] = {}
    if resume:
        for number in range(checkpoint.batches):
            batch = checkpoint.load(number, spans, embedder.dim)
            if batch is not None:
                found[number] = batch
    reused = sum(len(b.passages) for b in found.values())
    if resume:
        if found:
            log(f"Resuming: {reused} of {len(contexts)} passages were embedded by the interrupted build "
                f"({len(found)} of {checkpoint.batches} batches); embedding the rest.")
        elif any(checkpoint.others_for_same_index()):
            log(f"The checkpoint of an earlier build of {index_dir} is for another corpus, model or batch "
                "size: not used, embedding everything.")
        else:
            log("Nothing to resume (no checkpoint of this build): embedding everything.")
    elif checkpoint.folder.is_dir():
        log("Discarding the checkpoint of an unfinished build of this corpus (qa index --resume reuses it).")
        checkpoint.remove()
    checkpoint.start()

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(contexts), initial=reused, desc="Embedding", unit="passage", dynamic_ncols=True)
    vectors = np.zeros((len(contexts), embedder.dim), dtype=np.float32)
    sentence_vectors: list[np.ndarray] = [np.zeros((0, embedder.dim), dtype=np.float32)] * len(contexts)
    try:
        for number in range(checkpoint.batches):
            start, end = checkpoint.bounds(number)
            batch = found.get(number)
            if batch is None:
                batch = _embed_batch(embedder, contexts[start:end], spans[start:end], bar)
                checkpoint.save(number, batch)
                if on_batch is not None:
                    on_batch(number, start, end)
            vectors[start:end] = batch.passages
            sentence_vectors[start:end] = batch.sentences
    finally:
        if bar is not None:
            bar.close()
    return vectors, sentence_vectors, checkpoint, reused


def _embed_batch(embedder: Embedder, contexts: list[str], spans: list[list[Span]], bar) -> Batch:
    passages, sentences = [], []
    for step in range(0, len(contexts), PROGRESS_STEP):
        vectors, span_vectors = embedder.embed_passages_and_spans(
            contexts[step:step + PROGRESS_STEP], spans[step:step + PROGRESS_STEP], progress=False)
        passages.append(np.asarray(vectors, dtype=np.float32))
        sentences.extend(span_vectors)
        if bar is not None:
            bar.update(len(vectors))
    return Batch(np.concatenate(passages), sentences)

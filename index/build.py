"""Build an index directory from a corpus: load, clean, chunk, tokenize, embed, write."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.build_checkpoint import BatchHook, BuildCheckpoint, embed_with_checkpoints
from index.encoder.embedder import Embedder
from index.ingest.chunking import ChunkingConfig, Passage, pack_passages, passage_sentences
from index.ingest.documents import Document, LoadProblem, load_corpus
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.settings import Settings
from index.store import check_replaceable, check_writable, write_index
from index.tokenize import TOKENIZER_VERSION, ChineseTokenizer


@dataclass
class BuildReport:
    index_dir: Path
    documents: int
    passages: int
    problems: list[LoadProblem]
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, plus "total"
    reused_passages: int = 0  # passages whose vectors came from an interrupted build's checkpoint (--resume)

    @property
    def passages_per_second(self) -> float:
        return self.passages / self.seconds["total"] if self.seconds.get("total") else 0.0


class StageTimer:
    """Seconds per stage of a build: `lap(stage)` adds the time since the previous lap to it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


def chunking_config(settings: Settings) -> ChunkingConfig:
    return ChunkingConfig(
        settings.min_passage_chars, settings.target_passage_chars,
        settings.max_passage_chars, settings.overlap_max_chars,
    )


def passage_context_text(passage: Passage, documents: dict[str, Document], settings: Settings) -> str:
    """What is embedded and tokenized for a passage: its text, after its article's title if set."""
    if settings.passage_context == "title":
        return f"{documents[passage.doc_id].title}\n{passage.text}"
    return passage.text


def sentence_spans_in_context(passage: Passage, document: Document, context: str) -> list[tuple[int, int]]:
    """Each sentence of the passage (as the ranking stage splits it), as offsets into its context text."""
    shift = len(context) - len(passage.text)  # the title and newline put before the passage
    return [(s.start - passage.start + shift, s.end - passage.start + shift)
            for s in passage_sentences(document.text, passage.start, passage.end)]


@dataclass
class Prepared:
    """Documents cleaned, split, tokenized and embedded: everything the index stores about them."""

    passages: list[Passage]
    token_lists: list[list[str]]
    vectors: np.ndarray  # (passages, dim)
    sentence_vectors: list[np.ndarray]  # per passage, (its sentences, dim)
    checkpoint: BuildCheckpoint | None = None  # a checkpointed build's saved batches, to remove once written
    reused_passages: int = 0


@dataclass
class Checkpointing:
    """How a full build saves its embedding batches (index/build_checkpoint.py)."""

    index_dir: Path
    resume: bool = False
    on_batch: BatchHook | None = None  # called after each batch embedded and saved


def prepare(documents: list[Document], settings: Settings, embedder: Embedder, progress: bool = True,
            lap: Callable[[str], None] = lambda stage: None, checkpointing: Checkpointing | None = None) -> Prepared:
    """Split, tokenize and embed documents (a full build, or the new ones of an update). With
    `checkpointing`, finished batches of vectors are saved so an interrupted build can resume."""
    by_id = {doc.doc_id: doc for doc in documents}
    config = chunking_config(settings)
    passages = [p for doc in documents for p in pack_passages(doc.text, doc.doc_id, config)]
    lap("load_and_clean")
    contexts = [passage_context_text(p, by_id, settings) for p in passages]
    token_lists = ChineseTokenizer().many(contexts)
    lap("tokenize")
    # One forward pass gives the passage vector and, pooled over each sentence's tokens, a
    # vector per sentence (the ranking stage compares the question with each sentence).
    spans = [sentence_spans_in_context(p, by_id[p.doc_id], c) for p, c in zip(passages, contexts, strict=True)]
    checkpoint, reused = None, 0
    if checkpointing is None or not contexts:
        vectors, sentence_vectors = embedder.embed_passages_and_spans(contexts, spans, progress=progress)
    else:
        vectors, sentence_vectors, checkpoint, reused = embed_with_checkpoints(
            embedder, contexts, spans, settings, checkpointing.index_dir, checkpointing.resume, progress,
            checkpointing.on_batch)
    lap("embed")
    return Prepared(passages, token_lists, np.asarray(vectors, dtype=np.float32), list(sentence_vectors),
                    checkpoint, reused)


def index_manifest_fields(settings: Settings, embedder_dim: int, fingerprint: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": {"name": settings.model_name, "dim": embedder_dim, **fingerprint},
        "chunking": {**chunking_config(settings).__dict__, "passage_context": settings.passage_context},
        "tokenizer_version": TOKENIZER_VERSION,
    }


def write_prepared(index_dir: Path, documents: list[Document], prepared: Prepared, settings: Settings,
                   embedder: Embedder, extra_fields: dict[str, Any] | None = None) -> None:
    """Build BM25 and the dense index over prepared documents and write them as a whole index."""
    lexical = LexicalIndex.build(prepared.token_lists)
    dense = DenseIndex.build(prepared.vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search)
    fields: dict[str, Any] = {**index_manifest_fields(settings, embedder.dim, embedder.fingerprint),
                              "built_at": datetime.now(UTC).isoformat(timespec="seconds"), **(extra_fields or {})}
    write_index(index_dir, documents, prepared.passages, dense, lexical, prepared.sentence_vectors,
                prepared.token_lists, fields)


def build_index(
    corpus: Path,
    index_dir: Path,
    settings: Settings,
    embedder: Embedder,
    progress: bool = True,
    resume: bool = False,
    on_batch: BatchHook | None = None,
) -> BuildReport:
    """Build the index; embedding batches are saved as they finish, so that an interrupted build
    can `resume` (reuse them), and are deleted once the index is written."""
    check_replaceable(index_dir)  # refuse a folder we must not replace before any work is done
    check_writable(index_dir)  # and one we cannot write, rather than after the embedding
    timer = StageTimer()
    seconds, started, lap = timer.seconds, timer.started, timer.lap
    loaded = load_corpus(corpus)
    documents = loaded.documents
    prepared = prepare(documents, settings, embedder, progress, lap, Checkpointing(Path(index_dir), resume, on_batch))
    write_prepared(index_dir, documents, prepared, settings, embedder,
                   {"corpus_path": str(corpus), "build_seconds_before_write": round(time.perf_counter() - started, 3)})
    if prepared.checkpoint is not None:
        prepared.checkpoint.finish()
    lap("write")
    seconds["total"] = time.perf_counter() - started
    return BuildReport(Path(index_dir), len(documents), len(prepared.passages), loaded.problems, seconds,
                       prepared.reused_passages)

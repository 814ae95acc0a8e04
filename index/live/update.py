"""Add, replace and remove documents in an index folder.

An update embeds only the new or changed documents. What is kept of the rest is reused
as stored: passage vectors (read back from FAISS), sentence vectors and each passage's
BM25 tokens. BM25 is rebuilt from all the tokens, so its statistics (document frequencies,
average length) are exactly those of a fresh build of the same documents, and the FAISS
index is rebuilt from the vectors (a flat index costs nothing; an HNSW one drops deleted
passages this way instead of leaving tombstones). The new state is written to a staging
folder and swapped in whole (``index.store.write_index``), with every file checksummed in
the manifest: a writer killed at any point leaves the index as it was or as it is after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.build import Prepared, prepare
from index.encoder.embedder import Embedder, check_index_encoder
from index.ingest.documents import Document
from index.live.lock import writer_lock
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.settings import Settings
from index.store import LoadedIndex, load_index, read_manifest, read_tokens, write_index

COMPUTED_FIELDS = ("format_version", "corpus_fingerprint", "counts", "dense_index", "files")


class UnknownDocumentError(ValueError):
    """The ids given cannot be applied (unknown, repeated, or all of them); nothing was changed."""


@dataclass
class ChangeReport:
    index_dir: Path
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    passages: dict[str, int] = field(default_factory=dict)  # of each added or replaced document
    documents: int = 0  # in the index afterwards
    total_passages: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{label} {len(ids)} ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''})"
                 for label, ids in (("added", self.added), ("replaced", self.replaced), ("removed", self.removed))
                 if ids]
        return (f"{'; '.join(parts) or 'nothing changed'} in {self.seconds:.1f} s; the index holds "
                f"{self.documents} documents, {self.total_passages} passages")


def add_documents(index_dir: Path, documents: list[Document], settings: Settings, embedder: Embedder,
                  progress: bool = True) -> ChangeReport:
    """Add documents; one whose id the index holds replaces it."""
    started = time.perf_counter()
    ids = [d.doc_id for d in documents]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise UnknownDocumentError(f"the same document id is given more than once: {', '.join(repeated)}; "
                                   "nothing was changed")
    with writer_lock(index_dir, settings.write_lock_timeout):
        index = load_index(index_dir, {"name": settings.model_name, **embedder.fingerprint}, settings.hnsw_ef_search)
        check_index_encoder(index_dir, index.manifest.get("model", {}), embedder.fingerprint)
        prepared = prepare(documents, settings, embedder, progress)
        report = ChangeReport(Path(index_dir), added=[i for i in ids if i not in index.documents],
                              replaced=[i for i in ids if i in index.documents])
        report.passages = {i: sum(p.doc_id == i for p in prepared.passages) for i in ids}
        _rewrite(index_dir, index, set(ids), documents, prepared, settings, report)
    report.seconds = time.perf_counter() - started
    return report


def remove_documents(index_dir: Path, doc_ids: list[str], settings: Settings) -> ChangeReport:
    """Remove documents; an unknown id removes nothing and says so."""
    started = time.perf_counter()
    with writer_lock(index_dir, settings.write_lock_timeout):
        built_with = read_manifest(index_dir).get("model", {})
        index = load_index(index_dir, built_with, settings.hnsw_ef_search)
        unknown = [i for i in dict.fromkeys(doc_ids) if i not in index.documents]
        if unknown:
            raise UnknownDocumentError(f"no document with id {', '.join(map(repr, unknown))} in {index_dir}; "
                                       "nothing was removed (qa documents lists them)")
        if set(doc_ids) >= set(index.documents):
            raise UnknownDocumentError(f"removing every document would leave {index_dir} empty; nothing was removed")
        report = ChangeReport(Path(index_dir), removed=list(dict.fromkeys(doc_ids)))
        dim = index.dense.index.d
        empty = Prepared([], [], np.zeros((0, dim), dtype=np.float32), [])
        _rewrite(index_dir, index, set(doc_ids), [], empty, settings, report)
    report.seconds = time.perf_counter() - started
    return report


def _rewrite(index_dir: Path, index: LoadedIndex, drop: set[str], new_documents: list[Document],
             prepared: Prepared, settings: Settings, report: ChangeReport) -> None:
    tokens = read_tokens(index_dir)
    keep = [i for i, p in enumerate(index.passages) if p.doc_id not in drop]
    stored = index.dense.index.reconstruct_n(0, len(index.dense))
    vectors = np.vstack([stored[keep], prepared.vectors]).astype(np.float32)
    documents = [d for d in index.documents.values() if d.doc_id not in drop] + list(new_documents)
    passages = [index.passages[i] for i in keep] + prepared.passages
    token_lists = [tokens[i] for i in keep] + prepared.token_lists
    sentence_vectors = [np.asarray(index.sentences_of(i)) for i in keep] + prepared.sentence_vectors
    lexical = LexicalIndex.build(token_lists)
    dense = DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search)
    fields: dict[str, Any] = {k: v for k, v in index.manifest.items() if k not in COMPUTED_FIELDS}
    fields["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_index(index_dir, documents, passages, dense, lexical, sentence_vectors, token_lists, fields)
    report.documents, report.total_passages = len(documents), len(passages)

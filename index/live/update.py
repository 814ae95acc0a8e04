"""Add, replace and remove documents in an index folder, at the cost of the documents changed.

An index folder is a list of immutable segments (``index.store``). Adding documents embeds
only them and writes them as one new small segment; removing (or replacing) a document
lists it as deleted in its segment's manifest entry. Nothing else is read, rewritten or
re-hashed: the other segments' checksums are carried over from the old manifest (every
load verifies them). The change takes effect when the new manifest replaces the old one
in a single rename, so a writer killed at any point leaves the index as it was or as it
is after; what a killed writer left unnamed is removed by the next one.

BM25 stays exact: each segment keeps its passages' term counts, and the statistics
(passages, document frequencies, average length) are computed over the live passages of
all segments when the index is loaded (``index.retrieve.lexical``).

Compaction keeps loading cheap: a segment more than ``live_max_deleted_fraction`` removed is
rewritten without its removed passages, and beyond ``live_max_segments`` segments all but
the largest are merged into one. Both copy stored vectors and counts (verified first);
nothing is embedded again.

Dense index: below ``hnsw_threshold`` passages the flat FAISS index is filled from the
segments' vectors on load (no file to rewrite). At HNSW size a graph over all live passages
(with its own float16 copy of their vectors, ``index.retrieve.dense``) is stored beside the
segments: an add inserts the new passages into a copy of it, a remove or replace rebuilds
it from the stored vectors (no tombstones). Both rewrite the graph's file, and a rebuild
takes minutes at a million passages: the one cost that still grows with the index.
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
from index.retrieve.lexical import TermCounts
from index.settings import Settings
from index.store import (
    FORMAT_VERSION,
    check_manifest,
    install_manifest,
    live_documents,
    merge_segments,
    read_live_segments,
    read_manifest,
    remove_strays,
    segment_entry,
    segment_files,
    segment_name,
    verify_files,
    write_dense,
    write_segment,
)

COMPUTED_FIELDS = ("format_version", "corpus_fingerprint", "counts", "dense_index", "dense", "dense_file", "segments",
                   "next_number", "files")  # corpus_fingerprint describes a build's corpus: an update drops it


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
    compacted: int = 0  # segments rewritten into one by this change

    def summary(self) -> str:
        parts = [f"{label} {len(ids)} ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''})"
                 for label, ids in (("added", self.added), ("replaced", self.replaced), ("removed", self.removed))
                 if ids]
        return (f"{'; '.join(parts) or 'nothing changed'} in {self.seconds:.1f} s; the index holds "
                f"{self.documents} documents, {self.total_passages} passages")


def distinct_ids(documents: list[Document]) -> list[str]:
    """The documents' ids; an id given twice is an error before anything is changed."""
    ids = [d.doc_id for d in documents]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise UnknownDocumentError(f"the same document id is given more than once: {', '.join(repeated)}; "
                                   "nothing was changed")
    return ids


def add_documents(index_dir: Path, documents: list[Document], settings: Settings, embedder: Embedder,
                  progress: bool = True) -> ChangeReport:
    """Add documents; one whose id the index holds replaces it."""
    started = time.perf_counter()
    ids = distinct_ids(documents)
    with writer_lock(index_dir, settings.write_lock_timeout):
        manifest = read_manifest(index_dir)
        check_manifest(index_dir, manifest, {"name": settings.model_name, **embedder.fingerprint}, verify=False)
        check_index_encoder(index_dir, manifest.get("model", {}), embedder.fingerprint)
        held = live_documents(manifest)
        prepared = prepare(documents, settings, embedder, progress)
        report = ChangeReport(Path(index_dir), added=[i for i in ids if i not in held],
                              replaced=[i for i in ids if i in held])
        report.passages = {i: sum(p.doc_id == i for p in prepared.passages) for i in ids}
        _commit(Path(index_dir), manifest, set(report.replaced), documents, prepared, settings, report)
    report.seconds = time.perf_counter() - started
    return report


def remove_documents(index_dir: Path, doc_ids: list[str], settings: Settings) -> ChangeReport:
    """Remove documents; an unknown id removes nothing and says so."""
    started = time.perf_counter()
    with writer_lock(index_dir, settings.write_lock_timeout):
        manifest = read_manifest(index_dir)
        check_manifest(index_dir, manifest, manifest.get("model", {}), verify=False)
        held = live_documents(manifest)
        unknown = [i for i in dict.fromkeys(doc_ids) if i not in held]
        if unknown:
            raise UnknownDocumentError(f"no document with id {', '.join(map(repr, unknown))} in {index_dir}; "
                                       "nothing was removed (qa documents lists them)")
        if set(doc_ids) >= set(held):
            raise UnknownDocumentError(f"removing every document would leave {index_dir} empty; nothing was removed")
        report = ChangeReport(Path(index_dir), removed=list(dict.fromkeys(doc_ids)))
        _commit(Path(index_dir), manifest, set(doc_ids), [], None, settings, report)
    report.seconds = time.perf_counter() - started
    return report


def _sizes(entry: dict[str, Any]) -> tuple[int, int]:
    """(passages, removed passages) of a segment."""
    counts = entry["documents"]
    return sum(counts.values()), sum(counts[d] for d in entry["deleted"])


def _to_compact(entries: list[dict[str, Any]], settings: Settings) -> list[int]:
    """Which segments to rewrite as one: those mostly removed, and all but the largest when there are too many."""
    sizes = [_sizes(e) for e in entries]
    pick = {i for i, (total, dead) in enumerate(sizes) if dead and dead > settings.live_max_deleted_fraction * total}
    if len(entries) > settings.live_max_segments:
        largest = max(range(len(entries)), key=lambda i: sizes[i][0] - sizes[i][1])
        pick |= set(range(len(entries))) - {largest}
    if len(pick) == 1 and not sizes[next(iter(pick))][1]:
        return []  # one segment with nothing removed: rewriting it would change nothing
    return sorted(pick)


def _graph(index_dir: Path, manifest: dict[str, Any], entries: list[dict[str, Any]], files: dict[str, Any],
           appended: np.ndarray | None, settings: Settings) -> DenseIndex:
    """The HNSW graph over every live passage. When the change only appended passages, they are added
    to the old graph (HNSW takes new nodes cheaply); when any were removed it is rebuilt from the
    stored vectors, so removed passages leave no tombstones."""
    old = manifest.get("dense_file")
    if appended is not None and old is not None:
        verify_files(index_dir, {old: manifest["files"][old]})  # copied into the new graph: checked first
        dense = DenseIndex.load(index_dir / old, settings.hnsw_ef_search)
        if len(dense) == manifest["counts"]["passages"]:
            dense.add(appended)  # into the graph as it was built (its type, storage and parameters)
            return dense
    live = read_live_segments(index_dir, {"files": files}, entries)
    vectors = np.concatenate([segment.vectors[alive] for segment, alive, _ in live])
    return DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search,
                            settings.hnsw_ef_construction, settings.hnsw_storage)


def _commit(index_dir: Path, manifest: dict[str, Any], drop: set[str], documents: list[Document],
            prepared: Prepared | None, settings: Settings, report: ChangeReport) -> None:
    """Write the change as a new segment and deletion lists, compact if due, and install the new manifest."""
    remove_strays(index_dir, manifest)  # what a writer killed before its manifest rename left behind
    number = manifest["next_number"]
    files = dict(manifest["files"])
    entries, removed = [], False
    for entry in manifest["segments"]:
        hit = drop & (entry["documents"].keys() - set(entry["deleted"]))
        if hit:
            entry, removed = {**entry, "deleted": sorted(set(entry["deleted"]) | hit)}, True
        if set(entry["documents"]) - set(entry["deleted"]):  # a segment nothing is left of is dropped whole
            entries.append(entry)
    if prepared is not None and documents:
        name, number = segment_name(number), number + 1
        files.update(write_segment(index_dir, name, documents, prepared.passages, prepared.vectors,
                                   np.concatenate(prepared.sentence_vectors) if prepared.sentence_vectors
                                   else np.zeros((0, prepared.vectors.shape[1]), np.float16),
                                   np.array([len(v) for v in prepared.sentence_vectors], dtype=np.int64),
                                   TermCounts.of(prepared.token_lists), sync=True))
        entries.append(segment_entry(name, documents, prepared.passages))
    compact = _to_compact(entries, settings)
    if compact:
        live = read_live_segments(index_dir, {"files": files}, [entries[i] for i in compact])
        name, number = segment_name(number), number + 1
        merged, table = merge_segments(index_dir, name, live, sync=True)
        files.update(table)
        first = compact[0]  # the merged segment takes the place of the first one it replaces
        entries = [merged if i == first else e for i, e in enumerate(entries) if i == first or i not in compact]
        report.compacted = len(compact)
    files = {path: entry for e in entries for path, entry in segment_files(files, e["name"]).items()}
    passages = sum(total - dead for total, dead in map(_sizes, entries))
    dense_file, described = None, {"type": "IndexFlatIP", "storage": "fp32"}  # flat: filled from the segments on load
    if passages >= settings.hnsw_threshold:
        appended = prepared.vectors if prepared is not None and not removed and not compact else None
        graph = _graph(index_dir, manifest, entries, files, appended, settings)
        dense_file, table = write_dense(index_dir, number, graph)
        described = graph.describe()
        number += 1
        files.update(table)
    held = live_documents({"segments": entries})
    fields: dict[str, Any] = {k: v for k, v in manifest.items() if k not in COMPUTED_FIELDS}
    fields["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    new = {"format_version": FORMAT_VERSION, **fields,
           "counts": {"documents": len(held), "passages": passages},
           "dense_index": "flat" if dense_file is None else "hnsw", "dense": described, "dense_file": dense_file,
           "segments": entries, "next_number": number, "files": files}
    install_manifest(index_dir, new)
    remove_strays(index_dir, new)  # segments and graphs the new manifest no longer names
    report.documents, report.total_passages = len(held), passages

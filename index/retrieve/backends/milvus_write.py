"""Building a Milvus index (`qa index --backend milvus`) and changing its documents (`qa add`/`qa remove`,
the API's writes).

The index folder holds only `manifest.json` (and, for Milvus Lite, the database file). A build
writes new collections under a fresh build id and swaps the folder in whole (as a local build
does); the collections the old manifest named on the same server are dropped after the swap.
An update embeds only the new documents, deletes the replaced or removed ones' rows, inserts
the new rows and bumps the generation counter last, which is what followers watch.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.build import (
    BuildReport,
    Checkpointing,
    Prepared,
    StageTimer,
    index_manifest_fields,
    passage_context_text,
    prepare,
)
from index.build_checkpoint import BatchHook
from index.encoder.embedder import Embedder, check_index_encoder
from index.ingest.documents import Document, load_corpus
from index.live.lock import writer_lock
from index.live.update import ChangeReport, UnknownDocumentError, distinct_ids
from index.retrieve.backends.milvus import (
    BM25_B,
    BM25_K1,
    LAYOUT_VERSION,
    LITE_FILE,
    MilvusStore,
    check_milvus_manifest,
    check_uri,
    collection_names,
    connect,
    disconnect,
    is_server,
    open_store,
    resolve_uri,
)
from index.retrieve.lexical import LexicalIndex, TermCounts
from index.settings import Settings
from index.store import (
    FORMAT_VERSION,
    MANIFEST,
    atomic_directory,
    check_replaceable,
    check_writable,
    corpus_fingerprint,
    load_index,
    read_manifest,
)


def _old_store(index_dir: Path, settings: Settings, uri: str) -> MilvusStore | None:
    """The collections a Milvus manifest in `index_dir` names on the server we build on (dropped after the swap)."""
    if not (Path(index_dir) / MANIFEST).is_file():
        return None
    try:
        manifest = read_manifest(index_dir)
    except Exception:
        return None
    milvus = manifest.get("milvus")
    if manifest.get("backend") != "milvus" or not isinstance(milvus, dict) or milvus.get("uri") != uri:
        return None
    return MilvusStore(connect(uri, settings), uri, dict(milvus.get("collections", {})))


def _write_prepared(store: MilvusStore, documents: list[Document], prepared, settings: Settings,
                    first_id: int, first_position: int) -> None:
    by_id = {d.doc_id: d for d in documents}
    contexts = [passage_context_text(p, by_id, settings) for p in prepared.passages]
    store.insert_documents(documents, first_position, settings.milvus_insert_batch)
    store.insert_passages(first_id, prepared.passages, contexts, prepared.token_lists, prepared.vectors,
                          prepared.sentence_vectors, settings.milvus_insert_batch)


def build_milvus_index(corpus: Path, index_dir: Path, settings: Settings, embedder: Embedder,
                       progress: bool = True, resume: bool = False, on_batch: BatchHook | None = None) -> BuildReport:
    """Like index.build.build_index, into Milvus: a Lite file in the folder, or the server at milvus_uri.
    The embedding batches are saved as a local build saves them (index/build_checkpoint.py: keyed by
    the encoder, the chunking and the texts, never by the backend), so an interrupted build can
    `resume`; they are deleted once the collections are written and the folder swapped in."""
    _check_target(index_dir, settings)
    timer = StageTimer()
    seconds, started, lap = timer.seconds, timer.started, timer.lap
    loaded = load_corpus(corpus)
    prepared = prepare(loaded.documents, settings, embedder, progress, lap,
                       Checkpointing(Path(index_dir), resume, on_batch))
    fields = index_manifest_fields(settings, embedder.dim, embedder.fingerprint)
    _write_build(index_dir, settings, loaded.documents, prepared, {**fields, "corpus_path": str(corpus)})
    if prepared.checkpoint is not None:
        prepared.checkpoint.finish()
    lap("milvus")
    seconds["total"] = time.perf_counter() - started
    return BuildReport(Path(index_dir), len(loaded.documents), len(prepared.passages), loaded.problems, seconds,
                       prepared.reused_passages)


def copy_local_index(local_dir: Path, index_dir: Path, settings: Settings) -> BuildReport:
    """A Milvus index of exactly what a local index holds: its documents, passages, tokens and
    stored vectors (nothing is re-embedded). Moving an index to Milvus, and comparing the two
    backends on the same vectors (the tests, the bench)."""
    _check_target(index_dir, settings)
    started = time.perf_counter()
    manifest = read_manifest(local_dir)
    local = load_index(local_dir, manifest.get("model", {}), settings.hnsw_ef_search)
    prepared = Prepared(local.passages, passage_tokens(local.lexical),
                        local.dense.index.reconstruct_n(0, len(local.dense)),
                        [np.asarray(local.sentences_of(i)) for i in range(len(local.passages))])
    documents = list(local.documents.values())
    kept = ("model", "chunking", "tokenizer_version", "corpus_path")
    fields = {key: manifest[key] for key in kept if key in manifest}
    _write_build(index_dir, settings, documents, prepared, fields)
    seconds = {"milvus": time.perf_counter() - started, "total": time.perf_counter() - started}
    return BuildReport(Path(index_dir), len(documents), len(prepared.passages), [], seconds)


def passage_tokens(lexical: LexicalIndex) -> list[list[str]]:
    """Each passage's BM25 tokens, as counted in a local index (a bag: each token as often as it
    occurs, in vocabulary order; Milvus needs them only for the document frequencies)."""
    terms = TermCounts.concat(lexical.parts)
    bags: list[list[str]] = [[] for _ in range(terms.n_passages)]
    for row, column, tf in zip(terms.rows.tolist(), terms.entry_columns().tolist(), terms.tf.tolist(), strict=True):
        bags[row].extend([terms.vocab[column]] * tf)
    return bags


def _check_target(index_dir: Path, settings: Settings) -> None:
    check_uri(settings.milvus_uri)
    check_replaceable(index_dir)
    check_writable(index_dir)
    if is_server(settings.milvus_uri):
        connect(settings.milvus_uri, settings)  # unreachable: say so before the embedding, not after


def _write_build(index_dir: Path, settings: Settings, documents: list[Document], prepared: Prepared,
                 fields: dict[str, Any]) -> None:
    """New collections filled with `prepared`, and the folder (manifest, Lite file) swapped in whole."""
    server = is_server(settings.milvus_uri)
    old = _old_store(index_dir, settings, settings.milvus_uri) if server else None
    build_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + f"{time.time_ns() % 1_000_000:06d}"
    names = collection_names(settings.milvus_collection_prefix, build_id)
    dense_kind = "hnsw" if len(prepared.passages) >= settings.hnsw_threshold else "flat"
    if not server:  # this process may hold the old Lite file open: release it before the folder is replaced
        disconnect(resolve_uri(index_dir, LITE_FILE))
    with atomic_directory(index_dir) as staging:
        uri = settings.milvus_uri if server else str(staging.absolute() / LITE_FILE)
        store = MilvusStore(connect(uri, settings), uri, names)
        try:
            store.create(int(fields["model"]["dim"]), dense_kind, settings)
            _write_prepared(store, documents, prepared, settings, 0, 0)
            store.set_meta({"generation": 1, "next_id": len(prepared.passages), "next_position": len(documents)})
            store.flush()
        except BaseException:
            if server:
                store.drop()  # a failed build leaves no half-filled collections behind
            raise
        finally:
            if not server:
                disconnect(uri)
        manifest = {
            "format_version": FORMAT_VERSION,
            "backend": "milvus",
            **fields,
            "milvus": {"layout": LAYOUT_VERSION, "uri": settings.milvus_uri if server else LITE_FILE,
                       "collections": names, "dense_index": dense_kind, "bm25": {"k1": BM25_K1, "b": BM25_B}},
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_fingerprint": corpus_fingerprint(documents),
            "counts": {"documents": len(documents), "passages": len(prepared.passages)},
            "dense_index": dense_kind,
            "files": {},  # nothing to checksum: the data is in Milvus (a Lite file changes as it is written)
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    if old is not None and old.names != names:
        old.drop()


def _open(index_dir: Path, settings: Settings, model: dict[str, Any] | None) -> tuple[dict[str, Any], MilvusStore]:
    manifest = read_manifest(index_dir)
    built_with = manifest.get("model", {})
    check_milvus_manifest(index_dir, manifest, model or built_with)
    return manifest, open_store(index_dir, manifest, settings)


def _document_ids(store: MilvusStore) -> list[str]:
    return [row["doc_id"] for row in store.scan("documents", ["doc_id", "position"], filter="chunk == 0")]


def add_documents(index_dir: Path, documents: list[Document], settings: Settings, embedder: Embedder,
                  progress: bool = True) -> ChangeReport:
    """Add documents to a Milvus index; one whose id it holds replaces it."""
    started = time.perf_counter()
    ids = distinct_ids(documents)
    with writer_lock(index_dir, settings.write_lock_timeout):
        manifest, store = _open(index_dir, settings, {"name": settings.model_name, **embedder.fingerprint})
        check_index_encoder(index_dir, manifest.get("model", {}), embedder.fingerprint)
        existing = set(_document_ids(store))
        prepared = prepare(documents, settings, embedder, progress)
        report = ChangeReport(Path(index_dir), added=[i for i in ids if i not in existing],
                              replaced=[i for i in ids if i in existing])
        report.passages = {i: sum(p.doc_id == i for p in prepared.passages) for i in ids}
        meta = store.meta()
        if report.replaced:
            store.delete_documents(report.replaced)
        _write_prepared(store, documents, prepared, settings, meta["next_id"], meta["next_position"])
        _finish(store, meta, len(prepared.passages), len(documents), report)
    report.seconds = time.perf_counter() - started
    return report


def remove_documents(index_dir: Path, doc_ids: list[str], settings: Settings) -> ChangeReport:
    """Remove documents from a Milvus index; an unknown id removes nothing and says so."""
    started = time.perf_counter()
    with writer_lock(index_dir, settings.write_lock_timeout):
        _, store = _open(index_dir, settings, None)
        existing = _document_ids(store)
        unknown = [i for i in dict.fromkeys(doc_ids) if i not in existing]
        if unknown:
            raise UnknownDocumentError(f"no document with id {', '.join(map(repr, unknown))} in {index_dir}; "
                                       "nothing was removed (qa documents lists them)")
        if set(doc_ids) >= set(existing):
            raise UnknownDocumentError(f"removing every document would leave {index_dir} empty; nothing was removed")
        report = ChangeReport(Path(index_dir), removed=list(dict.fromkeys(doc_ids)))
        store.delete_documents(report.removed)
        _finish(store, store.meta(), 0, 0, report)
    report.seconds = time.perf_counter() - started
    return report


def _finish(store: MilvusStore, meta: dict[str, Any], new_passages: int, new_documents: int,
            report: ChangeReport) -> None:
    """Bump the generation last: a follower reloads only once every row of the change is in."""
    store.set_meta({"generation": int(meta["generation"]) + 1, "next_id": int(meta["next_id"]) + new_passages,
                    "next_position": int(meta["next_position"]) + new_documents})
    store.flush()
    report.documents = len(_document_ids(store))
    report.total_passages = len(store.scan("passages", ["id"]))


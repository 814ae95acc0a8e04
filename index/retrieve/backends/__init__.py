"""Where passages are retrieved from: the one place that picks the backend of an index.

``local`` (the default) is the index folder's bm25s and FAISS files; ``milvus`` is a Milvus
collection set (Milvus Lite in a file inside the index folder, or a Milvus server). The
manifest's ``"backend"`` field says which; a manifest without it is ``local``, so index
folders written before backends existed keep working. Everything above retrieval (fusion,
ranking, merging, evidence, the JSON) is shared: it sees only a ``Retriever``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.retrieve.dense import Hit
from index.retrieve.filters import Selection
from index.settings import Settings
from index.store import LoadedIndex, load_index, read_manifest

BACKENDS = ("local", "milvus")


class BackendError(RuntimeError):
    """The backend cannot be used (server unreachable, a collection gone, a database busy):
    a one-line message naming what and where, never a silent fallback to another backend."""


class LexicalHits(Protocol):
    """One question's BM25 result: the best passages, and the score of any other passage."""

    hits: list[Hit]

    def scores(self, passage_ids: list[int]) -> np.ndarray: ...


class Retriever(Protocol):
    """The seam: what the search pipeline asks of an index's retrievers. Passage ids are
    positions in ``LoadedIndex.passages`` whatever the backend. ``only`` (a filter's selection)
    restricts a search to those passages inside the backend, before the n best are taken."""

    kind: str  # the dense index's kind, reported by /healthz
    n_passages: int

    def idf(self, token: str) -> float: ...

    def lexical_search(self, question: str, tokens: list[str], n: int,
                       only: Selection | None = None) -> LexicalHits: ...

    def dense_search(self, vector: np.ndarray, n: int, only: Selection | None = None) -> list[Hit]: ...

    def dense_cosines(self, vector: np.ndarray, passage_ids: list[int]) -> np.ndarray: ...


def backend_name(manifest: dict[str, Any]) -> str:
    return manifest.get("backend", "local")


def backend_of(index_dir: Path) -> str:
    return backend_name(read_manifest(index_dir))


def open_index(index_dir: Path, model: dict[str, Any], settings: Settings) -> LoadedIndex:
    """Load an index of either backend (checked against the embedding model, as load_index does)."""
    manifest = read_manifest(index_dir)
    name = backend_name(manifest)
    if name == "local":
        return load_index(index_dir, model, settings.hnsw_ef_search)
    if name == "milvus":
        from index.retrieve.backends.milvus import load_milvus_index

        return load_milvus_index(Path(index_dir), manifest, model, settings)
    raise BackendError(f"index at {index_dir} names an unknown backend {name!r} (known: {', '.join(BACKENDS)})")


def retriever_for(index: LoadedIndex, settings: Settings) -> Retriever:
    retriever = getattr(index, "retriever", None)
    if retriever is not None:
        return retriever
    from index.retrieve.backends.local import LocalRetriever

    return LocalRetriever(index, settings.filter_exact_passages)

"""Live updates: add, replace and remove documents in an index folder while it is served.

Entry points: ``add_documents(index_dir, documents, settings, embedder, progress)`` and
``remove_documents(index_dir, doc_ids, settings)``, each returning a ``ChangeReport``; they
route by the index's backend (``update`` for local folders,
``index.retrieve.backends.milvus_write`` for Milvus). ``writer_lock`` (``lock``) keeps
writers one at a time across processes; ``FollowingSearcher`` gives searches the index's
newest state (a local folder's manifest, or a Milvus index's generation counter).
"""

from __future__ import annotations

import logging
from pathlib import Path

from index.encoder.embedder import Embedder
from index.ingest.documents import Document
from index.live import follow, update
from index.live.lock import IndexBusyError, writer_lock
from index.live.update import ChangeReport, UnknownDocumentError
from index.retrieve.backends import BackendError, backend_of, open_index
from index.search import Searcher
from index.settings import Settings

log = logging.getLogger("zhqa.live")


def add_documents(index_dir: Path, documents: list[Document], settings: Settings, embedder: Embedder,
                  progress: bool = True) -> ChangeReport:
    """Add documents; one whose id the index holds replaces it."""
    if backend_of(index_dir) == "milvus":
        from index.retrieve.backends import milvus_write

        return milvus_write.add_documents(index_dir, documents, settings, embedder, progress)
    return update.add_documents(index_dir, documents, settings, embedder, progress)


def remove_documents(index_dir: Path, doc_ids: list[str], settings: Settings) -> ChangeReport:
    """Remove documents; an unknown id removes nothing and says so."""
    if backend_of(index_dir) == "milvus":
        from index.retrieve.backends import milvus_write

        return milvus_write.remove_documents(index_dir, doc_ids, settings)
    return update.remove_documents(index_dir, doc_ids, settings)


class FollowingSearcher(follow.FollowingSearcher):
    """For a Milvus index, the generation counter in its meta collection is followed instead of the
    folder's manifest, so a replica on another machine sees writes made through any other one."""

    def current(self) -> Searcher:
        store = getattr(self._searcher.index, "store", None)
        if self.index_dir is None or store is None:
            return super().current()
        try:
            changed = store.generation() != self._searcher.index.generation
        except BackendError as exc:
            log.warning("cannot read the index generation (%s); still serving the previous state", exc)
            return self._searcher
        if changed:
            with self._reloading:
                if store.generation() != self._searcher.index.generation:
                    self._reload_milvus()
        return self._searcher

    def _reload_milvus(self) -> None:
        old = self._searcher
        model = {"name": old.settings.model_name, **old.embedder.fingerprint}
        index = open_index(self.index_dir, model, old.settings)
        self._searcher = Searcher(index, old.embedder, old.settings, old.reranker.model, old.reader)
        log.info("index reloaded (generation %s): %s documents, %s passages", getattr(index, "generation", "?"),
                 len(index.documents), len(index.passages))


__all__ = ["ChangeReport", "FollowingSearcher", "IndexBusyError", "UnknownDocumentError", "add_documents",
           "remove_documents", "writer_lock"]

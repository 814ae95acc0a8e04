"""Live updates: add, replace and remove documents in an index folder while it is served.

Entry points: ``add_documents(index_dir, documents, settings, embedder, progress)`` and
``remove_documents(index_dir, doc_ids, settings)`` (``update``), each returning a
``ChangeReport``; ``writer_lock`` (``lock``) keeps writers one at a time across processes;
``FollowingSearcher`` (``follow``) gives searches the index's newest state.
"""

from index.live.follow import FollowingSearcher
from index.live.lock import IndexBusyError, writer_lock
from index.live.update import ChangeReport, UnknownDocumentError, add_documents, remove_documents

__all__ = ["ChangeReport", "FollowingSearcher", "IndexBusyError", "UnknownDocumentError", "add_documents",
           "remove_documents", "writer_lock"]

"""A Searcher that follows its index folder: a write by this process or another one (`qa add`
beside `qa serve`) is seen by the next search, with no restart.

Each call compares the manifest's identity (inode, size, modification time: one `stat`);
when it changed, the folder is loaded into a new Searcher that shares the loaded encoder and
ranking model, and replaces the old one in a single assignment. The segments the old state
had loaded (verified, immutable) are reused, so a reload reads and checks only new segments. A search keeps the Searcher
it started with, so it answers from the old state or the new one, never a mix.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from index.search import Searcher
from index.store import MANIFEST, IndexLoadError, load_index

log = logging.getLogger("zhqa.live")


def _stamp(index_dir: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(index_dir / MANIFEST)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


class FollowingSearcher:
    def __init__(self, searcher: Searcher, index_dir: Path | None) -> None:
        self.index_dir = None if index_dir is None else Path(index_dir)
        self._searcher = searcher
        self._stamp = None if self.index_dir is None else _stamp(self.index_dir)
        self._reloading = threading.Lock()

    def current(self) -> Searcher:
        if self.index_dir is None:
            return self._searcher
        stamp = _stamp(self.index_dir)
        if stamp is not None and stamp != self._stamp:
            with self._reloading:
                if _stamp(self.index_dir) != self._stamp:
                    self._reload()
        return self._searcher

    def _reload(self) -> None:
        old = self._searcher
        stamp = _stamp(self.index_dir)
        try:
            model = {"name": old.settings.model_name, **old.embedder.fingerprint}
            index = load_index(self.index_dir, model, old.settings.hnsw_ef_search, previous=old.index)
        except IndexLoadError as exc:  # e.g. caught mid-swap: keep serving the state we have
            log.warning("index changed but could not be loaded yet (%s); still serving the previous state", exc)
            return
        self._searcher = Searcher(index, old.embedder, old.settings, old.reranker.model, old.reader)
        self._stamp = stamp
        counts = index.manifest.get("counts", {})
        log.info("index reloaded: %s documents, %s passages", counts.get("documents"), counts.get("passages"))

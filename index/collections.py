"""Collections: several named indexes in one process, sharing one loaded model.

A collection is a subfolder of a root folder that holds an index this program wrote
(index.store.is_index_dir), named after the folder. Names are checked (NAME_PATTERN) before
any path is made from them. Every collection's Searcher shares one encoder, ranking model and
reader (SharedModels), and each has its own FollowingSearcher and writer lock, so a write to
one never waits for, or blocks, another's searches.

Creating a collection builds an index from its first documents (an index cannot be empty: the
last document of one cannot be removed either); deleting one removes its folder only when it is
an index this program wrote.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from index.build import prepare, write_prepared
from index.encoder.embedder import Embedder, check_index_encoder
from index.ingest.documents import Document
from index.live import FollowingSearcher
from index.live.lock import lock_path, writer_lock
from index.live.update import distinct_ids
from index.rank import RankerModel
from index.read.reader import Reader, load_reader
from index.retrieve.backends import open_index
from index.search import Searcher, load_ranker_model
from index.settings import Settings
from index.store import is_index_dir

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
NAME_HELP = "1 to 64 letters, digits, _ or -, starting with a letter or digit"
DEFAULT = "default"  # the single index of `qa serve`, and what /api/search answers from
_NAME = re.compile(NAME_PATTERN)


class CollectionError(ValueError):
    """A collection cannot be made or removed as asked; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def valid_name(name: str) -> bool:
    """True for a name that is safe as one folder name (no dots, slashes or path tricks)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def discover(root: Path) -> dict[str, Path]:
    """The collections under `root`: each subfolder with a valid name that holds an index, by name."""
    found = {}
    for path in sorted(Path(root).iterdir()):
        if path.is_dir() and not path.is_symlink() and valid_name(path.name) and is_index_dir(path):
            found[path.name] = path
    return found


@dataclass
class SharedModels:
    """What every collection's Searcher shares: loaded once per process."""

    embedder: Embedder
    ranker: RankerModel | None
    reader: Reader | None

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder, log=print) -> SharedModels:
        reader = load_reader(settings, embedder.model_dir, log=log,
                             tokenizer=embedder.untruncated_tokenizer()) if settings.reader else None
        return cls(embedder, load_ranker_model(settings, embedder), reader)

    def open(self, index_dir: Path, settings: Settings) -> Searcher:
        """A Searcher of `index_dir` using these models (checked to be the index's encoder)."""
        index = open_index(index_dir, {"name": settings.model_name, **self.embedder.fingerprint}, settings)
        check_index_encoder(index_dir, index.manifest.get("model", {}), self.embedder.fingerprint)
        return Searcher(index, self.embedder, settings, self.ranker, self.reader)


class Collections:
    """The named indexes one server holds. `root` None: the single index of `qa serve --index-dir`,
    which is the collection `default`; collections are then neither created nor deleted."""

    def __init__(self, live: dict[str, FollowingSearcher], root: Path | None = None,
                 models: SharedModels | None = None, settings: Settings | None = None) -> None:
        self.root = None if root is None else Path(root)
        self.models, self.settings = models, settings
        self._live = dict(live)
        self._changing = threading.Lock()  # one create or delete at a time (searches never take it)

    def get(self, name: str) -> FollowingSearcher | None:
        return self._live.get(name)

    def names(self) -> list[str]:
        return sorted(self._live)

    def create(self, name: str, documents: list[Document]) -> FollowingSearcher:
        """Build the collection `name` from its first documents and start serving it."""
        root, models, settings = self._writable()
        distinct_ids(documents)
        with self._changing:
            target = root / name
            if name in self._live or target.exists() or target.is_symlink():
                raise CollectionError(409, f"collection {name!r} already exists (or {target.name} is taken in "
                                      "the collections folder); DELETE it first or choose another name")
            with writer_lock(target, settings.write_lock_timeout):
                build_documents(target, documents, settings, models.embedder)
            live = FollowingSearcher(models.open(target, settings), target)
            self._live[name] = live
            return live

    def delete(self, name: str) -> None:
        """Stop serving `name` and remove its folder, which must be an index this program wrote."""
        root, _, settings = self._writable()
        with self._changing:
            live = self._live.get(name)
            if live is None:
                raise CollectionError(404, f"no collection named {name!r}; GET /api/collections lists them")
            target = live.index_dir
            if target is None or target.parent != root or target.is_symlink() or not is_index_dir(target):
                raise CollectionError(409, f"{target} is not an index folder this program wrote; "
                                      "nothing was deleted")
            with writer_lock(target, settings.write_lock_timeout):
                retired = target.with_name(f".{target.name}.deleted-{time.time_ns()}")
                target.rename(retired)  # gone at once for every reader; removed below
                del self._live[name]
            shutil.rmtree(retired, ignore_errors=True)
            lock_path(target).unlink(missing_ok=True)

    def check_writable(self) -> None:
        """CollectionError (409) when this server cannot create or delete collections."""
        self._writable()

    def _writable(self) -> tuple[Path, SharedModels, Settings]:
        if self.root is None or self.models is None or self.settings is None:
            raise CollectionError(409, "this server serves one index (qa serve --index-dir); collections are "
                                  "created and deleted only under qa serve --collections DIR")
        return self.root, self.models, self.settings


def build_documents(index_dir: Path, documents: list[Document], settings: Settings, embedder: Embedder) -> None:
    """A new index in `index_dir` (absent or empty) from `documents`, as `qa index` builds one."""
    if not documents:
        raise CollectionError(422, "documents: a collection is created with at least one document")
    write_prepared(index_dir, documents, prepare(documents, settings, embedder, False), settings, embedder)

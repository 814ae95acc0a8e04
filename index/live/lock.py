"""One writer at a time per index folder, across processes (`qa add` beside `qa serve`).

The lock file sits beside the folder, not in it: a write replaces the whole folder.
The operating system releases the lock when its holder dies, so a killed writer never
leaves the index locked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class IndexBusyError(RuntimeError):
    """Another writer held the index for longer than the wait allows."""


def lock_path(index_dir: Path) -> Path:
    index_dir = Path(index_dir).absolute()
    return index_dir.with_name(f".{index_dir.name}.lock")


@contextmanager
def writer_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    lock = FileLock(lock_path(index_dir))
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise IndexBusyError(f"another writer has been changing {index_dir} for over {timeout:g} s; "
                             "try again when it is done") from exc
    try:
        yield
    finally:
        lock.release()

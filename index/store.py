"""The index directory: documents, passages, FAISS and BM25 indexes, and manifest.json.

It is written into a temporary sibling directory and renamed into place, so a
crash never leaves a half-written index where the service looks. Loading
checks the manifest (format, model, every file's size and checksum) and says
what is wrong and how to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.encoder.model_convert import sha256_file
from index.ingest.chunking import Passage
from index.ingest.documents import Document
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.tokenize import TOKENIZER_VERSION

FORMAT_VERSION = 3  # 2: sentence vectors; 3: each passage's BM25 tokens (for adding and removing documents)
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"  # float16, every passage's sentences in passage order
LEXICAL = "bm25"
TOKENS = "tokens.jsonl"  # each passage's BM25 tokens: an update rebuilds BM25 exactly without re-tokenizing


class NotAnIndexError(RuntimeError):
    """The target cannot take an index: it holds files that are not an index we wrote (never replace
    them), or its folder cannot be written."""

    def __init__(self, target: Path, problem: str) -> None:
        super().__init__(
            f"refusing to write an index into {target}: {problem}. Nothing was changed. "
            "Give --index-dir an empty or new folder, or one that holds an index built by qa index"
        )


class IndexLoadError(RuntimeError):
    """The index directory is missing, stale or damaged; the message says how to rebuild."""

    def __init__(self, index_dir: Path, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"index at {index_dir} {problem}; rebuild it with: qa index --index-dir {index_dir}"
        )


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    dense: DenseIndex
    lexical: LexicalIndex
    sentence_vectors: np.ndarray  # (all sentences, dim) float16
    sentence_start: np.ndarray  # passage i's sentences are rows sentence_start[i]:sentence_start[i + 1]

    def sentences_of(self, passage_id: int) -> np.ndarray:
        return self.sentence_vectors[self.sentence_start[passage_id]:self.sentence_start[passage_id + 1]]

    @cached_property
    def passages_per_document(self) -> Counter[str]:
        """Counted once, not on every request that lists the documents."""
        return Counter(p.doc_id for p in self.passages)


def corpus_fingerprint(documents: list[Document]) -> str:
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(doc.doc_id.encode() + b"\0" + doc.text.encode() + b"\0")
    return digest.hexdigest()


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(root).as_posix(): {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def is_index_dir(path: Path) -> bool:
    """True for a folder holding a manifest this program wrote (a JSON object with its format and files)."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format_version" in manifest and isinstance(manifest.get("files"), dict)


def check_replaceable(target: Path) -> None:
    """Raise NotAnIndexError unless `target` is absent, an empty folder, or an index we wrote.

    An index build replaces its target folder whole, so anything else there (a corpus, a
    user's files, an index that lost its manifest) would be deleted: refuse instead.
    """
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise NotAnIndexError(target, "it is not a folder")
    if not any(target.iterdir()) or is_index_dir(target):
        return
    raise NotAnIndexError(target, f"it is not empty and has no {MANIFEST} written by qa index")


def check_writable(target: Path) -> None:
    """Raise NotAnIndexError unless a staging folder can be made beside `target`, as the write will.

    Checked before a build's slow stages, so a read-only or mistyped --index-dir is reported at once.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=f".{target.name}.probe-", dir=target.parent)).rmdir()
    except OSError as exc:
        raise NotAnIndexError(target, f"cannot create a folder in {target.parent} ({exc.strerror})") from exc


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh staging directory; on success it replaces `target`, on error it vanishes.

    `target` must be absent, empty or an index we wrote (checked before and again after
    the work, in case something was put there meanwhile); anything else is never removed.
    """
    target = Path(target)
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        check_replaceable(target)
    except NotAnIndexError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if target.exists():
        retired = target.with_name(f"{RETIRED_PREFIX.format(name=target.name)}{time.time_ns()}")
        target.rename(retired)
    staging.rename(target)  # a kill between the two renames leaves only the retired copy: see recover()
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


RETIRED_PREFIX = ".{name}.old-"


def recover(target: Path) -> bool:
    """Put back the index a writer had moved aside when it was killed between its two renames
    (the only moment the folder is missing). True when something was put back."""
    target = Path(target)
    if target.exists() or not target.parent.is_dir():
        return False
    retired = sorted(target.parent.glob(f"{RETIRED_PREFIX.format(name=target.name)}*"))
    for candidate in reversed(retired):  # the newest complete one
        if is_index_dir(candidate):
            candidate.rename(target)
            return True
    return False


def write_index(
    index_dir: Path,
    documents: list[Document],
    passages: list[Passage],
    dense: DenseIndex,
    lexical: LexicalIndex,
    sentence_vectors: list[np.ndarray],
    token_lists: list[list[str]],
    manifest_fields: dict[str, Any],
) -> dict[str, Any]:
    with atomic_directory(index_dir) as staging:
        _write_jsonl(staging / DOCUMENTS, [asdict(doc) for doc in documents])
        with (staging / TOKENS).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(tokens, ensure_ascii=False) + "\n" for tokens in token_lists)
        _write_jsonl(
            staging / PASSAGES,
            [{"doc_id": p.doc_id, "ordinal": p.ordinal, "start": p.start, "end": p.end, "sentences": len(v)}
             for p, v in zip(passages, sentence_vectors, strict=True)],
        )
        np.save(staging / SENTENCE_VECTORS, np.concatenate(sentence_vectors).astype(np.float16))
        dense.save(staging / DENSE)
        lexical.save(staging / LEXICAL)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest_fields,
            "corpus_fingerprint": corpus_fingerprint(documents),
            "counts": {"documents": len(documents), "passages": len(passages)},
            "dense_index": dense.kind,
            "files": _file_table(staging),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def read_manifest(index_dir: Path) -> dict[str, Any]:
    index_dir = Path(index_dir)
    recover(index_dir)
    path = index_dir / MANIFEST
    if not index_dir.is_dir():
        raise IndexLoadError(index_dir, "does not exist")
    if not path.is_file():
        raise IndexLoadError(index_dir, f"has no {MANIFEST} (it is not an index, or its build did not finish)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexLoadError(index_dir, f"has a corrupt {MANIFEST} ({exc})") from exc
    if not isinstance(manifest, dict):
        raise IndexLoadError(index_dir, f"has a corrupt {MANIFEST} (not a JSON object)")
    return manifest


def _check_field_types(index_dir: Path, manifest: dict[str, Any]) -> None:
    """The fields loading reads must have the types we wrote, or loading fails with a traceback."""
    def entry_ok(name: object, entry: object) -> bool:
        return (isinstance(name, str) and not Path(name).is_absolute() and ".." not in Path(name).parts
                and isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("sha256"), str))

    model, files, counts = manifest.get("model"), manifest.get("files"), manifest.get("counts")
    problem = (
        "model is not an object" if not isinstance(model, dict)
        else "files is not an object of {bytes, sha256} entries inside the folder"
        if not isinstance(files, dict) or not all(entry_ok(n, e) for n, e in files.items())
        else "counts is not an object of whole numbers"
        if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in ("documents", "passages"))
        else None
    )
    if problem:
        raise IndexLoadError(index_dir, f"has a corrupt {MANIFEST} ({problem})")


def check_manifest(index_dir: Path, manifest: dict[str, Any], model: dict[str, Any]) -> None:
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexLoadError(index_dir, f"has format version {version!r}; this program reads version {FORMAT_VERSION}")
    if manifest.get("tokenizer_version") != TOKENIZER_VERSION:
        raise IndexLoadError(index_dir, f"was tokenized by another version ({manifest.get('tokenizer_version')}, "
                             f"now {TOKENIZER_VERSION})")
    _check_field_types(index_dir, manifest)
    built_with = manifest.get("model", {})
    for key in ("name", "weights_sha256"):
        if built_with.get(key) != model.get(key):
            raise IndexLoadError(
                index_dir,
                f"was built with a different embedding model ({key} {built_with.get(key)!r}, "
                f"now {model.get(key)!r})",
            )
    for name, expected in manifest.get("files", {}).items():
        path = index_dir / name
        if not path.is_file():
            raise IndexLoadError(index_dir, f"is missing the file {name}")
        if path.stat().st_size != expected["bytes"] or sha256_file(path) != expected["sha256"]:
            raise IndexLoadError(index_dir, f"has a corrupt file {name} (its checksum does not match)")


def read_tokens(index_dir: Path) -> list[list[str]]:
    """Each passage's BM25 tokens, in passage order (read by updates, not by searches)."""
    with (Path(index_dir) / TOKENS).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_index(index_dir: Path, model: dict[str, Any], ef_search: int = 128) -> LoadedIndex:
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    check_manifest(index_dir, manifest, model)
    try:
        documents = {row["doc_id"]: Document(**row) for row in read_jsonl(index_dir / DOCUMENTS)}
        passages, sentence_counts = [], []
        for row in read_jsonl(index_dir / PASSAGES):
            text = documents[row["doc_id"]].text[row["start"]:row["end"]]
            passages.append(Passage(row["doc_id"], row["ordinal"], row["start"], row["end"], text))
            sentence_counts.append(row["sentences"])
        dense = DenseIndex.load(index_dir / DENSE, ef_search)
        lexical = LexicalIndex.load(index_dir / LEXICAL)
        sentence_vectors = np.load(index_dir / SENTENCE_VECTORS, mmap_mode="r")
        sentence_start = np.concatenate([[0], np.cumsum(sentence_counts)]).astype(np.int64)
    except Exception as exc:  # any parse failure of a checksummed file means a broken build
        raise IndexLoadError(index_dir, f"could not be read ({type(exc).__name__}: {exc})") from exc
    counts = manifest.get("counts", {})
    if (len(passages) != counts.get("passages") or len(dense) != len(passages)
            or sentence_start[-1] != len(sentence_vectors)):
        raise IndexLoadError(index_dir, "has passage counts that disagree between its files")
    return LoadedIndex(manifest, documents, passages, dense, lexical, sentence_vectors, sentence_start)

"""The index directory: immutable segments of documents, passages, vectors and BM25 term counts,
and manifest.json, which says which segments (and which of their documents) make up the index.

A full build writes one segment into a temporary sibling directory and renames it into
place. A live update (``index.live``) writes only a new small segment beside the others and
then replaces manifest.json in one rename: a reader sees the old manifest or the new one,
and a writer killed before the rename leaves files no manifest names (the next writer
removes them). Removed documents are listed in their segment's manifest entry; their
passages are left out when the index is loaded, and a segment rewritten when too much of it
is removed (compaction, ``index.live.update``).

Loading checks the manifest (format, model, every file's size and checksum) and says what is
wrong and how to rebuild. A segment already loaded and verified is reused as it is when the
index is loaded again (``load_index(previous=...)``): its files never change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.encoder.model_convert import sha256_file
from index.ingest.chunking import Passage
from index.ingest.documents import Document
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import COUNTS_FILE, VOCAB_FILE, LexicalIndex, TermCounts
from index.tokenize import TOKENIZER_VERSION

FORMAT_VERSION = 4  # 2: sentence vectors; 3: each passage's BM25 tokens; 4: immutable segments, BM25 term counts
MANIFEST = "manifest.json"
SEGMENTS = "segments"  # one folder per segment, each written once and never changed
DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.npy"  # float32 passage vectors (a flat FAISS index is filled from them on load)
SENTENCE_VECTORS = "sentence_vectors.npy"  # float16, every passage's sentences in passage order
SEGMENT_FILES = (DOCUMENTS, PASSAGES, VECTORS, SENTENCE_VECTORS, COUNTS_FILE, VOCAB_FILE)
DENSE_PREFIX = "dense-"  # dense-<n>.faiss: the HNSW graph and its vectors over every live passage, at HNSW size only
FileTable = dict[str, dict[str, Any]]  # relative path -> {"bytes", "sha256"}


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


@dataclass(frozen=True)
class Segment:
    """One segment as read from its files (verified against the manifest that named them)."""

    name: str
    files: FileTable  # the manifest entries its files were verified against
    documents: list[Document]
    passages: list[Passage]
    sentence_counts: np.ndarray  # per passage
    vectors: np.ndarray  # (passages, dim) float32, memory-mapped
    sentence_vectors: np.ndarray  # (sentences, dim) float16, memory-mapped
    terms: TermCounts

    def dead(self, deleted: Collection[str]) -> np.ndarray:
        """Which passages belong to removed documents."""
        return np.fromiter((p.doc_id in deleted for p in self.passages), dtype=bool, count=len(self.passages))

    def sentence_rows(self, alive: np.ndarray) -> np.ndarray:
        return np.repeat(alive, self.sentence_counts)


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    dense: DenseIndex
    lexical: LexicalIndex
    sentence_vectors: np.ndarray  # (all sentences, dim) float16
    sentence_start: np.ndarray  # passage i's sentences are rows sentence_start[i]:sentence_start[i + 1]
    segments: dict[str, Segment] = field(default_factory=dict)  # what a reload of the folder may reuse

    def sentences_of(self, passage_id: int) -> np.ndarray:
        return self.sentence_vectors[self.sentence_start[passage_id]:self.sentence_start[passage_id + 1]]

    @cached_property
    def passages_per_document(self) -> Counter[str]:
        """Counted once, not on every request that lists the documents."""
        return Counter(p.doc_id for p in self.passages)

    @cached_property
    def passage_ids_by_document(self) -> dict[str, np.ndarray]:
        """Each document's passage positions (what a filter selects), found once per index state."""
        positions: dict[str, list[int]] = {}
        for i, passage in enumerate(self.passages):
            positions.setdefault(passage.doc_id, []).append(i)
        return {doc_id: np.asarray(ids, dtype=np.int64) for doc_id, ids in positions.items()}


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


def _entry(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk, so the manifest never names files a power cut could lose."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def segment_name(number: int) -> str:
    return f"{number:06d}"


def segment_entry(name: str, documents: list[Document], passages: list[Passage]) -> dict[str, Any]:
    """A segment's manifest entry: its documents (with their passage counts) and which were removed."""
    counts = Counter(p.doc_id for p in passages)
    return {"name": name, "documents": {d.doc_id: counts[d.doc_id] for d in documents}, "deleted": []}


def segment_files(manifest_files: FileTable, name: str) -> FileTable:
    return {f"{SEGMENTS}/{name}/{f}": manifest_files[f"{SEGMENTS}/{name}/{f}"] for f in SEGMENT_FILES}


def live_documents(manifest: dict[str, Any]) -> dict[str, int]:
    """Each document the index holds, with its passage count (from the manifest alone)."""
    return {doc_id: n for entry in manifest["segments"] for doc_id, n in entry["documents"].items()
            if doc_id not in set(entry["deleted"])}


def write_segment(root: Path, name: str, documents: list[Document], passages: list[Passage], vectors: np.ndarray,
                  sentence_vectors: np.ndarray, sentence_counts: np.ndarray, terms: TermCounts,
                  sync: bool = False) -> FileTable:
    """Write a segment's files once, into root/segments/name; returns their manifest entries."""
    folder = root / SEGMENTS / name
    folder.mkdir(parents=True)
    _write_jsonl(folder / DOCUMENTS, [asdict(doc) for doc in documents])
    _write_jsonl(folder / PASSAGES,
                 [{"doc_id": p.doc_id, "ordinal": p.ordinal, "start": p.start, "end": p.end, "sentences": int(c)}
                  for p, c in zip(passages, sentence_counts, strict=True)])
    np.save(folder / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
    np.save(folder / SENTENCE_VECTORS, np.asarray(sentence_vectors, dtype=np.float16))
    terms.save(folder)
    table = {}
    for file in SEGMENT_FILES:
        if sync:
            _fsync(folder / file)
        table[f"{SEGMENTS}/{name}/{file}"] = _entry(folder / file)
    if sync:
        _fsync(folder)
        _fsync(folder.parent)
    return table


def _load_array(path: Path) -> np.ndarray:
    array = np.load(path, mmap_mode="r")
    return array if array.size else np.asarray(array)


def read_segment(index_dir: Path, name: str, files: FileTable) -> Segment:
    folder = Path(index_dir) / SEGMENTS / name
    documents = [Document(**row) for row in read_jsonl(folder / DOCUMENTS)]
    by_id = {doc.doc_id: doc for doc in documents}
    passages, counts = [], []
    for row in read_jsonl(folder / PASSAGES):
        text = by_id[row["doc_id"]].text[row["start"]:row["end"]]
        passages.append(Passage(row["doc_id"], row["ordinal"], row["start"], row["end"], text))
        counts.append(row["sentences"])
    segment = Segment(name, files, documents, passages, np.array(counts, dtype=np.int64), _load_array(folder / VECTORS),
                      _load_array(folder / SENTENCE_VECTORS), TermCounts.load(folder))
    if not (len(segment.vectors) == len(passages) == segment.terms.n_passages
            and int(segment.sentence_counts.sum()) == len(segment.sentence_vectors)):
        raise ValueError(f"segment {name} has passage counts that disagree between its files")
    return segment


LiveSegment = tuple[Segment, np.ndarray, set[str]]  # a segment, which passages are alive, its removed documents


def read_live_segments(index_dir: Path, manifest: dict[str, Any], entries: list[dict[str, Any]]) -> list[LiveSegment]:
    """The given segments, verified against their checksums first (their contents are about to be
    copied into new files), each with which of its passages are alive and its removed documents."""
    read = []
    for entry in entries:
        files = segment_files(manifest["files"], entry["name"])
        verify_files(Path(index_dir), files)
        segment = read_segment(index_dir, entry["name"], files)
        deleted = set(entry["deleted"])
        read.append((segment, ~segment.dead(deleted), deleted))
    return read


def merge_segments(root: Path, name: str, live: list[LiveSegment], sync: bool = False
                   ) -> tuple[dict[str, Any], FileTable]:
    """One new segment holding the alive documents and passages of the given ones, in order (compaction).
    A replaced document is removed in one segment and alive in another: what is removed is per segment."""
    documents = [d for segment, _, deleted in live for d in segment.documents if d.doc_id not in deleted]
    passages = [p for segment, alive, _ in live for p, a in zip(segment.passages, alive, strict=True) if a]
    if len({d.doc_id for d in documents}) != len(documents):
        raise ValueError(f"segment {name} would hold a document twice")
    files = write_segment(
        root, name, documents, passages, np.concatenate([s.vectors[alive] for s, alive, _ in live]),
        np.concatenate([s.sentence_vectors[s.sentence_rows(alive)] for s, alive, _ in live]),
        np.concatenate([s.sentence_counts[alive] for s, alive, _ in live]),
        TermCounts.concat([s.terms.without(~alive) for s, alive, _ in live]), sync)
    return segment_entry(name, documents, passages), files


def write_dense(root: Path, number: int, dense: DenseIndex) -> tuple[str, FileTable]:
    name = f"{DENSE_PREFIX}{number:06d}.faiss"
    dense.save(root / name)
    _fsync(root / name)
    return name, {name: _entry(root / name)}


def install_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace manifest.json in one rename (the moment an update takes effect)."""
    index_dir = Path(index_dir)
    staging = index_dir / f".{MANIFEST}.{os.getpid()}-{time.time_ns()}.tmp"
    with staging.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, index_dir / MANIFEST)
    _fsync(index_dir)


def remove_strays(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Delete what the manifest does not name: a killed writer's unfinished segment or manifest, and
    segments or dense graphs an update replaced. Only names this module writes are touched."""
    index_dir = Path(index_dir)
    named = {entry["name"] for entry in manifest["segments"]}
    for folder in (index_dir / SEGMENTS).iterdir() if (index_dir / SEGMENTS).is_dir() else ():
        if folder.is_dir() and folder.name.isdigit() and len(folder.name) == 6 and folder.name not in named:
            shutil.rmtree(folder, ignore_errors=True)
    for path in index_dir.glob(f"{DENSE_PREFIX}*.faiss"):
        if path.name != manifest.get("dense_file"):
            path.unlink(missing_ok=True)
    for path in index_dir.glob(f".{MANIFEST}.*.tmp"):
        path.unlink(missing_ok=True)


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
    """A full build: one segment (the BM25 counts are `lexical`'s, which were built from `token_lists`)."""
    if lexical.n_passages != len(token_lists) or len(passages) != len(token_lists):
        raise ValueError("passages, token lists and the BM25 index disagree in length")
    with atomic_directory(index_dir) as staging:
        name = segment_name(1)
        files = write_segment(staging, name, documents, passages, dense.vectors(),
                              np.concatenate(sentence_vectors), np.array([len(v) for v in sentence_vectors]),
                              TermCounts.concat(lexical.parts))
        dense_file = None
        if dense.kind == "hnsw":
            dense_file, table = write_dense(staging, 1, dense)
            files.update(table)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest_fields,
            "corpus_fingerprint": corpus_fingerprint(documents),
            "counts": {"documents": len(documents), "passages": len(passages)},
            "dense_index": dense.kind,
            "dense": dense.describe(),  # the FAISS type and its parameters (indexes before it: see dense_index)
            "dense_file": dense_file,
            "segments": [segment_entry(name, documents, passages)],
            "next_number": 2,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
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

    def segment_ok(entry: object) -> bool:
        return (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].isdigit()
                and isinstance(entry.get("documents"), dict) and isinstance(entry.get("deleted"), list))

    model, files, counts = manifest.get("model"), manifest.get("files"), manifest.get("counts")
    segments = manifest.get("segments")
    problem = (
        "model is not an object" if not isinstance(model, dict)
        else "files is not an object of {bytes, sha256} entries inside the folder"
        if not isinstance(files, dict) or not all(entry_ok(n, e) for n, e in files.items())
        else "counts is not an object of whole numbers"
        if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in ("documents", "passages"))
        else "segments is not a list of {name, documents, deleted} entries"
        if not isinstance(segments, list) or not segments or not all(segment_ok(e) for e in segments)
        else None
    )
    if problem:
        raise IndexLoadError(index_dir, f"has a corrupt {MANIFEST} ({problem})")


def check_manifest(index_dir: Path, manifest: dict[str, Any], model: dict[str, Any], verify: bool = True) -> None:
    """Format, tokenizer and model as this program expects; with `verify`, every file's size and checksum."""
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
    if verify:
        verify_files(index_dir, manifest["files"])


def verify_files(index_dir: Path, files: FileTable, trusted: Collection[str] = ()) -> None:
    """Every file's size and checksum, except the `trusted` ones (already verified, and never rewritten)."""
    for name, expected in files.items():
        if name in trusted:
            continue
        path = index_dir / name
        if not path.is_file():
            raise IndexLoadError(index_dir, f"is missing the file {name}")
        if path.stat().st_size != expected["bytes"] or sha256_file(path) != expected["sha256"]:
            raise IndexLoadError(index_dir, f"has a corrupt file {name} (its checksum does not match)")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def document_listing(index_dir: Path) -> list[tuple[Document, int]]:
    """Each document the index holds, with its passage count, in index order (reads no vectors)."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    _check_field_types(index_dir, manifest)
    listing = []
    for entry in manifest["segments"]:
        deleted = set(entry["deleted"])
        for row in read_jsonl(index_dir / SEGMENTS / entry["name"] / DOCUMENTS):
            if row["doc_id"] not in deleted:
                listing.append((Document(**row), entry["documents"].get(row["doc_id"], 0)))
    return listing


def load_index(index_dir: Path, model: dict[str, Any], ef_search: int = 128,
               previous: LoadedIndex | None = None) -> LoadedIndex:
    """Read and check the index. Segments of `previous` (the same folder loaded before) that the
    manifest still names with the same checksums are reused without reading or hashing them again.

    An update may delete segments it replaced while this reads them; then the manifest has
    changed, and the new one is read instead.
    """
    index_dir = Path(index_dir)
    for attempt in range(3):
        manifest = read_manifest(index_dir)
        try:
            return _load(index_dir, manifest, model, ef_search, previous)
        except IndexLoadError:
            try:
                changed = read_manifest(index_dir) != manifest
            except IndexLoadError:
                changed = False
            if attempt == 2 or not changed:
                raise
    raise AssertionError("unreachable")


def _load(index_dir: Path, manifest: dict[str, Any], model: dict[str, Any], ef_search: int,
          previous: LoadedIndex | None) -> LoadedIndex:
    check_manifest(index_dir, manifest, model, verify=False)
    files, entries, dense_file = manifest["files"], manifest["segments"], manifest.get("dense_file")
    try:
        tables = {entry["name"]: segment_files(files, entry["name"]) for entry in entries}
    except KeyError as exc:
        raise IndexLoadError(index_dir, f"has a corrupt {MANIFEST} (no checksum for {exc.args[0]})") from exc
    reused = {name: previous.segments[name] for name, table in tables.items()
              if previous is not None and name in previous.segments and previous.segments[name].files == table}
    reuse_dense = (previous is not None and dense_file is not None and previous.manifest.get("dense_file") == dense_file
                   and previous.manifest["files"].get(dense_file) == files.get(dense_file))
    trusted = {f for segment in reused.values() for f in segment.files} | ({dense_file} if reuse_dense else set())
    verify_files(index_dir, files, trusted)
    try:
        segments = [reused.get(e["name"]) or read_segment(index_dir, e["name"], tables[e["name"]]) for e in entries]
        documents: dict[str, Document] = {}
        passages: list[Passage] = []
        counts, vectors, sentences, parts = [], [], [], []
        for segment, entry in zip(segments, entries, strict=True):
            deleted = set(entry["deleted"])
            dead = segment.dead(deleted) if deleted else np.zeros(len(segment.passages), dtype=bool)
            documents.update((d.doc_id, d) for d in segment.documents if d.doc_id not in deleted)
            if dead.any():
                alive = ~dead
                passages += [p for p, a in zip(segment.passages, alive, strict=True) if a]
                counts.append(segment.sentence_counts[alive])
                vectors.append(segment.vectors[alive])
                sentences.append(segment.sentence_vectors[segment.sentence_rows(alive)])
            else:
                passages += segment.passages
                counts.append(segment.sentence_counts)
                vectors.append(segment.vectors)
                sentences.append(segment.sentence_vectors)
            parts.append(segment.terms.without(dead))
        if dense_file is None:
            dense = DenseIndex(_flat_index(vectors))
        else:
            dense = previous.dense if reuse_dense and previous is not None else DenseIndex.load(index_dir / dense_file,
                                                                                               ef_search)
        lexical = LexicalIndex(parts)
        sentence_vectors = sentences[0] if len(sentences) == 1 else np.concatenate(sentences)
        sentence_start = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    except Exception as exc:  # any parse failure of a checksummed file means a broken build
        raise IndexLoadError(index_dir, f"could not be read ({type(exc).__name__}: {exc})") from exc
    counted = manifest["counts"]
    if (len(passages) != counted["passages"] or len(documents) != counted["documents"]
            or len(dense) != len(passages) or sentence_start[-1] != len(sentence_vectors)):
        raise IndexLoadError(index_dir, "has passage counts that disagree between its files")
    return LoadedIndex(manifest, documents, passages, dense, lexical, sentence_vectors, sentence_start,
                       {segment.name: segment for segment in segments})


def _flat_index(blocks: list[np.ndarray]) -> faiss.Index:
    index = faiss.IndexFlatIP(blocks[0].shape[1])
    for block in blocks:
        index.add(np.ascontiguousarray(block, dtype=np.float32))
    return index

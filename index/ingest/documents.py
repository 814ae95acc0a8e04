"""Load a corpus: a folder of .txt/.md articles, or a .jsonl file of records.

A folder article may have a sidecar ``<stem>.meta.json``: its metadata, a JSON object
whose ``title``, ``source``, ``date`` and ``author`` fill those fields and whose other keys
are kept as they are (see corpus/README.md). A JSONL record is ``{"id", "title", "text"}``
plus any of those four fields and a ``metadata`` object. ``README`` files
in a corpus folder describe it and are not articles. Problems with
one file or line are collected and reported; they never stop the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.ingest.cleaning import clean_article
from index.ingest.formats import SUPPORTED_SUFFIXES, FormatError, NoTextError, extract_bytes, extract_file

ARTICLE_SUFFIXES = (".txt", ".md")
META_SUFFIX = ".meta.json"
METADATA_FIELDS = ("title", "source", "date", "author")
MAX_METADATA_BYTES = 8192  # a document's metadata object, as UTF-8 JSON
# JSON escapes can spell a lone surrogate (\udc00): not a character, so nothing downstream
# (the tokenizer, the embedder, the UTF-8 writer) can take it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str  # the cleaned text: citation offsets point into it
    source: str = ""
    date: str = ""
    author: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # metadata keys beyond the four fields above

    @property
    def metadata(self) -> dict[str, Any]:
        """The document's metadata object: title, source, date and author where set, and the rest."""
        fields = {"title": self.title, "source": self.source, "date": self.date, "author": self.author}
        return {**{k: v for k, v in fields.items() if v}, **self.extra}


class MetadataError(ValueError):
    """A metadata value that cannot be stored (not a JSON object, or over MAX_METADATA_BYTES)."""


def split_metadata(metadata: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """A metadata object as the four fields (as text) and the other keys (as given); MetadataError
    when it is not a JSON object of at most MAX_METADATA_BYTES."""
    if not isinstance(metadata, dict):
        raise MetadataError("metadata must be a JSON object")
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"metadata must hold JSON values only ({exc})") from exc
    if size > MAX_METADATA_BYTES:
        raise MetadataError(f"metadata is {size} bytes as JSON, over the {MAX_METADATA_BYTES} allowed")
    fields = {k: str(metadata[k]).strip() for k in METADATA_FIELDS if metadata.get(k) is not None}
    return fields, {k: v for k, v in metadata.items() if k not in METADATA_FIELDS}


@dataclass(frozen=True)
class LoadProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)


class CorpusError(ValueError):
    """The corpus path itself cannot be used (missing, wrong kind, nothing loadable)."""


def load_corpus(path: Path) -> LoadResult:
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.suffix in (".jsonl", *ARTICLE_SUFFIXES):
        files = [path]
        path = path.parent
    else:
        raise CorpusError(f"corpus must be a folder of .txt/.md files or a .jsonl file: {path}")
    result = LoadResult()
    first_seen: dict[str, str] = {}
    for file in files:
        for doc, where in _load_file(file, path, result):
            if doc.doc_id in first_seen:
                result.problems.append(LoadProblem(
                    str(file), where,
                    f"duplicate document id {doc.doc_id!r} (first in {first_seen[doc.doc_id]}); skipped",
                ))
                continue
            first_seen[doc.doc_id] = str(file)
            result.documents.append(doc)
    if not result.documents:
        details = "; ".join(str(p) for p in result.problems[:5]) or "no .txt, .md or .jsonl files"
        raise CorpusError(f"no documents could be loaded from {path} ({details})")
    return result


def load_paths(paths: list[Path], doc_id: str | None = None) -> LoadResult:
    """Documents to add: files of any supported type (their id is the file's stem), folders of
    them (README files skipped, ``<stem>.meta.json`` sidecars honoured) and ``.jsonl`` record
    files. `doc_id` names the one document when there is exactly one. Problems with one file
    are collected; they never stop the others."""
    result = LoadResult()
    for path in map(Path, paths):
        if not path.exists():
            result.problems.append(LoadProblem(str(path), None, "not found"))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.suffix.lower() in (*SUPPORTED_SUFFIXES, ".jsonl") and file.stem.upper() != "README":
                    result.documents += [doc for doc, _ in _load_any(file, result)]
        else:
            result.documents += [doc for doc, _ in _load_any(path, result)]
    seen: set[str] = set()
    unique = []
    for doc in result.documents:
        if doc.doc_id in seen and doc_id is None:
            result.problems.append(LoadProblem(doc.doc_id, None, f"duplicate document id {doc.doc_id!r}; "
                                               "only the first is added (give files distinct names)"))
            continue
        seen.add(doc.doc_id)
        unique.append(doc)
    result.documents = unique
    if doc_id is not None:
        if len(result.documents) != 1:
            raise CorpusError(f"--id names one document, but {len(result.documents)} were found")
        result.documents = [replace(result.documents[0], doc_id=doc_id)]
    return result


def document_from_upload(data: bytes, filename: str, doc_id: str | None = None, title: str | None = None,
                         source: str = "", date: str = "", metadata: dict[str, Any] | None = None) -> Document:
    """One uploaded file as a document (FormatError when it cannot be one). The fields given
    win over the same keys in `metadata`."""
    extracted = extract_bytes(data, filename)
    text = clean_article(extracted.text)
    if not text:
        raise NoTextError(f"{filename}: no text in it after cleaning")
    fields, extra = split_metadata(metadata or {})
    return Document(doc_id=doc_id or Path(filename).stem,
                    title=title or fields.get("title") or extracted.title or _first_line(text), text=text,
                    source=source or fields.get("source", ""), date=date or fields.get("date", ""),
                    author=fields.get("author", ""), extra=extra)


def document_from_text(doc_id: str, title: str, text: str, source: str = "", date: str = "",
                       metadata: dict[str, Any] | None = None) -> Document:
    """A document given as JSON fields, cleaned like any article; text the article cleaning would
    drop whole (it takes it all for page furniture) is kept with its blanks collapsed, as a
    question would be. NoTextError when nothing but blanks is left."""
    from index.query import clean_question

    cleaned = clean_article(text) or clean_question(text)
    if not cleaned:
        raise NoTextError(f"document {doc_id!r} has no text after cleaning")
    fields, extra = split_metadata(metadata or {})
    return Document(doc_id=doc_id, title=title.strip() or fields.get("title") or _first_line(cleaned), text=cleaned,
                    source=source or fields.get("source", ""), date=date or fields.get("date", ""),
                    author=fields.get("author", ""), extra=extra)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0][:80]


def _load_any(file: Path, result: LoadResult) -> list[tuple[Document, int | None]]:
    if file.suffix.lower() == ".jsonl":
        return _load_jsonl(file, result)
    try:
        extracted = extract_file(file)
    except FormatError as exc:
        result.problems.append(LoadProblem(str(file), None, str(exc).removeprefix(f"{file}: ")))
        return []
    text = clean_article(extracted.text)
    if not text:
        result.problems.append(LoadProblem(str(file), None, "empty after cleaning; skipped"))
        return []
    meta, extra = _read_metadata(file, result)
    title = meta.pop("title", "") or extracted.title or _first_line(text)
    return [(Document(doc_id=file.stem, title=title, text=text, **meta, extra=extra), None)]


def _load_file(file: Path, root: Path, result: LoadResult) -> list[tuple[Document, int | None]]:
    if file.suffix == ".jsonl":
        return _load_jsonl(file, result)
    if file.suffix in ARTICLE_SUFFIXES and file.stem.upper() != "README":
        doc = _load_article(file, file.relative_to(root).with_suffix("").as_posix(), result)
        return [(doc, None)] if doc else []
    return []


def _read_utf8(path: Path, result: LoadResult) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.problems.append(LoadProblem(str(path), None, f"cannot be read ({exc.strerror})"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        result.problems.append(
            LoadProblem(
                str(path), line,
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); convert it, e.g. iconv -f GBK -t UTF-8",
            )
        )
        return None


def _read_metadata(article: Path, result: LoadResult) -> tuple[dict[str, str], dict[str, Any]]:
    """The sidecar's four fields and its other keys ({} and {} when there is none or it is bad)."""
    sidecar = article.with_name(article.stem + META_SUFFIX)
    if not sidecar.is_file():
        return {}, {}
    text = _read_utf8(sidecar, result)
    if text is None:
        return {}, {}
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        result.problems.append(LoadProblem(str(sidecar), exc.lineno, f"invalid JSON ({exc.msg}); metadata ignored"))
        return {}, {}
    try:
        fields, extra = split_metadata(meta)
    except MetadataError as exc:
        result.problems.append(LoadProblem(str(sidecar), 1, f"{exc}; metadata ignored"))
        return {}, {}
    problem = lambda message: result.problems.append(LoadProblem(str(sidecar), None, message))  # noqa: E731
    return _repair_surrogates(fields, problem), _repair_extra(extra, problem)


def _repair_extra(extra: dict[str, Any], problem) -> dict[str, Any]:
    """Lone surrogates in the other metadata keys and values become U+FFFD too (one warning)."""
    text = json.dumps(extra, ensure_ascii=False)
    if not _LONE_SURROGATE.search(text):
        return extra
    problem("lone surrogate (not a character) in metadata; replaced by U+FFFD")
    return json.loads(_LONE_SURROGATE.sub("\ufffd", text))


def _repair_surrogates(fields: dict[str, str], problem) -> dict[str, str]:
    """Replace lone surrogates by U+FFFD in every field, with one warning naming the fields."""
    broken = [name for name, value in fields.items() if _LONE_SURROGATE.search(value)]
    if not broken:
        return fields
    example = ascii(_LONE_SURROGATE.search(fields[broken[0]]).group())
    problem(f"lone surrogate ({example}, not a character) in {', '.join(broken)}; replaced by U+FFFD")
    return {name: _LONE_SURROGATE.sub("\ufffd", value) for name, value in fields.items()}


def _load_article(path: Path, doc_id: str, result: LoadResult) -> Document | None:
    raw = _read_utf8(path, result)
    if raw is None:
        return None
    text = clean_article(raw)
    if not text:
        result.problems.append(LoadProblem(str(path), None, "empty after cleaning; skipped"))
        return None
    meta, extra = _read_metadata(path, result)
    title = meta.pop("title", "") or text.split("\n", 1)[0][:80]
    return Document(doc_id=doc_id, title=title, text=text, **meta, extra=extra)


def _load_jsonl(path: Path, result: LoadResult) -> list[tuple[Document, int | None]]:
    raw = _read_utf8(path, result)
    if raw is None:
        return []
    loaded = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            doc = _parse_record(line, path, number, result)
            if doc is not None:
                loaded.append((doc, number))
    return loaded


def _parse_record(line: str, path: Path, number: int, result: LoadResult) -> Document | None:
    def problem(message: str) -> None:
        result.problems.append(LoadProblem(str(path), number, message))

    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        problem(f"invalid JSON ({exc.msg}); line skipped")
        return None
    if not isinstance(record, dict):
        problem("a record must be a JSON object; line skipped")
        return None
    doc_id, text = record.get("id"), record.get("text")
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool) or str(doc_id).strip() == "":
        problem('missing or invalid "id"; line skipped')
        return None
    if not isinstance(text, str):
        problem('missing or non-string "text"; line skipped')
        return None
    extra: dict[str, Any] = {}
    fields = {"id": str(doc_id), "text": text}
    if record.get("metadata") is not None:
        try:
            inner, extra = split_metadata(record["metadata"])
        except MetadataError as exc:
            problem(f"{exc}; record skipped")
            return None
        fields |= inner
        extra = _repair_extra(extra, problem)
    fields |= {k: str(record[k]).strip() for k in METADATA_FIELDS if record.get(k) is not None}
    meta = _repair_surrogates(fields, problem)
    doc_id, cleaned = meta.pop("id"), clean_article(meta.pop("text"))
    if not cleaned:
        problem(f"record {doc_id!r} has empty text; skipped")
        return None
    title = meta.pop("title", "") or cleaned.split("\n", 1)[0][:80]
    return Document(doc_id=doc_id, title=title, text=cleaned, **meta, extra=extra)

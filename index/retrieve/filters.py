"""Filters: which documents a search may return, applied inside retrieval (before ranking).

A filter is a JSON object whose parts are ANDed::

    {"doc_id": ["a", "b"], "metadata": {"dept": "财政", "tags": ["预算", "审计"]},
     "date": {"gte": "2025-01", "lte": "2026-12"}}

``metadata`` keys match a document's metadata value equal to the value given, or to one of
the values of a list; a list-valued metadata entry matches when any of its items does.
``date`` bounds are ISO prefixes (``2025``, ``2025-03``, ``2025-03-09``) compared with the
same-length prefix of the document's date; a document without such a date never matches.
Retrievers get a ``Selection`` (the allowed passages) and search only inside it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from index.ingest.documents import Document
from index.query import QueryError

FILTER_KEYS = ("doc_id", "metadata", "date")
FILTER_HELP = ("only documents matching every part: doc_id (an id or a list of ids), metadata ({key: value "
               "or [values]}), date ({gte, lte} as YYYY, YYYY-MM or YYYY-MM-DD); applied inside retrieval, "
               "before ranking, so k results come back whenever k passages match")
DATE_BOUNDS = ("gte", "lte")
_ISO_PREFIX = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_DATE_BOUND = re.compile(r"[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?")  # as service/schemas.py
Scalar = str | int | float | bool


class FilterError(QueryError):
    """A filter that cannot be applied; the message names the part (filter.metadata.dept, ...)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__("invalid_filter", f"{where}: {message}")
        self.where = where


@dataclass(frozen=True)
class DocumentFilter:
    doc_ids: frozenset[str] | None = None
    metadata: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()
    date_gte: str | None = None
    date_lte: str | None = None

    def matches(self, document: Document) -> bool:
        if self.doc_ids is not None and document.doc_id not in self.doc_ids:
            return False
        metadata = document.metadata
        for key, wanted in self.metadata:
            if key not in metadata or not _value_matches(metadata[key], wanted):
                return False
        if self.date_gte is None and self.date_lte is None:
            return True
        found = _ISO_PREFIX.match(document.date.strip())
        if found is None:
            return False
        stored = found.group()
        if self.date_gte is not None and stored[:len(self.date_gte)] < self.date_gte:
            return False
        return self.date_lte is None or stored[:len(self.date_lte)] <= self.date_lte

    def key(self) -> str:
        """A canonical text of the filter (for caching what it selects)."""
        return json.dumps([sorted(self.doc_ids) if self.doc_ids is not None else None,
                           self.metadata, self.date_gte, self.date_lte], ensure_ascii=False)


@dataclass(frozen=True)
class Selection:
    """The passages a filter allows, in one index state."""

    doc_ids: tuple[str, ...]  # the matching documents
    passage_ids: np.ndarray  # sorted positions in LoadedIndex.passages (int64)
    mask: np.ndarray  # bool per passage

    def __len__(self) -> int:
        return len(self.passage_ids)

    @cached_property
    def bitmap(self) -> np.ndarray:
        """The mask as faiss's IDSelectorBitmap reads it, packed once per selection."""
        return np.packbits(self.mask, bitorder="little")


def parse_filter(value: Any) -> DocumentFilter | None:
    """A filter from its JSON object (or JSON text, as in a URL); None for no filter (null, {})."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise FilterError("filter", "is not valid JSON") from exc
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FilterError("filter", "must be a JSON object with doc_id, metadata and/or date")
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise FilterError(f"filter.{unknown[0]}", f"unknown key; a filter takes {', '.join(FILTER_KEYS)}")
    if not value:
        return None
    doc_ids = None
    if "doc_id" in value:
        ids = value["doc_id"]
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise FilterError("filter.doc_id", "must be a document id or a non-empty list of them")
        doc_ids = frozenset(ids)
    metadata = []
    if "metadata" in value:
        if not isinstance(value["metadata"], dict):
            raise FilterError("filter.metadata", "must be an object of key: value or key: [values]")
        for key, wanted in sorted(value["metadata"].items()):
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or not all(isinstance(v, Scalar) for v in values):
                raise FilterError(f"filter.metadata.{key}", "must be a string, number or boolean, or a "
                                  "non-empty list of them")
            metadata.append((key, tuple(values)))
    bounds: dict[str, str] = {}
    if "date" in value:
        given = value["date"]
        if not isinstance(given, dict) or set(given) - set(DATE_BOUNDS):
            raise FilterError("filter.date", 'must be an object with "gte" and/or "lte"')
        for bound, text in given.items():  # gte after lte is no error: it matches nothing
            if text is not None:
                bounds[bound] = _checked_date(f"filter.date.{bound}", text)
    return DocumentFilter(doc_ids, tuple(metadata), bounds.get("gte"), bounds.get("lte"))


def _checked_date(where: str, text: Any) -> str:
    """A bound as YYYY, YYYY-MM or YYYY-MM-DD (month 01-12, day 01-31: a bound compares as text, so
    2025-02-30 is a bound as good as any)."""
    if not isinstance(text, str) or not _DATE_BOUND.fullmatch(text):
        raise FilterError(where, "must be a date as YYYY, YYYY-MM or YYYY-MM-DD")
    return text


def _value_matches(stored: Any, wanted: tuple[Scalar, ...]) -> bool:
    items = stored if isinstance(stored, list) else [stored]
    return any(_same(item, w) for item in items for w in wanted)


def _same(a: Any, b: Scalar) -> bool:
    """Equal JSON values: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b or (isinstance(a, int | float) and isinstance(b, int | float) and a == b)


def select(index, document_filter: DocumentFilter) -> Selection:
    """The passages of the documents the filter matches, in `index` (a LoadedIndex); cached per
    index state, so a filter repeated on the same index costs a dictionary lookup."""
    return _selections(index)(document_filter.key(), document_filter)


def _selections(index):
    cache = index.__dict__.get("_selections")
    if cache is None:
        @lru_cache(maxsize=64)
        def cache(_key: str, document_filter: DocumentFilter) -> Selection:
            return _select(index, document_filter)

        index.__dict__["_selections"] = cache
    return cache


def _select(index, document_filter: DocumentFilter) -> Selection:
    documents = index.documents
    if document_filter.doc_ids is not None:  # the usual narrow case: look the ids up
        candidates = (documents[i] for i in document_filter.doc_ids if i in documents)
    else:
        candidates = documents.values()
    doc_ids = tuple(sorted(d.doc_id for d in candidates if document_filter.matches(d)))
    by_document = index.passage_ids_by_document
    parts = [by_document[i] for i in doc_ids if i in by_document]
    passage_ids = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    mask = np.zeros(len(index.passages), dtype=bool)
    mask[passage_ids] = True
    return Selection(doc_ids, passage_ids.astype(np.int64), mask)

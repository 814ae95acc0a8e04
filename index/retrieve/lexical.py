"""BM25 over jieba tokens, scored exactly as bm25s scores them, from term counts that can be combined.

An index is made of parts (the segments of an index folder), each a ``TermCounts``: the
term frequencies of its passages, written once. The statistics BM25 needs (number of
passages, document frequencies, average length) are global, so they are computed over all
the parts when a ``LexicalIndex`` is assembled; a token's score in each passage is computed
from them the first time a query uses it, with bm25s's formula and number types (method "lucene", k1 1.5, b 0.75:
idf in float32, the term-frequency part in float64, the product stored as float32, a
query's scores summed in float32 in query-token order). An index assembled from parts
therefore scores bit for bit like bm25s built on the same tokens (``tests/index/retrieve``),
and adding or removing documents never rebuilds the rest.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import compress
from pathlib import Path

import numpy as np

from index.retrieve.dense import Hit

K1, B = 1.5, 0.75  # bm25s's defaults, which the index has always used
COUNTS_FILE = "terms.npz"
VOCAB_FILE = "vocab.json"


@dataclass(frozen=True)
class TermCounts:
    """Term frequencies of some passages: a column-compressed passages × vocabulary matrix."""

    vocab: list[str]
    indptr: np.ndarray  # (len(vocab) + 1,) int64: column j's entries are indptr[j]:indptr[j + 1]
    rows: np.ndarray  # int32, the passage of each entry (ascending within a column)
    tf: np.ndarray  # int32, how often the column's token occurs in that passage
    lengths: np.ndarray  # int64, tokens per passage

    @classmethod
    def of(cls, token_lists: list[list[str]]) -> TermCounts:
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        for row, tokens in enumerate(token_lists):
            for token, tf in Counter(tokens).items():
                rows.append(row)
                cols.append(vocab.setdefault(token, len(vocab)))
                tfs.append(tf)
        lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.int64)
        return cls._from_entries(list(vocab), np.array(rows, np.int32), np.array(cols, np.int64),
                                 np.array(tfs, np.int32), lengths)

    @classmethod
    def _from_entries(cls, vocab: list[str], rows: np.ndarray, cols: np.ndarray, tf: np.ndarray,
                      lengths: np.ndarray) -> TermCounts:
        order = np.lexsort((rows, cols))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, rows[order], tf[order], lengths)

    @cached_property
    def columns(self) -> dict[str, int]:
        return dict(zip(self.vocab, range(len(self.vocab)), strict=True))

    @property
    def n_passages(self) -> int:
        return len(self.lengths)

    def doc_freqs(self) -> np.ndarray:
        return np.diff(self.indptr)

    def entry_columns(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.vocab), dtype=np.int64), self.doc_freqs())

    def without(self, dead: np.ndarray) -> TermCounts:
        """The same counts without the passages marked dead (the others renumbered in order)."""
        if not dead.any():
            return self
        alive = ~dead
        new_row = np.cumsum(alive, dtype=np.int64) - 1
        keep = alive[self.rows]
        kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])  # kept entries before each entry
        kept = TermCounts(self.vocab, kept_before[self.indptr], new_row[self.rows[keep]].astype(np.int32),
                          self.tf[keep], self.lengths[alive])
        kept.__dict__["columns"] = self.columns  # the same vocabulary: built once, shared
        return kept

    @classmethod
    def concat(cls, parts: list[TermCounts]) -> TermCounts:
        """The passages of all parts, in order, over the union of their vocabularies."""
        if len(parts) == 1:
            return parts[0]
        vocab: dict[str, int] = {}
        rows, cols, tfs, offset = [], [], [], 0
        for part in parts:
            ids = np.array([vocab.setdefault(t, len(vocab)) for t in part.vocab], dtype=np.int64)
            rows.append(part.rows.astype(np.int64) + offset)
            cols.append(ids[part.entry_columns()])
            tfs.append(part.tf)
            offset += part.n_passages
        return cls._from_entries(list(vocab), np.concatenate(rows).astype(np.int32), np.concatenate(cols),
                                 np.concatenate(tfs), np.concatenate([p.lengths for p in parts]))

    def save(self, directory: Path) -> list[Path]:
        """Write the two files; returns their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        counts, vocab = directory / COUNTS_FILE, directory / VOCAB_FILE
        with counts.open("wb") as handle:
            np.savez(handle, indptr=self.indptr, rows=self.rows, tf=self.tf, lengths=self.lengths)
        vocab.write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        return [counts, vocab]

    @classmethod
    def load(cls, directory: Path) -> TermCounts:
        with np.load(directory / COUNTS_FILE, allow_pickle=False) as arrays:
            indptr, rows, tf, lengths = (arrays[k] for k in ("indptr", "rows", "tf", "lengths"))
        vocab = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        if not (isinstance(vocab, list) and len(indptr) == len(vocab) + 1 and len(rows) == len(tf) == indptr[-1]):
            raise ValueError(f"term counts in {directory} disagree with their vocabulary")
        return cls(vocab, indptr, rows, tf, lengths)


class LexicalIndex:
    """BM25 over the passages of one or more parts, plus document frequencies (kept for evidence scoring).

    A token's weights (its BM25 score in each passage holding it) are computed the first time a
    query uses it and kept: assembling an index costs a pass over the vocabulary, not over every
    entry, so a server reloading a changed index folder stays cheap."""

    def __init__(self, parts: list[TermCounts]) -> None:
        self.parts = parts
        self.n_passages = sum(p.n_passages for p in parts)
        doc_freq: dict[str, int] = {}
        for part in sorted(parts, key=lambda p: -len(p.vocab)):  # the largest as one dict, the others added
            df = part.doc_freqs()
            present = df > 0
            pairs = zip(compress(part.vocab, present.tolist()), df[present].tolist(), strict=True)
            if not doc_freq:
                doc_freq = dict(pairs)
                continue
            for token, count in pairs:
                doc_freq[token] = doc_freq.get(token, 0) + count
        self.doc_freq = doc_freq
        total = sum(int(p.lengths.sum()) for p in parts)
        avg_len = np.float64(total) / self.n_passages if self.n_passages else np.float64(1.0)
        # bm25s's length normalisation, per passage: k1 * ((1 - b) + b * length / average length)
        self._norms = [K1 * ((1 - B) + B * p.lengths.astype(np.float64) / avg_len) for p in parts]
        self._offsets = np.cumsum([0] + [p.n_passages for p in parts])[:-1].tolist()
        self._weights: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        return cls([TermCounts.of(token_lists)])

    def _token_weights(self, token: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(passages, float32 weights) of a known token in each part, as bm25s computes them at indexing:
        idf in float32, the term-frequency part in float64, their product stored as float32."""
        cached = self._weights.get(token)
        if cached is not None:
            return cached
        df = self.doc_freq[token]
        idf = float(np.float32(math.log(1 + (self.n_passages - df + 0.5) / (df + 0.5))))
        found = []
        for part, norm, offset in zip(self.parts, self._norms, self._offsets, strict=True):
            j = part.columns.get(token)
            if j is None or part.indptr[j] == part.indptr[j + 1]:
                continue
            start, end = part.indptr[j], part.indptr[j + 1]
            rows = part.rows[start:end]
            tf = part.tf[start:end].astype(np.float64)
            found.append((rows + offset if offset else rows, (idf * (tf / (norm[rows] + tf))).astype(np.float32)))
        self._weights[token] = found  # one assignment: safe when searches run in threads
        return found

    def idf(self, token: str) -> float:
        """Lucene-style idf; 0 for a token no passage has."""
        df = self.doc_freq.get(token, 0)
        if df == 0:
            return 0.0
        return math.log(1 + (self.n_passages - df + 0.5) / (df + 0.5))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (zeros when no token is known); a repeated token counts again.
        Summed in float32 in query-token order, as bm25s sums."""
        scores = np.zeros(self.n_passages, dtype=np.float32)
        for token in tokens:
            if token in self.doc_freq:
                for rows, weights in self._token_weights(token):
                    scores[rows] += weights
        return scores

    def search(self, tokens: list[str], k: int, scores: np.ndarray | None = None) -> list[Hit]:
        """The k best passages; pass `scores` when they were already computed."""
        scores = self.scores(tokens) if scores is None else scores
        if k <= 0 or not scores.any():
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # by score, ties by passage number
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path) -> None:
        TermCounts.concat(self.parts).save(directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls([TermCounts.load(directory)])

"""BM25 over jieba tokens, scored exactly as bm25s scores them, from term counts that can be combined.

An index is made of parts (the segments of an index folder), each a ``TermCounts``: the
term frequencies of its passages, written once. The statistics BM25 needs (number of
passages, document frequencies, average length) are global, so they are computed over all
the parts when a ``LexicalIndex`` is assembled, and each part's per-entry scores are
computed then, with bm25s's formula and number types (method "lucene", k1 1.5, b 0.75:
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
        cols = self.entry_columns()[keep]
        indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(self.vocab)), out=indptr[1:])
        return TermCounts(self.vocab, indptr, new_row[self.rows[keep]].astype(np.int32), self.tf[keep],
                          self.lengths[alive])

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


@dataclass(frozen=True)
class _ScoredPart:
    offset: int  # the part's first passage in the whole index
    columns: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray  # int32 passage numbers in the whole index
    scores: np.ndarray  # float32 BM25 weight of each entry under the global statistics


class LexicalIndex:
    """BM25 over the passages of one or more parts, plus document frequencies (kept for evidence scoring)."""

    def __init__(self, parts: list[TermCounts]) -> None:
        self.parts = parts
        self.n_passages = sum(p.n_passages for p in parts)
        doc_freq: dict[str, int] = {}
        for part in parts:
            for token, df in zip(part.vocab, part.doc_freqs().tolist(), strict=True):
                if df:
                    doc_freq[token] = doc_freq.get(token, 0) + df
        self.doc_freq = doc_freq

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        return cls([TermCounts.of(token_lists)])

    @cached_property
    def _scored(self) -> list[_ScoredPart]:
        """Every entry's BM25 weight, computed once per assembled index as bm25s computes it at indexing."""
        total = sum(int(p.lengths.sum()) for p in self.parts)
        avg_len = np.float64(total) / self.n_passages if self.n_passages else np.float64(1.0)
        n = self.n_passages
        idf = {t: np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5))) for t, df in self.doc_freq.items()}
        scored, offset = [], 0
        for part in self.parts:
            idf_col = np.array([idf.get(t, 0.0) for t in part.vocab], dtype=np.float32)
            tf = part.tf.astype(np.float32).astype(np.float64)
            length = part.lengths[part.rows].astype(np.float64)
            tfc = tf / (K1 * ((1 - B) + B * length / avg_len) + tf)
            weights = (idf_col[part.entry_columns()].astype(np.float64) * tfc).astype(np.float32)
            columns = {t: j for j, t in enumerate(part.vocab) if part.indptr[j + 1] > part.indptr[j]}
            rows = part.rows if offset == 0 else (part.rows.astype(np.int64) + offset).astype(np.int32)
            scored.append(_ScoredPart(offset, columns, part.indptr, rows, weights))
            offset += part.n_passages
        return scored

    def idf(self, token: str) -> float:
        """Lucene-style idf; 0 for a token no passage has."""
        df = self.doc_freq.get(token, 0)
        if df == 0:
            return 0.0
        return math.log(1 + (self.n_passages - df + 0.5) / (df + 0.5))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (zeros when no token is known); a repeated token counts again."""
        scores = np.zeros(self.n_passages, dtype=np.float32)
        for token in tokens:
            if token not in self.doc_freq:
                continue
            for part in self._scored:
                j = part.columns.get(token)
                if j is not None:
                    start, end = part.indptr[j], part.indptr[j + 1]
                    scores[part.rows[start:end]] += part.scores[start:end]
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

"""BM25 over jieba tokens, with bm25s as the scoring engine."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np

from index.retrieve.dense import Hit

DOC_FREQ_FILE = "doc_freq.json"


class LexicalIndex:
    """A bm25s index plus document frequencies (kept for evidence scoring)."""

    def __init__(self, bm25: bm25s.BM25, doc_freq: dict[str, int], n_passages: int) -> None:
        self.bm25 = bm25
        self.doc_freq = doc_freq
        self.n_passages = n_passages

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        bm25 = bm25s.BM25()
        bm25.index(token_lists, show_progress=False)
        doc_freq = Counter(token for tokens in token_lists for token in set(tokens))
        return cls(bm25, dict(doc_freq), len(token_lists))

    def idf(self, token: str) -> float:
        """Lucene-style idf; 0 for a token no passage has."""
        df = self.doc_freq.get(token, 0)
        if df == 0:
            return 0.0
        return math.log(1 + (self.n_passages - df + 0.5) / (df + 0.5))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage (zeros when no token is known)."""
        known = [t for t in tokens if t in self.doc_freq]
        if not known:
            return np.zeros(self.n_passages, dtype=np.float32)
        return self.bm25.get_scores(known)

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
        directory.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(directory), show_progress=False)
        payload = {"n_passages": self.n_passages, "doc_freq": self.doc_freq}
        (directory / DOC_FREQ_FILE).write_text(json.dumps(payload, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        payload = json.loads((directory / DOC_FREQ_FILE).read_text())
        return cls(bm25, payload["doc_freq"], payload["n_passages"])

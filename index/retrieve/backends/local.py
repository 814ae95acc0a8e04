"""The local backend: the index folder's bm25s index and FAISS index, as loaded by index.store."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.retrieve.dense import Hit
from index.retrieve.filters import Selection
from index.store import LoadedIndex


@dataclass
class LocalLexicalHits:
    hits: list[Hit]
    all_scores: np.ndarray  # bm25s scores every passage at once: other passages' scores are free

    def scores(self, passage_ids: list[int]) -> np.ndarray:
        return self.all_scores[passage_ids]


class LocalRetriever:
    def __init__(self, index: LoadedIndex, exact_below: int) -> None:
        self.lexical = index.lexical
        self.dense = index.dense
        self.exact_below = exact_below

    @property
    def kind(self) -> str:
        return self.dense.kind

    @property
    def n_passages(self) -> int:
        return self.lexical.n_passages

    def idf(self, token: str) -> float:
        return self.lexical.idf(token)

    def lexical_search(self, question: str, tokens: list[str], n: int,
                       only: Selection | None = None) -> LocalLexicalHits:
        all_scores = self.lexical.scores(tokens)
        if only is not None:  # passages outside the filter score nothing, so they are never among the n
            all_scores = np.where(only.mask, all_scores, np.float32(0))
        return LocalLexicalHits(self.lexical.search(tokens, n, all_scores), all_scores)

    def dense_search(self, vector: np.ndarray, n: int, only: Selection | None = None) -> list[Hit]:
        if only is None:
            return self.dense.search(vector, n)
        return self.dense.search(vector, n, only.passage_ids, self.exact_below, only.bitmap)

    def dense_cosines(self, vector: np.ndarray, passage_ids: list[int]) -> np.ndarray:
        return self.dense.cosines(vector, passage_ids)

"""The FAISS inner-product index over normalized passage vectors (so scores are cosines)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

Hit = tuple[int, float]  # (passage number, score)


def make_faiss_index(dim: int, n_vectors: int, hnsw_threshold: int, hnsw_m: int) -> faiss.Index:
    """The one place the index type is chosen: exact below the threshold, HNSW at or above it."""
    if n_vectors >= hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 2 * hnsw_m
        return index
    return faiss.IndexFlatIP(dim)


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


class DenseIndex:
    def __init__(self, index: faiss.Index, ef_search: int = 128) -> None:
        self.index = index
        if isinstance(index, faiss.IndexHNSWFlat):
            index.hnsw.efSearch = ef_search

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int, hnsw_m: int,
              ef_search: int = 128) -> DenseIndex:
        index = make_faiss_index(vectors.shape[1], len(vectors), hnsw_threshold, hnsw_m)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, ef_search)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return index_kind(self.index)

    def search(self, query_vector: np.ndarray, k: int) -> list[Hit]:
        k = min(k, len(self))
        if k <= 0:
            return []
        scores, ids = self.index.search(query_vector.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def cosines(self, query_vector: np.ndarray, passage_ids: list[int]) -> np.ndarray:
        """The score of each given passage for the query (its stored vector, not a search)."""
        if not passage_ids:
            return np.zeros(0, dtype=np.float32)
        vectors = np.vstack([self.index.reconstruct(int(i)) for i in passage_ids])
        return vectors @ query_vector.astype(np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, ef_search: int = 128) -> DenseIndex:
        return cls(faiss.read_index(str(path)), ef_search)

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


def packed_bitmap(ids: np.ndarray, n: int) -> np.ndarray:
    """Passage ids as the bit array faiss's IDSelectorBitmap reads (bit i of byte i // 8, low bit first)."""
    mask = np.zeros(n, dtype=bool)
    mask[ids] = True
    return np.packbits(mask, bitorder="little")


class DenseIndex:
    def __init__(self, index: faiss.Index, ef_search: int = 128) -> None:
        self.index = index
        self.ef_search = ef_search
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

    def search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exact_below: int = 0, bitmap: np.ndarray | None = None) -> list[Hit]:
        """The k nearest passages; with `allowed` (sorted passage ids, a filter's), the k nearest of
        those. A selection of at most `exact_below` passages is scanned exactly (its vectors only: on
        HNSW a graph walk would mostly meet passages it must skip); a larger one is searched through
        a faiss IDSelectorBitmap (`bitmap`: the selection as little-endian packed bits, made here
        when not given), which skips the rest inside faiss."""
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return []
        query = query_vector.reshape(1, -1).astype(np.float32)
        if allowed is None:
            scores, ids = self.index.search(query, k)
        elif len(allowed) <= exact_below:
            cosines = self.stored_vectors()[allowed] @ query[0]
            top = np.argpartition(-cosines, k - 1)[:k]
            top = top[np.lexsort((allowed[top], -cosines[top]))]
            return [(int(allowed[i]), float(cosines[i])) for i in top]
        else:
            if bitmap is None:
                bitmap = packed_bitmap(allowed, len(self))
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))  # bitmap outlives the search
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, 2 * k))
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=selector))
            scores, ids = self.index.search(query, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def stored_vectors(self) -> np.ndarray:
        """Every stored vector, as a read-only view of faiss's own array (no copy): a flat index's,
        or an HNSW graph's flat storage."""
        flat = self.index if self.kind == "flat" else faiss.downcast_index(self.index.storage)
        view = faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.index.d).reshape(len(self), self.index.d)
        view.flags.writeable = False
        return view

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

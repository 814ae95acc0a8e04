"""The FAISS inner-product index over normalized passage vectors (so scores are cosines).

Below ``settings.hnsw_threshold`` passages the index is exact (``IndexFlatIP``, float32). At or
above it, an HNSW graph whose stored vectors are float16 (``IndexHNSWSQ`` with ``QT_fp16``): half
the memory of float32 storage, and the same recall (measured: docs/performance.md, "Dense index at
scale"). Indexes written before that (``IndexHNSWFlat``, float32) still load, search and take adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

Hit = tuple[int, float]  # (passage number, score)

EXACT_SCAN_ROWS = 16_384  # rows decoded at once by an exact scan of a selection (bounds its float32 copy)
# a selection of more passages is scanned exactly by faiss itself (all stored vectors, skipping those
# outside the bitmap: at 1M passages, 4.0 ms CPU for a 1% selection against 11.5 ms copying its rows out)
EXACT_GATHER_ROWS = 4_096
_STORAGE = {"fp16": faiss.ScalarQuantizer.QT_fp16, "sq8": faiss.ScalarQuantizer.QT_8bit}


def _defaults() -> Any:
    from index.settings import get_settings  # only for parameters a caller did not pass

    return get_settings()


def make_faiss_index(dim: int, n_vectors: int, hnsw_threshold: int, hnsw_m: int,
                     ef_construction: int | None = None, storage: str | None = None) -> faiss.Index:
    """The one place the index type is chosen: exact below the threshold, HNSW at or above it, its
    vectors stored as `storage` ("fp16": IndexHNSWSQ, "fp32": IndexHNSWFlat; default
    settings.hnsw_storage) and its graph built with `ef_construction` (default
    settings.hnsw_ef_construction)."""
    if n_vectors < hnsw_threshold:
        return faiss.IndexFlatIP(dim)
    storage = storage or _defaults().hnsw_storage
    if storage == "fp32":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    elif storage in _STORAGE:
        index = faiss.IndexHNSWSQ(dim, _STORAGE[storage], hnsw_m, faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown HNSW storage {storage!r} (fp16, fp32 or sq8)")
    index.hnsw.efConstruction = ef_construction or _defaults().hnsw_ef_construction
    return index


def _storage_of(index: faiss.Index) -> faiss.Index:
    """The index holding the vectors: the flat index itself, or an HNSW graph's storage."""
    return faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index


def storage_kind(index: faiss.Index) -> str:
    storage = _storage_of(index)
    if isinstance(storage, faiss.IndexScalarQuantizer):
        return {v: k for k, v in _STORAGE.items()}.get(storage.sq.qtype, f"sq{storage.sq.qtype}")
    return "fp32"


def index_kind(index: faiss.Index) -> str:
    """"hnsw" for any HNSW graph (float32 or float16 vectors; storage_kind tells which), else "flat"."""
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def packed_bitmap(ids: np.ndarray, n: int) -> np.ndarray:
    """Passage ids as the bit array faiss's IDSelectorBitmap reads (bit i of byte i // 8, low bit first)."""
    mask = np.zeros(n, dtype=bool)
    mask[ids] = True
    return np.packbits(mask, bitorder="little")


class DenseIndex:
    def __init__(self, index: faiss.Index, ef_search: int = 128, exact_share: float | None = None) -> None:
        """`ef_search`: an HNSW search's candidate list (raised to the k asked for when that is larger);
        `exact_share`: a filter selecting at most this share of the passages is scanned exactly
        (default settings.filter_exact_share; see `search`)."""
        self.index = index
        self.ef_search = ef_search
        self.exact_share = _defaults().filter_exact_share if exact_share is None else exact_share
        self._source: np.ndarray | None = None  # the float32 vectors a build was given (see `vectors`)
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = ef_search

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int, hnsw_m: int, ef_search: int = 128,
              ef_construction: int | None = None, storage: str | None = None) -> DenseIndex:
        source = np.ascontiguousarray(vectors, dtype=np.float32)
        index = make_faiss_index(source.shape[1], len(source), hnsw_threshold, hnsw_m, ef_construction, storage)
        if not index.is_trained:  # sq8 learns each dimension's range
            index.train(source)
        index.add(source)
        dense = cls(index, ef_search)
        if storage_kind(index) != "fp32":
            dense._source = source  # what `vectors` returns until the index is written (no copy)
        return dense

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return index_kind(self.index)

    def describe(self) -> dict[str, Any]:
        """The index's type and parameters, as the manifest records them."""
        described: dict[str, Any] = {"type": type(self.index).__name__, "storage": storage_kind(self.index)}
        if isinstance(self.index, faiss.IndexHNSW):
            hnsw = self.index.hnsw
            described.update(m=int(hnsw.nb_neighbors(1)), ef_construction=int(hnsw.efConstruction),
                             ef_search=self.ef_search)
        return described

    def search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
               exact_below: int = 0, bitmap: np.ndarray | None = None) -> list[Hit]:
        """The k nearest passages; with `allowed` (sorted passage ids, a filter's), the k nearest of
        those. A selection of at most max(`exact_below`, exact_share x passages) is scanned exactly
        (on HNSW a graph walk would mostly meet passages it must skip, and miss some of the
        selection's nearest): up to EXACT_GATHER_ROWS its vectors only, decoded from the stored ones,
        beyond that all stored vectors by faiss through the selection's bitmap. A larger selection
        is searched through a faiss IDSelectorBitmap (`bitmap`: the selection as little-endian packed
        bits, made here when not given), which skips the rest inside faiss."""
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return []
        query = query_vector.reshape(1, -1).astype(np.float32)
        exact = allowed is not None and len(allowed) <= max(exact_below, self.exact_share * len(self))
        if exact and len(allowed) <= EXACT_GATHER_ROWS:
            return self._exact(query[0], k, np.asarray(allowed, dtype=np.int64))
        selector = None
        if allowed is not None:
            if bitmap is None:
                bitmap = packed_bitmap(allowed, len(self))
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))  # bitmap outlives the search
        if exact:  # the stored vectors (flat or float16), scanned by faiss: no graph walk
            scores, ids = _storage_of(self.index).search(query, k, params=faiss.SearchParameters(sel=selector))
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, k))
            scores, ids = self.index.search(query, k, params=params)
        else:
            scores, ids = self.index.search(query, k, params=faiss.SearchParameters(sel=selector))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _exact(self, query: np.ndarray, k: int, allowed: np.ndarray) -> list[Hit]:
        cosines = np.empty(len(allowed), dtype=np.float32)
        for start in range(0, len(allowed), EXACT_SCAN_ROWS):
            rows = allowed[start:start + EXACT_SCAN_ROWS]
            cosines[start:start + len(rows)] = self.vectors_of(rows) @ query
        top = np.argpartition(-cosines, k - 1)[:k]
        top = top[np.lexsort((allowed[top], -cosines[top]))]
        return [(int(allowed[i]), float(cosines[i])) for i in top]

    def _stored_rows(self) -> np.ndarray | None:
        """The stored vectors as a read-only view of faiss's own array (no copy), float32 for flat
        storage, float16 for fp16 storage; None for other encodings (decoded by faiss instead)."""
        storage, n, d = _storage_of(self.index), len(self), self.index.d
        if isinstance(storage, faiss.IndexFlat):
            view = faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d)
        elif isinstance(storage, faiss.IndexScalarQuantizer) and storage.sq.qtype == faiss.ScalarQuantizer.QT_fp16:
            view = faiss.rev_swig_ptr(storage.codes.data(), n * storage.code_size).view(np.float16).reshape(n, d)
        else:
            return None
        view.flags.writeable = False
        return view

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of the given passages, as float32 (decoded from float16 storage)."""
        rows = self._stored_rows()
        if rows is None:
            return _storage_of(self.index).reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return rows[ids].astype(np.float32, copy=False)

    def vectors(self) -> np.ndarray:
        """Every passage's vector as the build was given it (float32, what a segment stores): the
        build's own array while this index has not been saved, else decoded from the stored ones."""
        if self._source is not None and len(self._source) == len(self):
            return self._source
        return self.index.reconstruct_n(0, len(self))

    def add(self, vectors: np.ndarray) -> None:
        """Add passages at the end (an HNSW graph takes them as new nodes)."""
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._source = None

    def cosines(self, query_vector: np.ndarray, passage_ids: list[int]) -> np.ndarray:
        """The score of each given passage for the query (its stored vector, not a search)."""
        if not passage_ids:
            return np.zeros(0, dtype=np.float32)
        return self.vectors_of(np.asarray(passage_ids, dtype=np.int64)) @ query_vector.astype(np.float32)

    def release_build_vectors(self) -> None:
        """Stop holding the array the build was given (`vectors` then decodes the stored ones)."""
        self._source = None

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))
        self.release_build_vectors()  # written with its segment: no longer needed

    @classmethod
    def load(cls, path: Path, ef_search: int = 128) -> DenseIndex:
        return cls(faiss.read_index(str(path)), ef_search)

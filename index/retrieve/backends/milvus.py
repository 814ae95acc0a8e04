"""The Milvus backend: an index's passages, documents and statistics in three Milvus collections.

- passages: id (INT64), doc_id, ordinal, start, end, our BM25 tokens (JSON, for the question
  view's idf), ``match`` (the normalized copy of the passage context, analysed by Milvus's
  jieba analyzer), ``sparse`` (Milvus's own BM25 Function over ``match``), ``dense`` (our
  encoder's vector, inner product) and the passage's sentence vectors (float16, base64:
  Milvus Lite has no FLOAT16 field type).
- documents: the cleaned text citations point into, in chunks (a VARCHAR holds 65,535 bytes).
- meta: a generation counter (bumped by every change, watched by followers) and the next id.

A replica needs nothing but the URI: documents, passages, sentence vectors and the token
statistics are read from Milvus when the index opens and held in memory, as the local
backend does (the limit at very large scale; the searches themselves run in Milvus).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pymilvus

from index.ingest.chunking import Passage
from index.ingest.documents import Document
from index.retrieve.backends import BackendError
from index.retrieve.dense import Hit
from index.retrieve.filters import Selection
from index.settings import Settings
from index.store import FORMAT_VERSION, LoadedIndex
from index.tokenize import TOKENIZER_VERSION, default_stopwords, ensure_jieba, normalize_for_match

# pymilvus configures its loggers when imported (above), then logs every failed call with a traceback
# and warns about Milvus Lite's missing features: our errors say what failed, in one line.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
for _name in list(logging.root.manager.loggerDict):
    if _name.startswith("pymilvus."):
        logging.getLogger(_name).setLevel(logging.NOTSET)

LITE_FILE = "milvus.db"  # Milvus Lite's database, inside the index folder
LAYOUT_VERSION = 1  # of the collections below; recorded in the manifest
VARCHAR_BYTES = 65_535
DOCUMENT_CHUNK_CHARS = 16_000  # at most 4 UTF-8 bytes a character: a chunk always fits a VARCHAR
SENTENCE_CHUNK_CHARS = 65_000  # base64 characters per element of the sentence-vector array
SENTENCE_CHUNKS = 64
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults (Milvus's own k1 default is 1.2)
SCAN_BATCH = 16_384  # Milvus's largest query result
_PLACEHOLDER = [0.0, 0.0]  # every Milvus collection needs a vector field; documents and meta have none


def _punctuation() -> list[str]:
    """Every separator, symbol, punctuation and control character: jieba emits each as a token
    and Milvus Lite's analyzer has no working punctuation filter, so the stop filter drops them
    (our tokenizer drops every token without a letter or digit)."""
    return [chr(c) for c in range(0x10000)
            if unicodedata.category(chr(c))[0] in "PSZ" or unicodedata.category(chr(c)) in ("Cc", "Cf")] + ["\r\n"]


def analyzer_params() -> dict[str, Any]:
    """jieba in precise mode, as our tokenizer; our stopwords (plus punctuation) as a stop filter."""
    return {"tokenizer": {"type": "jieba", "mode": "exact", "dict": ["_default_"]},
            "filter": [{"type": "stop", "stop_words": sorted(default_stopwords()) + _punctuation()}]}


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "unix:"))


def check_uri(uri: str) -> None:
    if is_server(uri) and "@" in urlsplit(uri).netloc:
        raise BackendError(f"the Milvus URI {uri.split('@')[-1]} carries credentials; give them in QA_MILVUS_TOKEN "
                           "instead (the URI is written to the manifest, the token never is)")


def resolve_uri(index_dir: Path, manifest_uri: str) -> str:
    """A server's URI as written; a Milvus Lite file is named relative to its index folder."""
    return manifest_uri if is_server(manifest_uri) else str(Path(index_dir).absolute() / manifest_uri)


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _lite_busy(path: str) -> bool:
    """True when another process (or a server this process lost track of) holds the Lite file's lock."""
    import fcntl

    lock = Path(path) / "LOCK"
    if not lock.is_file():
        return False
    with lock.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _lite_servers() -> Any:
    from milvus_lite.server_manager import server_manager_instance

    return server_manager_instance


def connect(uri: str, settings: Settings) -> Any:
    """One client per URI per process (Milvus Lite allows one process per file, and every
    index opened in this process shares it)."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            ensure_jieba()  # Milvus Lite's analyzer uses jieba: load its dictionary quietly, once
            if not is_server(uri) and _lite_busy(uri):
                raise BackendError(
                    f"the Milvus Lite database {uri} is open in another process (a running qa serve?); Milvus "
                    "Lite allows one process per file: change documents through that server's API (POST/PUT/"
                    "DELETE /api/documents), stop it first, or use a Milvus server (QA_MILVUS_URI)")
            try:
                if is_server(uri):
                    client = pymilvus.MilvusClient(uri, token=settings.milvus_token, timeout=settings.milvus_timeout)
                else:
                    client = pymilvus.MilvusClient(uri)
            except Exception as exc:
                where = f"cannot reach Milvus at {uri}" if is_server(uri) else f"cannot open Milvus Lite at {uri}"
                raise BackendError(f"{where} ({getattr(exc, 'message', None) or exc})") from exc
            _clients[uri] = client
        return client


def disconnect(uri: str) -> None:
    """Close this process's client for `uri`; for Milvus Lite, stop its in-process server so the
    file is released (closing the client alone keeps it)."""
    with _clients_lock:
        client = _clients.pop(uri, None)
        if client is not None:
            client.close()
        if not is_server(uri):
            _lite_servers().release_server(uri)


def collection_names(prefix: str, build_id: str) -> dict[str, str]:
    return {kind: f"{prefix}_{build_id}_{kind}" for kind in ("passages", "documents", "meta")}


def fit(text: str, limit: int = VARCHAR_BYTES) -> str:
    """Cut text to a VARCHAR's byte limit (only the analysed copy of an extremely long title can need it)."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def quoted(values: list[str]) -> str:
    """A list of strings as a Milvus filter literal (Milvus Lite has no filter templates)."""
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def encode_sentences(vectors: np.ndarray) -> list[str]:
    text = base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")
    chunks = [text[i:i + SENTENCE_CHUNK_CHARS] for i in range(0, len(text), SENTENCE_CHUNK_CHARS)] or [""]
    if len(chunks) > SENTENCE_CHUNKS:
        raise BackendError(f"a passage has {len(vectors)} sentences, more than the Milvus layout holds")
    return chunks


def decode_sentences(chunks: list[str], dim: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=np.float16).reshape(-1, dim)


class MilvusStore:
    """The collections of one Milvus index: creating, writing, reading them."""

    def __init__(self, client: Any, uri: str, names: dict[str, str]) -> None:
        self.client, self.uri, self.names = client, uri, names

    def call(self, what: str, fn, *args, **kwargs):
        """Run a client call; Milvus's failure becomes a one-line BackendError naming the URI."""
        try:
            return fn(*args, **kwargs)
        except pymilvus.exceptions.MilvusException as exc:
            raise BackendError(f"Milvus at {self.uri} failed to {what} ({getattr(exc, 'message', exc)})") from exc

    # --- creating ---------------------------------------------------------
    def create(self, dim: int, dense_kind: str, settings: Settings) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        for name in ("ordinal", "start", "end", "n_sentences"):
            schema.add_field(name, DataType.INT64)
        schema.add_field("tokens", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("match", DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=True,
                         analyzer_params=analyzer_params())
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sentences", DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=SENTENCE_CHUNKS, max_length=VARCHAR_BYTES)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["match"], output_field_names=["sparse"]))
        index = c.prepare_index_params()
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        if dense_kind == "hnsw":
            index.add_index("dense", index_type="HNSW", metric_type="IP",
                            params={"M": settings.hnsw_m, "efConstruction": 200})
        else:
            index.add_index("dense", index_type="FLAT", metric_type="IP")
        self.call("create a collection", c.create_collection, self.names["passages"], schema=schema,
                  index_params=index, consistency_level="Strong")

        schema = c.create_schema(auto_id=True)
        schema.add_field("id", DataType.INT64, is_primary=True)
        for name in ("doc_id", "title", "source", "date", "author", "text", "extra"):  # extra: JSON
            schema.add_field(name, DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("chunk", DataType.INT64)
        schema.add_field("position", DataType.INT64)
        schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(_PLACEHOLDER))
        self._create_plain(self.names["documents"], schema)

        schema = c.create_schema(auto_id=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(_PLACEHOLDER))
        self._create_plain(self.names["meta"], schema)

    def _create_plain(self, name: str, schema: Any) -> None:
        index = self.client.prepare_index_params()
        index.add_index("placeholder", index_type="FLAT", metric_type="L2")
        self.call("create a collection", self.client.create_collection, name, schema=schema, index_params=index,
                  consistency_level="Strong")

    def drop(self) -> None:
        for name in self.names.values():
            if self.call("list collections", self.client.has_collection, name):
                self.call("drop a collection", self.client.drop_collection, name)

    # --- writing ----------------------------------------------------------
    def _insert(self, name: str, rows: list[dict[str, Any]], batch: int) -> None:
        for at in range(0, len(rows), batch):
            self.call("insert rows", self.client.insert, name, rows[at:at + batch])

    def insert_documents(self, documents: list[Document], first_position: int, batch: int) -> None:
        rows = [{"doc_id": d.doc_id, "title": fit(d.title), "source": fit(d.source), "date": fit(d.date),
                 "author": fit(d.author), "extra": json.dumps(d.extra, ensure_ascii=False) if i == 0 else "",
                 "chunk": i, "position": first_position + n,
                 "text": d.text[at:at + DOCUMENT_CHUNK_CHARS], "placeholder": _PLACEHOLDER}
                for n, d in enumerate(documents)
                for i, at in enumerate(range(0, max(len(d.text), 1), DOCUMENT_CHUNK_CHARS))]
        if not self.has_field("documents", "extra"):  # a collection from before metadata keeps its schema
            rows = [{k: v for k, v in row.items() if k != "extra"} for row in rows]
        self._insert(self.names["documents"], rows, batch)

    def insert_passages(self, first_id: int, passages: list[Passage], contexts: list[str],
                        token_lists: list[list[str]], vectors: np.ndarray, sentence_vectors: list[np.ndarray],
                        batch: int) -> None:
        rows = ({"id": first_id + i, "doc_id": p.doc_id, "ordinal": p.ordinal, "start": p.start, "end": p.end,
                 "n_sentences": len(s), "tokens": fit(json.dumps(t, ensure_ascii=False)),
                 "match": fit(normalize_for_match(c)), "dense": v.tolist(), "sentences": encode_sentences(s)}
                for i, (p, c, t, v, s) in enumerate(zip(passages, contexts, token_lists, vectors, sentence_vectors,
                                                        strict=True)))
        chunk: list[dict[str, Any]] = []
        for row in rows:  # built batch by batch: 100,000 rows of text and vectors at once would be large
            chunk.append(row)
            if len(chunk) == batch:
                self._insert(self.names["passages"], chunk, batch)
                chunk = []
        self._insert(self.names["passages"], chunk, batch)

    def delete_documents(self, doc_ids: list[str]) -> None:
        for kind in ("passages", "documents"):
            self.call("delete rows", self.client.delete, self.names[kind], filter=f"doc_id in {quoted(doc_ids)}")

    def set_meta(self, values: dict[str, Any]) -> None:
        rows = [{"key": k, "value": json.dumps(v), "placeholder": _PLACEHOLDER} for k, v in values.items()]
        self.call("write the meta collection", self.client.upsert, self.names["meta"], rows)

    def flush(self) -> None:
        for name in self.names.values():
            self.call("flush", self.client.flush, name)

    # --- reading ----------------------------------------------------------
    def check_collections(self, index_dir: Path) -> None:
        existing = set(self.call("list collections", self.client.list_collections))
        for kind, name in self.names.items():
            if name not in existing:
                raise BackendError(
                    f"index at {index_dir} names the Milvus collection {name} ({kind}), which {self.uri} no "
                    f"longer has; rebuild it with: qa index --backend milvus --index-dir {index_dir}")
        for name in self.names.values():
            self.call("load a collection", self.client.load_collection, name)

    def meta(self) -> dict[str, Any]:
        rows = self.call("read the meta collection", self.client.query, self.names["meta"], filter='key != ""',
                         output_fields=["key", "value"])
        return {row["key"]: json.loads(row["value"]) for row in rows}

    def generation(self) -> int:
        rows = self.call("read the generation", self.client.get, self.names["meta"], ids=["generation"],
                         output_fields=["value"])
        return int(json.loads(rows[0]["value"])) if rows else 0

    def scan(self, kind: str, fields: list[str], filter: str = "") -> list[dict[str, Any]]:
        """Every row of a collection, read in ranges of its ordering key (passages: id, documents:
        position), each range split until it fits Milvus's query limit (a long document is many rows).
        Not query_iterator: Milvus Lite does not implement the timestamp call it makes."""
        key = "id" if kind == "passages" else "position"
        end = int(self.meta()["next_id" if kind == "passages" else "next_position"])
        step = SCAN_BATCH if kind == "passages" else SCAN_BATCH // 16
        rows: list[dict[str, Any]] = []
        ranges = [(at, min(at + step, end)) for at in range(0, end, step)]
        while ranges:
            low, high = ranges.pop(0)
            where = f"{key} >= {low} and {key} < {high}" + (f" and ({filter})" if filter else "")
            found = self.call(f"read the {kind} collection", self.client.query, self.names[kind],
                              filter=where, output_fields=fields, limit=SCAN_BATCH)
            if len(found) < SCAN_BATCH or high - low == 1:
                rows.extend(found)
            else:  # the range may hold more rows than one query returns: read it in halves
                middle = (low + high) // 2
                ranges[:0] = [(low, middle), (middle, high)]
        return rows

    def has_field(self, kind: str, field: str) -> bool:
        described = self.call("describe a collection", self.client.describe_collection, self.names[kind])
        return any(f["name"] == field for f in described["fields"])

    def documents(self) -> dict[str, Document]:
        fields = ["doc_id", "chunk", "position", "title", "source", "date", "author", "text"]
        with_extra = self.has_field("documents", "extra")  # indexes built before metadata have none
        rows = self.scan("documents", fields + ["extra"] * with_extra)
        rows.sort(key=lambda r: (r["position"], r["chunk"]))
        documents: dict[str, Document] = {}
        parts: dict[str, list[str]] = {}
        for row in rows:
            parts.setdefault(row["doc_id"], []).append(row["text"])
            if row["chunk"] == 0:
                documents[row["doc_id"]] = Document(row["doc_id"], row["title"], "", row["source"], row["date"],
                                                    row["author"], json.loads(row.get("extra") or "{}"))
        return {doc_id: replace(d, text="".join(parts[doc_id])) for doc_id, d in documents.items()}


def selection_expr(only: Selection) -> str:
    """A filter's documents as a Milvus filter expression on the passages' doc_id field."""
    return f"doc_id in {quoted(list(only.doc_ids))}"


class MilvusLexicalHits:
    """Milvus's BM25 top passages; other passages' scores come from a search restricted to them."""

    def __init__(self, retriever: MilvusRetriever, text: str, hits: list[Hit]) -> None:
        self.retriever, self.text, self.hits = retriever, text, hits

    def scores(self, passage_ids: list[int]) -> np.ndarray:
        known = dict(self.hits)
        missing = [i for i in passage_ids if i not in known]
        if missing and self.text:
            known.update(self.retriever.bm25(self.text, len(missing), missing))
        return np.array([known.get(i, 0.0) for i in passage_ids], dtype=np.float64)


class MilvusRetriever:
    """The Retriever of a Milvus index: BM25 and dense searches run in Milvus; passage ids are
    positions in the loaded passage list (Milvus ids need not be contiguous after removals)."""

    def __init__(self, store: MilvusStore, milvus_ids: list[int], doc_freq: dict[str, int], kind: str,
                 ef_search: int) -> None:
        self.store = store
        self.milvus_ids = milvus_ids
        self.position = {m: i for i, m in enumerate(milvus_ids)}
        self.doc_freq = doc_freq
        self.n_passages = len(milvus_ids)
        self.kind = kind
        self.ef_search = ef_search
        self._last = threading.local()  # the last dense search's scores, per thread (see dense_cosines)

    def __len__(self) -> int:
        return self.n_passages

    def idf(self, token: str) -> float:
        """Lucene-style idf of OUR tokens (the ranking stage's features), as the local backend's."""
        df = self.doc_freq.get(token, 0)
        return 0.0 if df == 0 else math.log(1 + (self.n_passages - df + 0.5) / (df + 0.5))

    def _hits(self, results: Any) -> list[Hit]:
        # Milvus Lite returns BM25 distances negated (better is more negative); a server returns them
        # positive. A BM25 score is never negative, so its magnitude is the score either way. Milvus's
        # BM25 keeps the (k1 + 1) factor that bm25s's Lucene variant drops (measured: 2.50 times bm25s
        # on the seed questions): divided out, the ranking stage sees scores on the scale it was trained on.
        hits = [(self.position[h["id"]], abs(float(h["distance"])) / (BM25_K1 + 1)) for h in results[0]
                if h["id"] in self.position]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))  # ties by passage number, as bm25s's

    def bm25(self, text: str, n: int, only: list[int] | None = None, expr: str = "") -> list[Hit]:
        where = " and ".join(part for part in (
            "" if only is None else f"id in {[self.milvus_ids[i] for i in only]}", expr) if part)
        extra = {"filter": where} if where else {}
        results = self.store.call("search", self.store.client.search, self.store.names["passages"], data=[text],
                                  anns_field="sparse", limit=n, output_fields=[],
                                  search_params={"metric_type": "BM25"}, **extra)
        return [hit for hit in self._hits(results) if hit[1] > 0]

    def lexical_search(self, question: str, tokens: list[str], n: int,
                       only: Selection | None = None) -> MilvusLexicalHits:
        text = fit(normalize_for_match(question))
        expr = "" if only is None else selection_expr(only)
        hits = self.bm25(text, min(n, 16_384), expr=expr) if text.strip() and n > 0 and (
            only is None or len(only)) else []
        return MilvusLexicalHits(self, text if text.strip() else "", hits)

    def dense_search(self, vector: np.ndarray, n: int, only: Selection | None = None) -> list[Hit]:
        if n <= 0 or (only is not None and not len(only)):
            return []
        extra = {} if only is None else {"filter": selection_expr(only)}
        vector = np.asarray(vector, dtype=np.float32)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "hnsw":
            params["params"] = {"ef": max(self.ef_search, n)}
        results = self.store.call("search", self.store.client.search, self.store.names["passages"],
                                  data=[vector.tolist()], anns_field="dense", limit=min(n, 16_384), output_fields=[],
                                  search_params=params, **extra)
        hits = [(self.position[h["id"]], float(h["distance"])) for h in results[0] if h["id"] in self.position]
        self._last.vector, self._last.scores = vector.tobytes(), dict(hits)
        return hits

    def dense_cosines(self, vector: np.ndarray, passage_ids: list[int]) -> np.ndarray:
        """Cosines of the given passages: those the last dense search of this thread found (for the
        same vector) are known; the rest are read back from Milvus (one call, not one per passage)."""
        vector = np.asarray(vector, dtype=np.float32)
        known = self._last.scores if getattr(self._last, "vector", None) == vector.tobytes() else {}
        missing = [self.milvus_ids[i] for i in passage_ids if i not in known]
        if missing:
            rows = self.store.call("read vectors", self.store.client.get, self.store.names["passages"], ids=missing,
                                   output_fields=["dense"])
            known = {**known, **{self.position[row["id"]]: float(np.asarray(row["dense"], dtype=np.float32) @ vector)
                                 for row in rows}}
        return np.array([known[i] for i in passage_ids], dtype=np.float32)


@dataclass
class MilvusLoadedIndex(LoadedIndex):
    """A LoadedIndex read from Milvus; `dense` and `lexical` are its retriever too (for /healthz's
    index kind and the token statistics)."""

    retriever: MilvusRetriever | None = None
    store: MilvusStore | None = None
    generation: int = 0


def check_milvus_manifest(index_dir: Path, manifest: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    milvus = manifest.get("milvus")
    if manifest.get("format_version") != FORMAT_VERSION or not isinstance(milvus, dict) \
            or milvus.get("layout") != LAYOUT_VERSION or not isinstance(milvus.get("collections"), dict) \
            or not isinstance(milvus.get("uri"), str):
        raise BackendError(f"index at {index_dir} has a Milvus manifest this program cannot read; rebuild it "
                           f"with: qa index --backend milvus --index-dir {index_dir}")
    # BackendError, not IndexLoadError: the evaluation rebuilds an index that fails with the latter, and
    # would rebuild a Milvus index as local files; the user decides where a rebuild goes.
    rebuild = f"; rebuild it with: qa index --backend milvus --index-dir {index_dir}"
    if manifest.get("tokenizer_version") != TOKENIZER_VERSION:
        raise BackendError(f"index at {index_dir} was tokenized by another version "
                           f"({manifest.get('tokenizer_version')}, now {TOKENIZER_VERSION}){rebuild}")
    built_with = manifest.get("model", {})
    for key in ("name", "weights_sha256", "converter_version", "encoder"):
        if key in model and built_with.get(key) != model.get(key):
            raise BackendError(f"index at {index_dir} was built with a different embedding model or encoder "
                               f"({key} {built_with.get(key)!r}, now {model.get(key)!r}){rebuild}")
    return milvus


def open_store(index_dir: Path, manifest: dict[str, Any], settings: Settings) -> MilvusStore:
    milvus = manifest["milvus"]
    uri = resolve_uri(index_dir, milvus["uri"])
    if not is_server(uri) and not Path(uri).exists():
        raise BackendError(f"index at {index_dir} names the Milvus Lite database {milvus['uri']}, which is missing; "
                           f"rebuild it with: qa index --backend milvus --index-dir {index_dir}")
    store = MilvusStore(connect(uri, settings), uri, dict(milvus["collections"]))
    store.check_collections(index_dir)
    return store


def load_milvus_index(index_dir: Path, manifest: dict[str, Any], model: dict[str, Any],
                      settings: Settings) -> MilvusLoadedIndex:
    milvus = check_milvus_manifest(index_dir, manifest, model)
    store = open_store(index_dir, manifest, settings)
    generation = store.generation()
    documents = store.documents()
    dim = int(manifest["model"]["dim"])
    rows = store.scan("passages", ["id", "doc_id", "ordinal", "start", "end", "tokens", "n_sentences", "sentences"])
    rows.sort(key=lambda r: r["id"])
    passages, doc_freq, blocks, counts = [], Counter(), [], []
    for row in rows:
        document = documents.get(row["doc_id"])
        if document is None:
            continue  # a passage whose document a writer is removing right now
        passages.append(Passage(row["doc_id"], row["ordinal"], row["start"], row["end"],
                                document.text[row["start"]:row["end"]]))
        doc_freq.update(set(json.loads(row["tokens"])))
        vectors = decode_sentences(row["sentences"], dim)
        blocks.append(vectors)
        counts.append(len(vectors))
    kept = {row["id"] for row in rows if row["doc_id"] in documents}
    retriever = MilvusRetriever(store, [row["id"] for row in rows if row["id"] in kept], dict(doc_freq),
                                milvus.get("dense_index", "flat"), settings.hnsw_ef_search)
    sentence_vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float16)
    sentence_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    counts_now = {"documents": len(documents), "passages": len(passages)}
    return MilvusLoadedIndex({**manifest, "counts": counts_now}, documents, passages, retriever, retriever,
                             sentence_vectors, sentence_start, retriever=retriever, store=store,
                             generation=generation)


def document_table(index_dir: Path, manifest: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """What `qa documents` lists, read from Milvus: id, title, date, characters, passages."""
    check_milvus_manifest(index_dir, manifest, manifest.get("model", {}))
    store = open_store(index_dir, manifest, settings)
    passages = Counter(row["doc_id"] for row in store.scan("passages", ["doc_id"]))
    return [{"doc_id": d.doc_id, "title": d.title, "date": d.date, "chars": len(d.text),
             "passages": passages[d.doc_id]} for d in store.documents().values()]

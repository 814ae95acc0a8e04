"""All configuration of the project, in one place.

Every value can be overridden by an environment variable with the prefix
``QA_`` (for example ``QA_RRF_K=30``) or by a command-line flag where one exists.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zhqa"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    # --- where things live -------------------------------------------------
    corpus_path: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / ".index" / "seed"
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    # --- embedding model ---------------------------------------------------
    model_name: str = "multilingual-e5-small"
    embed_batch_size: int = 16
    max_seq_length: int = 512
    torch_threads: int = 0  # 0: leave torch's default (one per core)

    # --- passages ----------------------------------------------------------
    min_passage_chars: int = 100
    target_passage_chars: int = 200
    max_passage_chars: int = 400
    overlap_max_chars: int = 120  # a sentence longer than this is not repeated as overlap
    passage_context: Literal["title", "none"] = "title"  # what is prefixed when embedding

    # --- building an index (qa index): resumable embedding (index/build_checkpoint.py) ---
    # passages per saved batch of vectors: an interrupted build loses at most this many (`qa index --resume`)
    build_checkpoint_passages: int = Field(2048, ge=1)
    build_checkpoints: Path | None = None  # where the batches wait; None: <cache_dir>/build-checkpoints

    # --- retrieval ---------------------------------------------------------
    default_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    rrf_k: int = 5  # measured: better than 60 on both the seed questions and CMRC (eval/README.md)
    rrf_weight_bm25: float = 1.0
    rrf_weight_dense: float = 1.0
    # --- ranking (hybrid mode): rerank -> merge -> evidence, confidence and "no answer" ---
    rerank: bool = True  # False: keep the fused order (the model still gives confidence and evidence)
    rerank_candidates: int = 30  # the fused top-N the learned model rescores
    # a candidate touching a better result joins it when their union is at most this long: no
    # result repeats another's text. 400 = max_passage_chars: no result is longer than the longest
    # passage (320 measured too: shorter results, fewer answers in the first)
    merge_max_chars: int = 400
    # beyond that cap (or touching two results), the part of the candidate they do not show is a
    # result of its own when at least this long (a sentence or two; 120 found the same answers), else
    # it gives way to the next candidate
    merge_min_rest_chars: int = 80
    # evidence: a line at most this long with no sentence end mark (a timeline's date, a list's
    # lead-in) is shown with the sentence it introduces; 0 never joins
    evidence_label_chars: int = 30
    ranker_model: Path | None = None  # None: the committed model, index/rank/reranker.json
    # no_answer when the "no answer" model's probability that the response holds an answer is below
    # this: the value that flags 5% of the answerable training questions out of fold (qa train-ranker
    # prints it)
    no_answer_threshold: float = 0.1618
    # --- the dense index (index/retrieve/dense.py; measured in docs/performance.md) ---
    hnsw_threshold: int = 200_000  # passages; at or above this the dense index is HNSW, below it exact
    hnsw_storage: Literal["fp16", "fp32", "sq8"] = "fp16"  # HNSW's stored vectors (fp16: IndexHNSWSQ)
    hnsw_m: int = 32  # graph neighbours per node (2 x this on the bottom level)
    hnsw_ef_construction: int = 128  # candidate list while building the graph
    hnsw_ef_search: int = 768  # candidate list while searching (at least the k asked for)
    # a filter selecting at most max(filter_exact_passages, filter_exact_share x passages) passages is
    # scanned exactly (its vectors only); a larger one is searched through a faiss IDSelectorBitmap
    # (on HNSW, a graph walk skipping the rest)
    filter_exact_passages: int = 2_000
    filter_exact_share: float = Field(0.02, ge=0.0, le=1.0)

    # --- reading (index/read/): the answer span and the reader's "no answer" ---
    reader: bool = True  # False: today's pipeline without reading (qa search --reader off, "reader": false)
    reader_precision: Literal["int8", "fp32"] = "int8"
    reader_results: int = 1  # results read, from the first (the rest get "answer": null)
    reader_max_length: int = 320  # tokens per window: <s> question </s> passage part </s>
    reader_stride: int = 128  # tokens two windows of one passage share
    reader_max_question_tokens: int = 64  # a longer question keeps its last tokens
    reader_max_answer_tokens: int = 40
    # tokens of a result read around its evidence sentence (the reader's cost grows with them);
    # 0 reads the whole result
    reader_context_tokens: int = 96
    reader_context_before: float = 0.33  # share of the room beside the evidence sentence read before it
    reader_threads: int = 2  # ONNX Runtime intra-op threads per reader call
    reader_one_script: bool = True  # read question and passage in simplified characters (OpenCC t2s)
    reader_checkpoints: Path | None = None  # qa train-reader's folder; None: <cache_dir>/reader-training

    # --- where an index is stored: "local" files or Milvus (qa index --backend) ---
    index_backend: Literal["local", "milvus"] = "local"  # what qa index builds unless --backend says
    # empty: Milvus Lite, a database file inside the index folder; http://host:19530: a Milvus
    # server or cluster (2.5 or later). The manifest records the URI, never the token.
    milvus_uri: str = ""
    milvus_token: str = ""  # for a secured server ("user:password" or an API key); never written to disk
    milvus_collection_prefix: str = "zhqa"  # collections are <prefix>_<build id>_<passages|documents|meta>
    milvus_timeout: float = 10.0  # seconds to connect to a Milvus server before saying it is unreachable
    milvus_insert_batch: int = 512  # rows per insert call

    # --- service -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 512
    max_k: int = 50
    max_body_bytes: int = 16_384

    # --- documents added while serving (qa add, POST /api/documents) ---
    api_token: str = ""  # writes over HTTP need "Authorization: Bearer <this>"; empty: writes are disabled
    max_upload_bytes: int = 20_000_000  # a document upload (file or JSON) over this gets 413
    max_document_chars: int = 2_000_000  # a document's text over this gets 413
    write_lock_timeout: float = 120.0  # seconds a writer waits for another one to finish
    # an update rewrites a segment more than this fraction removed, and merges all but the largest
    # segment when there are more than live_max_segments (index/live/update.py)
    live_max_deleted_fraction: float = 0.25
    live_max_segments: int = 8

    # --- service hardening ---
    request_head_timeout: float = 15.0  # seconds a connection has to send a whole request head, then 408
    max_connections: int = 512  # open connections; over it the oldest still sending its head is closed

    # --- evaluation --------------------------------------------------------
    cmrc_dir: Path = REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018_dev"
    drcd_dir: Path = REPO_ROOT.parent / "shared" / "benchmarks" / "drcd_test"
    report_dir: Path = REPO_ROOT / "eval" / "report"

    # --- encoder and speed -------------------------------------------------
    encoder_precision: Literal["int8", "fp32"] = "int8"  # the ONNX encoder used for indexes and questions
    encoder_threads: int = 1  # ONNX Runtime intra-op threads per model call
    encoder_parallel_calls: int = 2  # model calls that may run at once (one per core)

    def index_dir_for(self, corpus: Path) -> Path:
        """The bundled corpus uses index_dir; any other corpus gets its own folder beside it,
        so indexing a second corpus never replaces the first."""
        if Path(corpus).resolve() == self.corpus_path.resolve():
            return self.index_dir
        corpus = Path(corpus)
        name = corpus.name if corpus.is_dir() else f"{corpus.parent.name}-{corpus.stem}"
        return self.index_dir.parent / name


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""The dense encoder: multilingual-e5-small as an ONNX graph run by ONNX Runtime.

Text is tokenized with `tokenizers` (no transformers, no torch at run time), the graph
gives the final token states, and pooling happens here. Questions get the ``query: ``
prompt and passages the ``passage: `` prompt (e5's convention); every vector is the mean
of the final token states over the attention mask (special tokens included, as
sentence-transformers does), then L2-normalized.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.console import log
from index.encoder.model_convert import ENCODER_DIR, ENCODER_PRECISIONS, ensure_converted_model, model_fingerprint
from index.settings import Settings

PROMPTS = {"query": "query: ", "passage": "passage: "}
Span = tuple[int, int]


def _normalized(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEngine:
    """Final token states from the converted model's ONNX encoder, run by ONNX Runtime.

    Thread layout: each call uses `threads` intra-op threads, and at most `parallel_calls`
    calls run at once (a semaphore; further callers wait). ONNX Runtime releases the GIL while
    it computes, so the rest of a request (BM25, fusion, JSON) runs beside a model call."""

    def __init__(self, path: Path, threads: int = 1, parallel_calls: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning: the cores are shared with the rest of
        # the request and with the other call.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # int8 products exact on x64 CPUs without VNNI too (AVX2 sums u8*s8 pairs in 16 bits and
        # saturates; VNNI is exact): vectors as on the machines the ranker was trained on, at about
        # 12% more time per call on such a CPU
        options.add_session_config_entry("session.x64quantprecision", "1")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.parallel_calls = max(1, parallel_calls)
        self._slots = threading.BoundedSemaphore(self.parallel_calls)

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, length) int64 ids and mask -> (batch, length, dim) float32 final token states."""
        with self._slots:
            return self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})[0]


class UntruncatedTokenizer:
    """The embedder's tokenizer for texts that must not be cut (the reader strides over them).
    One tokenizer serves the process: each copy of the pruned vocabulary costs about 100 MB of
    memory. Truncation is switched off for the call and back on, under the embedder's lock."""

    def __init__(self, tokenizer, lock: threading.Lock, max_length: int) -> None:
        self._tokenizer, self._lock, self._max_length = tokenizer, lock, max_length

    def encode_batch(self, texts: list[str], add_special_tokens: bool = True) -> list:
        with self._lock:
            self._tokenizer.no_truncation()
            try:
                return self._tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)
            finally:
                self._tokenizer.enable_truncation(self._max_length)

    def encode(self, text: str, add_special_tokens: bool = True):
        return self.encode_batch([text], add_special_tokens)[0]

    def token_to_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)


class Embedder:
    """Embeds questions (``query: `` prompt) and passages (``passage: `` prompt), L2-normalized."""

    def __init__(self, model_dir: Path, batch_size: int = 16, max_seq_length: int = 512,
                 precision: str = "int8", threads: int = 1, parallel_calls: int = 2) -> None:
        from tokenizers import Tokenizer

        if precision not in ENCODER_PRECISIONS:
            raise ValueError(f"encoder precision must be one of {ENCODER_PRECISIONS}, not {precision!r}")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.model_dir = Path(model_dir)
        # int8: every text is its own model call. Activations are quantized per call, with one
        # range for the whole batch, so batching would make a text's vector depend on its
        # neighbours (cosine 0.996 measured). Alone, a passage gets the same vector however it
        # is embedded; and measured, one text per call with two calls at once was also the
        # fastest layout (no padding at all).
        self.batch_size = 1 if precision == "int8" else max(1, batch_size)
        self.max_seq_length = max_seq_length
        self.precision = precision
        encoder_dir = self.model_dir / ENCODER_DIR
        self.tokenizer = Tokenizer.from_file(str(encoder_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.no_padding()
        # Truncation is set once, above; afterwards the tokenizer is only read. The lock keeps
        # it that way should anyone reconfigure it ("Already borrowed" otherwise).
        self._tokenizer_lock = threading.Lock()
        self.engine = OnnxEngine(encoder_dir / f"{precision}.onnx", threads, parallel_calls)
        self.dim = self.engine.dim
        self.fingerprint = model_fingerprint(self.model_dir, precision)
        self._pool: ThreadPoolExecutor | None = None

    def with_layout(self, threads: int, parallel_calls: int) -> Embedder:
        """The same encoder and tokenizer with another thread layout (for measuring layouts)."""
        other = copy.copy(self)
        other.engine = OnnxEngine(self.model_dir / ENCODER_DIR / f"{self.precision}.onnx", threads, parallel_calls)
        other._pool = None
        return other

    def untruncated_tokenizer(self) -> UntruncatedTokenizer:
        """This embedder's tokenizer without its truncation, for the reader (index/read/)."""
        return UntruncatedTokenizer(self.tokenizer, self._tokenizer_lock, self.max_seq_length)

    # --- tokenization and batching ---------------------------------------

    def _encode(self, texts: list[str], prompt: str):
        with self._tokenizer_lock:
            return self.tokenizer.encode_batch([prompt + t for t in texts])

    def _token_states(self, encodings, progress: bool = False):
        """Yield (position in the input, token states (length, dim)) for every encoding. Texts
        run in batches of similar length (little padding), `parallel_calls` batches at once."""
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

        def run(batch: list[int]) -> np.ndarray:
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int64)  # padding is masked out
            mask = np.zeros((len(batch), length), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            return self.engine.token_states(ids, mask)

        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(encodings), desc="Embedding", unit="text")
        for batch, states in zip(batches, self._map(run, batches), strict=True):
            for row, i in enumerate(batch):
                yield i, states[row, : len(encodings[i].ids)]
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()

    def _map(self, run, batches: list[list[int]]):
        """run(batch) for each batch, in order, keeping every allowed model call busy but only
        a few results waiting (token states are large)."""
        if len(batches) <= 1 or self.engine.parallel_calls <= 1:
            yield from map(run, batches)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.engine.parallel_calls, thread_name_prefix="embedder")
        window = 2 * self.engine.parallel_calls
        pending: deque = deque()
        for batch in batches:
            pending.append(self._pool.submit(run, batch))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _embed(self, texts: list[str], prompt_name: str, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        for i, states in self._token_states(self._encode(texts, PROMPTS[prompt_name]), progress):
            out[i] = states.mean(axis=0)
        return _normalized(out)

    # --- the interface ---------------------------------------------------

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._embed(texts, "passage", progress)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "query")

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_passages_and_spans(self, texts: list[str], spans: list[list[Span]],
                                 progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors (as `embed_passages` gives them) and, for each text, one vector per
        span: the L2-normalized mean of the final token states of the tokens whose character
        offsets in the text (not counting the prompt) overlap the span. A span that covers no
        token (empty, or cut off by truncation) gets the passage vector."""
        if len(spans) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(spans)} lists of spans")
        prompt = PROMPTS["passage"]
        encodings = self._encode(texts, prompt)
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        for i, states in self._token_states(encodings, progress):
            passage = states.mean(axis=0)
            passages[i] = passage
            if not spans[i]:
                continue
            enc = encodings[i]
            offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2) - len(prompt)
            real = np.asarray(enc.special_tokens_mask, dtype=bool) == 0
            starts, ends = offsets[:, 0], np.maximum(offsets[:, 1], offsets[:, 0] + 1)
            for j, (s, e) in enumerate(spans[i]):
                hit = real & (starts < e) & (ends > s) & (ends > 0) if e > s else np.zeros(len(real), bool)
                span_vectors[i][j] = states[hit].mean(axis=0) if hit.any() else passage
        passages = _normalized(passages)
        for i, vectors in enumerate(span_vectors):
            if len(vectors):
                span_vectors[i] = _normalized(vectors)
        return passages, span_vectors


def check_index_encoder(index_dir: Path, built_with: dict, fingerprint: dict) -> None:
    """An index's vectors are only comparable with questions embedded by the same encoder:
    raise IndexLoadError (with how to rebuild) when the manifest names another one."""
    from index.store import IndexLoadError

    for key in ("weights_sha256", "converter_version", "encoder"):
        if built_with.get(key) != fingerprint.get(key):
            raise IndexLoadError(index_dir, f"was built with a different encoder ({key} {built_with.get(key)!r}, "
                                            f"now {fingerprint.get(key)!r})")


class LazyEmbedder:
    """Stands in for an Embedder and loads it on first use, then checks it against the index
    it serves. A BM25-only search never loads the model (nor imports ONNX Runtime)."""

    def __init__(self, load: Callable[[], Embedder], check: Callable[[Embedder], None]) -> None:
        self._load, self._check = load, check
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def _get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                embedder = self._load()
                self._check(embedder)
                self._embedder = embedder
            return self._embedder

    def __getattr__(self, name: str):  # dim, fingerprint, embed_* ...: whatever the Embedder has
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)


def load_embedder(settings: Settings, log=log) -> Embedder:
    model_dir = ensure_converted_model(settings.cache_dir, settings.max_seq_length, log=log)
    return Embedder(model_dir, settings.embed_batch_size, settings.max_seq_length, settings.encoder_precision,
                    settings.encoder_threads, settings.encoder_parallel_calls)

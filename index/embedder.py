"""The dense encoder: multilingual-e5-small, tokenized with `tokenizers`, pooled here.

Questions get the ``query: `` prompt and passages the ``passage: `` prompt (e5's
convention); every vector is the mean of the final token states over the
attention mask (special tokens included, as sentence-transformers does), then
L2-normalized.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.console import log
from index.model_convert import ensure_converted_model, model_fingerprint
from index.settings import Settings

PROMPTS = {"query": "query: ", "passage": "passage: "}
Span = tuple[int, int]


def _normalized(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class TorchEngine:
    """Final token states from the converted checkpoint with torch (transformers' BertModel).

    Every call runs on one dedicated thread: torch's OpenMP keeps a thread team per calling
    thread, so calls arriving from a web server's many worker threads would each spin up and
    contend with their own team."""

    name = "torch-fp32"

    def __init__(self, model_dir: Path, threads: int = 0) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from transformers import BertModel

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model = BertModel.from_pretrained(str(model_dir), local_files_only=True, add_pooling_layer=False)
        self.model.eval()
        self.dim = int(self.model.config.hidden_size)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask))
        return out.last_hidden_state.numpy()

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """(batch, length) int64 ids and mask -> (batch, length, dim) float32 final token states."""
        return self._thread.submit(self._run, input_ids, attention_mask).result()


class Embedder:
    """Embeds questions (``query: `` prompt) and passages (``passage: `` prompt), L2-normalized."""

    def __init__(self, model_dir: Path, batch_size: int = 16, max_seq_length: int = 512,
                 threads: int = 0) -> None:
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.no_padding()
        # The Rust tokenizer object is not meant to be used from two threads at once.
        self._tokenizer_lock = threading.Lock()
        self.engine = TorchEngine(self.model_dir, threads)
        self.dim = self.engine.dim
        self.fingerprint = model_fingerprint(self.model_dir)

    # --- tokenization and batching ---------------------------------------

    def _encode(self, texts: list[str], prompt: str):
        with self._tokenizer_lock:
            return self.tokenizer.encode_batch([prompt + t for t in texts])

    def _token_states(self, encodings, progress: bool = False):
        """Yield (position in the input, token states (length, dim)) for every encoding,
        running the model on batches of similar length so that little is padded."""
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(encodings), desc="Embedding", unit="text")
        for batch in batches:
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int64)  # pad id 1 is masked out anyway
            mask = np.zeros((len(batch), length), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            states = self.engine.token_states(ids, mask)
            for row, i in enumerate(batch):
                yield i, states[row, : len(encodings[i].ids)]
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()

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


def load_embedder(settings: Settings, log=log) -> Embedder:
    model_dir = ensure_converted_model(settings.cache_dir, settings.max_seq_length, log=log)
    return Embedder(model_dir, settings.embed_batch_size, settings.max_seq_length,
                    settings.torch_threads)

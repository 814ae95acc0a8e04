"""The dense encoder: the converted multilingual-e5-small, loaded with sentence-transformers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.console import log
from index.model_convert import ensure_converted_model, model_fingerprint
from index.settings import Settings


def _offline_and_quiet() -> None:
    """No hub look-ups (there is no network), and no load reports on stderr."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


class Embedder:
    """Embeds questions (``query: `` prompt) and passages (``passage: `` prompt), L2-normalized."""

    def __init__(self, model_dir: Path, batch_size: int = 16, max_seq_length: int = 512,
                 threads: int = 0) -> None:
        _offline_and_quiet()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.dim = int(self.model.get_embedding_dimension())
        self.fingerprint = model_fingerprint(self.model_dir)
        # Every model call runs on this one thread. torch's OpenMP keeps a thread team per
        # calling thread, so calls arriving from a web server's many worker threads would each
        # spin up and contend with their own team; and the fast tokenizer inside is not safe to
        # call from two threads at once ("Already borrowed"). Concurrent requests wait for each
        # other only for the model call.
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    def _encode(self, texts: list[str], prompt_name: str, progress: bool) -> np.ndarray:
        vectors = self._model_thread.submit(
            self.model.encode, texts, prompt_name=prompt_name, batch_size=self.batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress,
        ).result()
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", progress)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query", False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


def load_embedder(settings: Settings, log=log) -> Embedder:
    model_dir = ensure_converted_model(settings.cache_dir, settings.max_seq_length, log=log)
    return Embedder(model_dir, settings.embed_batch_size, settings.max_seq_length,
                    settings.torch_threads)

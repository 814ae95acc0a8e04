"""What adding and removing one article costs, at the seed size and on a large synthetic index,
against a full build of the same index and against embedding the article alone; and what a
running server's reload of the changed folder costs.

The synthetic index (documents of ten passages, text and tokens from real sentences, vectors
derived from real embeddings as in ``scale``) is written by the same ``write_index`` a build
uses; embedding 100,000 passages for real would take about half an hour here, so its full
build is estimated from the measured build speed (passages per second), and said so.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.bench.scale import synthetic_vectors
from index.build import index_manifest_fields, prepare
from index.encoder.embedder import Embedder
from index.ingest.chunking import Passage
from index.ingest.documents import Document
from index.live import add_documents, remove_documents
from index.retrieve.dense import DenseIndex
from index.retrieve.lexical import LexicalIndex
from index.settings import Settings
from index.store import load_index, read_manifest, write_index

PASSAGES_PER_DOCUMENT = 10


def _time_add_and_remove(index_dir: Path, article: Document, settings: Settings, embedder: Embedder) -> dict:
    """Add and remove one article, each followed by a server's reload of the folder (reusing what it had
    loaded, as FollowingSearcher does); the article's embedding alone and a whole load for comparison."""
    model = {"name": settings.model_name, **embedder.fingerprint}
    started = time.perf_counter()
    served = load_index(index_dir, model, settings.hnsw_ef_search)
    full_load_s = time.perf_counter() - started
    started = time.perf_counter()
    prepare([article], settings, embedder, progress=False)
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    added = add_documents(index_dir, [article], settings, embedder, progress=False)
    add_s = time.perf_counter() - started
    started = time.perf_counter()
    served = load_index(index_dir, model, settings.hnsw_ef_search, previous=served)
    reload_add_s = time.perf_counter() - started
    assert article.doc_id in served.documents
    started = time.perf_counter()
    remove_documents(index_dir, [article.doc_id], settings)
    remove_s = time.perf_counter() - started
    started = time.perf_counter()
    served = load_index(index_dir, model, settings.hnsw_ef_search, previous=served)
    reload_remove_s = time.perf_counter() - started
    assert article.doc_id not in served.documents
    return {"add_s": round(add_s, 3), "remove_s": round(remove_s, 3), "embed_article_s": round(embed_s, 3),
            "reload_after_add_s": round(reload_add_s, 3), "reload_after_remove_s": round(reload_remove_s, 3),
            "full_load_s": round(full_load_s, 3), "article_passages": added.passages[article.doc_id]}


def synthetic_index(index_dir: Path, n: int, sentences: list[str], tokenizer, real_vectors: np.ndarray,
                    settings: Settings, embedder: Embedder, seed: int = 11) -> None:
    """n passages in n / 10 documents, each passage one real sentence or a few, with its tokens and a vector."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sentences), size=n)
    token_cache: dict[int, list[str]] = {}
    documents, passages, token_lists = [], [], []
    for d in range(0, n, PASSAGES_PER_DOCUMENT):
        texts = [sentences[i] for i in picks[d:d + PASSAGES_PER_DOCUMENT]]
        text, offset, doc_id = "", 0, f"syn-{d // PASSAGES_PER_DOCUMENT:06d}"
        for ordinal, (sentence, i) in enumerate(zip(texts, picks[d:d + PASSAGES_PER_DOCUMENT], strict=True)):
            passages.append(Passage(doc_id, ordinal, offset, offset + len(sentence), sentence))
            token_lists.append(token_cache.setdefault(int(i), tokenizer(sentence)))
            text += sentence + "\n"
            offset = len(text)
        documents.append(Document(doc_id, f"合成文档{d}", text))
    vectors = synthetic_vectors(real_vectors, n, rng)
    dense = DenseIndex.build(vectors, settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_search)
    fields = {**index_manifest_fields(settings, embedder.dim, embedder.fingerprint), "corpus_path": "synthetic"}
    write_index(index_dir, documents, passages, dense, LexicalIndex.build(token_lists),
                [v[None, :] for v in vectors], token_lists, fields)


def bench_updates(seed_index: Path, article: Document, sizes: tuple[int, ...], sentences: list[str], tokenizer,
                  real_vectors: np.ndarray, build_passages_per_s: float, settings: Settings,
                  embedder: Embedder) -> dict:
    article = Document("bench-added-article", article.title, article.text)
    results: dict = {"build_passages_per_s": build_passages_per_s}
    with tempfile.TemporaryDirectory(prefix="zhqa-bench-update-") as tmp:
        seed_copy = Path(tmp) / "seed"
        shutil.copytree(seed_index, seed_copy)
        passages = read_manifest(seed_copy)["counts"]["passages"]
        results["seed"] = {"passages": passages, **_time_add_and_remove(seed_copy, article, settings, embedder),
                           "full_build_s": round(passages / build_passages_per_s, 2), "full_build": "measured"}
        for n in sizes:
            target = Path(tmp) / f"synthetic-{n}"
            started = time.perf_counter()
            synthetic_index(target, n, sentences, tokenizer, real_vectors, settings, embedder)
            written = time.perf_counter() - started
            results[str(n)] = {"passages": n, **_time_add_and_remove(target, article, settings, embedder),
                               "full_build_s": round(n / build_passages_per_s, 1),
                               "full_build": "estimated from the measured passages/s",
                               "synthetic_write_s": round(written, 1)}
            shutil.rmtree(target)
    return results

"""The encoder's interface (shapes, normalization, batching, per-span vectors), and how an
index and the encoder that built it are kept together."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from index.encoder.embedder import LazyEmbedder
from index.search import Searcher
from index.store import IndexLoadError

TEXT = ("嘉兴经开区党委书记、管委会主任章澜在“新年第一会”上说。"
        "2025年,嘉兴高新区规模以上工业企业研发经费预计达24.33亿元,同比增长22.41%。")
FIRST = TEXT.index("。") + 1  # end of the first sentence


def test_vectors_are_normalized_float32(embedder):
    queries = embedder.embed_queries(["嘉兴经开区党委书记是谁", "研发经费"])
    passages = embedder.embed_passages([TEXT])
    assert queries.shape == (2, embedder.dim) and passages.shape == (1, embedder.dim)
    assert queries.dtype == passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_query("研发经费").shape == (embedder.dim,)
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_batching_and_padding_do_not_change_vectors(embedder):
    texts = ["短", TEXT, TEXT * 3, "How much protein should an adult eat per day?"]
    together = embedder.embed_passages(texts)
    alone = np.stack([embedder.embed_passages([t])[0] for t in texts])
    assert np.min(np.sum(together * alone, axis=1)) > 0.9999


def test_query_and_passage_prompts_differ(embedder):
    assert float(embedder.embed_query(TEXT) @ embedder.embed_passages([TEXT])[0]) < 0.9999


def test_spans_shapes_and_normalization(embedder):
    spans = [[(0, FIRST), (FIRST, len(TEXT)), (3, 3)], [], [(0, 1)]]
    passages, per_text = embedder.embed_passages_and_spans([TEXT, "短文本", "abc"], spans)
    assert passages.shape == (3, embedder.dim) and passages.dtype == np.float32
    assert [v.shape for v in per_text] == [(3, embedder.dim), (0, embedder.dim), (1, embedder.dim)]
    assert all(v.dtype == np.float32 for v in per_text)
    assert np.allclose(np.linalg.norm(per_text[0], axis=1), 1.0, atol=1e-5)
    assert np.allclose(passages, embedder.embed_passages([TEXT, "短文本", "abc"]), atol=1e-5)


def test_a_span_over_the_whole_text_is_close_to_the_passage_vector(embedder):
    passages, per_text = embedder.embed_passages_and_spans([TEXT], [[(0, len(TEXT))]])
    assert float(per_text[0][0] @ passages[0]) > 0.99


def test_empty_or_tokenless_spans_get_the_passage_vector(embedder):
    passages, per_text = embedder.embed_passages_and_spans([TEXT], [[(5, 5), (len(TEXT) + 10, len(TEXT) + 20)]])
    assert np.allclose(per_text[0], passages[0], atol=1e-6)


def test_span_vectors_follow_their_own_text(embedder):
    """Offsets count from the text, not from the prompt: each half's span vector is nearer to
    that half embedded alone than to the other half."""
    _, per_text = embedder.embed_passages_and_spans([TEXT], [[(0, FIRST), (FIRST, len(TEXT))]])
    first, second = embedder.embed_passages([TEXT[:FIRST], TEXT[FIRST:]])
    assert float(per_text[0][0] @ first) > float(per_text[0][0] @ second)
    assert float(per_text[0][1] @ second) > float(per_text[0][1] @ first)
    assert float(per_text[0][0] @ per_text[0][1]) < 0.99


def test_mismatched_spans_are_refused(embedder):
    with pytest.raises(ValueError):
        embedder.embed_passages_and_spans([TEXT, TEXT], [[(0, 1)]])


# --- the index and the encoder that built it ----------------------------------

def _set_manifest_encoder(index_dir, encoder: str) -> None:
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model"]["encoder"] = encoder
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def test_an_index_from_another_encoder_is_reported_not_mixed(index_copy, settings, embedder):
    _set_manifest_encoder(index_copy, "onnxruntime-fp32-000000000000")
    with pytest.raises(IndexLoadError, match="different encoder"):
        Searcher.open(index_copy, settings, embedder)


def test_bm25_search_does_not_load_the_model(index_copy, settings):
    searcher = Searcher.open(index_copy, settings, load_model=False)
    assert searcher.search("嘉兴经开区党委书记是谁", 3, "bm25").results
    assert isinstance(searcher.embedder, LazyEmbedder) and not searcher.embedder.loaded


def test_the_lazy_model_is_checked_against_the_index_when_it_loads(index_copy, settings):
    searcher = Searcher.open(index_copy, settings, load_model=False)
    assert searcher.search("嘉兴经开区党委书记是谁", 3, "hybrid").results and searcher.embedder.loaded
    _set_manifest_encoder(index_copy, "onnxruntime-fp32-000000000000")
    stale = Searcher.open(index_copy, settings, load_model=False)
    assert stale.search("嘉兴经开区党委书记是谁", 3, "bm25").results
    with pytest.raises(IndexLoadError, match="different encoder"):
        stale.search("嘉兴经开区党委书记是谁", 3, "dense")


HEAVY = ("torch", "onnxruntime", "transformers", "sentence_transformers", "tokenizers")


def test_cli_bm25_search_imports_no_model_runtime(seed_index_dir):
    """`qa search --mode bm25` must not pay for the model: no torch, ONNX Runtime or tokenizer."""
    argv = ["search", "嘉兴经开区党委书记是谁", "--mode", "bm25", "--index-dir", str(seed_index_dir)]
    code = ("import sys, contextlib, io\n"
            "from service.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    code = main({argv!r})\n"
            f"print(code, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "0 []", proc.stdout

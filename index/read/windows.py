"""The reader's input: ``<s> question </s> passage </s>``, the passage in strided windows.

A passage longer than one window is read in several that overlap by ``stride`` tokens (as
Hugging Face's question-answering pipeline does), so nothing is cut. Every passage token
keeps its character offsets into the passage, so an answer maps back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CONTEXT_TOKENS = 32  # a window always has room for this much passage, however long the question


@dataclass
class Window:
    input_ids: np.ndarray  # (length,) int64: <s> question </s> passage part </s>
    context_start: int  # index of the first passage token in input_ids
    offsets: np.ndarray  # (passage tokens in this window, 2) character offsets into the passage

    @property
    def context_end(self) -> int:
        """One past the last passage token."""
        return self.context_start + len(self.offsets)


@dataclass(frozen=True)
class SpecialIds:
    bos: int
    eos: int
    pad: int


def special_ids(tokenizer) -> SpecialIds:
    return SpecialIds(tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>"), tokenizer.token_to_id("<pad>"))


def _content(encoding) -> tuple[list[int], np.ndarray]:
    """Ids and offsets of an encoding made without special tokens, empty pieces dropped (a lone
    "▁" that covers no character cannot start or end an answer)."""
    ids, offsets = [], []
    for token_id, (start, end) in zip(encoding.ids, encoding.offsets, strict=True):
        if end > start:
            ids.append(token_id)
            offsets.append((start, end))
    return ids, np.asarray(offsets, dtype=np.int64).reshape(-1, 2)


def make_windows(tokenizer, question: str, passage: str, max_length: int, stride: int,
                 max_question_tokens: int) -> list[Window]:
    """The reader's windows for one question and passage. A question over
    `max_question_tokens` keeps its last tokens (the question word is usually at the end); the
    passage is never cut: it runs over as many windows as it needs."""
    ids = special_ids(tokenizer)
    q_enc, p_enc = tokenizer.encode_batch([question, passage], add_special_tokens=False)
    q_ids = [i for i, (s, e) in zip(q_enc.ids, q_enc.offsets, strict=True) if e > s][-max_question_tokens:]
    p_ids, p_offsets = _content(p_enc)
    room = max(MIN_CONTEXT_TOKENS, max_length - len(q_ids) - 3)
    step = max(1, room - stride)
    head = [ids.bos, *q_ids, ids.eos]
    windows = []
    begin = 0
    while True:
        end = min(len(p_ids), begin + room)
        window_ids = np.asarray(head + p_ids[begin:end] + [ids.eos], dtype=np.int64)
        windows.append(Window(window_ids, len(head), p_offsets[begin:end]))
        if end >= len(p_ids):
            return windows
        begin += step


def focus_range(tokenizer, passage: str, focus_start: int, focus_end: int, budget: int,
                before_share: float) -> tuple[int, int]:
    """The characters of `passage` to read when only `budget` of its tokens are read: a run of
    whole tokens holding passage[focus_start:focus_end] (the evidence sentence), with
    `before_share` of the room left beside it before the focus and the rest after it (less at a
    passage's edge, where the other side gets it). A focus longer than the budget is read whole
    (the windows then stride over it); a passage within the budget is read whole."""
    _, offsets = _content(tokenizer.encode(passage, add_special_tokens=False))
    n = len(offsets)
    if n <= budget:
        return 0, len(passage)
    first = int(np.searchsorted(offsets[:, 1], focus_start, side="right"))  # first token ending after it
    last = max(first, int(np.searchsorted(offsets[:, 0], focus_end, side="left")) - 1)  # last starting before
    first, last = min(first, n - 1), min(last, n - 1)
    room = budget - (last - first + 1)
    if room <= 0:
        a, b = first, last + 1
    else:
        a = max(0, first - int(room * before_share))
        b = min(n, a + budget)
        a = max(0, b - budget)
    return int(offsets[a, 0]), int(offsets[b - 1, 1])


def batch_arrays(windows: list[Window], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), right-padded to the longest window."""
    length = max(len(w.input_ids) for w in windows)
    input_ids = np.full((len(windows), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), length), dtype=np.int64)
    for row, w in enumerate(windows):
        input_ids[row, : len(w.input_ids)] = w.input_ids
        mask[row, : len(w.input_ids)] = 1
    return input_ids, mask

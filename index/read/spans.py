"""From a window's start and end logits to the best answer span and the null score.

SQuAD 2.0 style: position 0 (``<s>``) stands for "no answer"; its start plus end logit is the
null score. The best span is the highest start + end logit over passage tokens with the end
not before the start and at most `max_answer_tokens` long. The reader's margin is the best
span's score minus the null score: above 0 the window holds an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.read.windows import Window


@dataclass(frozen=True)
class SpanChoice:
    start: int  # character offsets into the passage
    end: int
    span_score: float  # start + end logit
    null_score: float  # start + end logit of <s>

    @property
    def margin(self) -> float:
        return self.span_score - self.null_score


def best_span(window: Window, start_logits: np.ndarray, end_logits: np.ndarray,
              max_answer_tokens: int) -> SpanChoice | None:
    """The window's best span (None when the window has no passage tokens)."""
    n = len(window.offsets)
    if n == 0:
        return None
    s = np.asarray(start_logits[window.context_start:window.context_end], dtype=np.float64)
    e = np.asarray(end_logits[window.context_start:window.context_end], dtype=np.float64)
    scores = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    scores[(j < i) | (j - i >= max_answer_tokens)] = -np.inf
    flat = int(np.argmax(scores))
    first, last = divmod(flat, n)
    return SpanChoice(int(window.offsets[first, 0]), int(window.offsets[last, 1]), float(scores[first, last]),
                      float(start_logits[0] + end_logits[0]))


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without white space at either end (a piece's offsets can include a space)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end

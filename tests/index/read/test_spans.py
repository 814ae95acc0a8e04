"""Choosing the answer span from a window's logits."""

from __future__ import annotations

import numpy as np

from index.read.spans import best_span, trim
from index.read.windows import Window


def window(n: int) -> Window:
    # <s> q </s> then n passage tokens of two characters each, then </s>
    return Window(np.zeros(3 + n + 1, dtype=np.int64), 3, np.array([(2 * i, 2 * i + 2) for i in range(n)]))


def test_best_span_is_the_highest_start_plus_end_with_end_after_start():
    w = window(5)
    start = np.full(9, -5.0)
    end = np.full(9, -5.0)
    start[3 + 1], end[3 + 3] = 4.0, 3.0  # tokens 1..3
    end[3 + 0] = 9.0  # an end before the start cannot be chosen with start 1
    start[0], end[0] = 1.0, 1.0
    choice = best_span(w, start, end, max_answer_tokens=10)
    # token 0 alone: start -5 + end 9 = 4; tokens 1..3: 4 + 3 = 7: the latter wins
    assert (choice.start, choice.end) == (2, 8)
    assert choice.null_score == 2.0 and choice.margin == 5.0


def test_answers_longer_than_the_limit_are_not_chosen():
    w = window(6)
    start, end = np.zeros(10), np.zeros(10)
    start[3], end[3 + 5] = 5.0, 5.0
    choice = best_span(w, start, end, max_answer_tokens=3)
    assert choice.end - choice.start <= 3 * 2


def test_a_window_without_passage_tokens_has_no_span():
    empty = Window(np.zeros(4, dtype=np.int64), 3, np.zeros((0, 2), dtype=np.int64))
    assert best_span(empty, np.zeros(4), np.zeros(4), 10) is None


def test_trim_drops_white_space_at_the_ends():
    text = "  招商 引资 \n"
    assert trim(text, 0, len(text)) == (2, 7)
    assert trim("   ", 0, 3) == (3, 3)

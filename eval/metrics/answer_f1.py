"""Answer char-F1: how much of the right answer a marked span holds (CMRC 2018's definition).

Both texts are normalized (NFKC, lower case, white space and punctuation removed) and compared
as characters; the overlap is their longest common substring, as in CMRC 2018's official
evaluation script: precision = overlap / predicted length, recall = overlap / answer length. The
best over the accepted answers counts; no prediction scores 0.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def _characters(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def longest_common_substring(a: str, b: str) -> int:
    best, previous = 0, [0] * (len(b) + 1)
    for ch in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            if ch == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def answer_char_f1(prediction: str | None, answers: Iterable[str]) -> float:
    if not prediction:
        return 0.0
    predicted = _characters(prediction)
    scores = [0.0]
    for answer in answers:
        gold = _characters(answer)
        overlap = longest_common_substring(predicted, gold)
        if overlap:
            precision, recall = overlap / len(predicted), overlap / len(gold)
            scores.append(2 * precision * recall / (precision + recall))
    return max(scores)

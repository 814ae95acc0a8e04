"""When a returned passage counts as answering a question.

A passage is a hit when it comes from a gold document and contains one of the
answers, after removing white space and unifying character widths (NFKC turns
full-width punctuation and digits into ASCII). This does not depend on how
passages are cut, so chunking can change without relabelling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def normalize(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    haystack = normalize(text)
    return any(normalize(answer) in haystack for answer in answers if answer.strip())


def is_hit(doc_id: str, text: str, gold_doc_ids: Iterable[str], answers: Iterable[str]) -> bool:
    return doc_id in set(gold_doc_ids) and contains_answer(text, answers)

"""Validation of what a user asks, shared by the command line and the HTTP API."""

from __future__ import annotations

import re
import unicodedata

from index.settings import MODES, Settings

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class QueryError(ValueError):
    """A question, k or mode that cannot be searched; the message says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_question(text: str) -> str:
    """Control and format characters become spaces; surrounding white space is trimmed."""
    chars = [" " if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text]
    return " ".join("".join(chars).split())


def validate_request(question: object, k: object, mode: object, settings: Settings) -> tuple[str, int, str]:
    if not isinstance(question, str):
        raise QueryError("invalid_question", "the question must be a string")
    surrogate = _LONE_SURROGATE.search(question)
    if surrogate:
        raise QueryError("invalid_question", f"the question is not valid text: it holds {ascii(surrogate.group())}, "
                         "a lone surrogate (from invalid UTF-8 or a broken \\u escape)")
    cleaned = clean_question(question)
    if not cleaned:
        raise QueryError("empty_question", "the question is empty; type a question in Chinese")
    if len(cleaned) > settings.max_question_chars:
        raise QueryError(
            "question_too_long",
            f"the question has {len(cleaned)} characters; the limit is {settings.max_question_chars}",
        )
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError("invalid_k", f"k must be a whole number from 1 to {settings.max_k}")
    if not 1 <= k <= settings.max_k:
        raise QueryError("invalid_k", f"k must be from 1 to {settings.max_k}, got {k}")
    if mode not in MODES:
        raise QueryError("invalid_mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return cleaned, k, str(mode)

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


def _blank_characters() -> frozenset[str]:
    """What cleaning turns into spaces: white space, control and format characters of the Basic
    Multilingual Plane. (Format characters beyond it, such as emoji tag characters, are kept: the
    published pattern below must say exactly which questions are empty, and a pattern for
    characters past U+FFFF means different things to different regex engines.)"""
    return frozenset(
        chr(code) for code in range(0x10000)
        if not 0xD800 <= code <= 0xDFFF and (chr(code).isspace() or unicodedata.category(chr(code)) in ("Cc", "Cf"))
    )


BLANK = _blank_characters()


def _not_blank_pattern() -> str:
    """A regex class matching any character that is not BLANK, in \\uXXXX escapes that Python,
    ECMAScript and JSON Schema validators read alike."""
    codes, ranges = sorted(map(ord, BLANK)), []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[^" + "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in ranges) + "]"


# The OpenAPI contract of a question: it holds at least one character that is not blank.
QUESTION_PATTERN = _not_blank_pattern()


def clean_question(text: str) -> str:
    """Blank characters (and lone surrogates) become spaces; runs of them are one space; the ends are trimmed."""
    chars = [" " if c in BLANK or "\ud800" <= c <= "\udfff" else c for c in text]
    return " ".join("".join(chars).split())


def parse_k(text: str, settings: Settings) -> int:
    """k from a URL: plain decimal digits only, as JSON takes it ("2.0", "1_0", "+3", " 3 " are refused)."""
    if not re.fullmatch("[0-9]+", text):
        raise QueryError("invalid_k", f"k must be a whole number from 1 to {settings.max_k}")
    digits = text.lstrip("0") or "0"
    if len(digits) > 9:
        raise QueryError("invalid_k", f"k must be from 1 to {settings.max_k}, got a {len(digits)}-digit number")
    return int(digits)


def parse_min_confidence(value: object) -> float | None:
    """min_confidence: a probability from 0 to 1 (text from a URL, or a JSON number)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", value):  # a JSON number
            raise QueryError("invalid_min_confidence", "min_confidence must be a number from 0 to 1")
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise QueryError("invalid_min_confidence", "min_confidence must be a number from 0 to 1")
    return float(value)


def validate_request(question: object, k: object, mode: object, settings: Settings) -> tuple[str, int, str]:
    if not isinstance(question, str):
        raise QueryError("invalid_question", "the question must be a string")
    surrogate = _LONE_SURROGATE.search(question)
    if surrogate:
        raise QueryError("invalid_question", f"the question is not valid text: it holds {ascii(surrogate.group())}, "
                         "a lone surrogate (from invalid UTF-8 or a broken \\u escape)")
    if len(question) > settings.max_question_chars:  # as sent, so the published maxLength is the rule
        raise QueryError(
            "question_too_long",
            f"the question has {len(question)} characters; the limit is {settings.max_question_chars}",
        )
    cleaned = clean_question(question)
    if not cleaned:
        raise QueryError("empty_question", "the question is empty; type a question in Chinese")
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError("invalid_k", f"k must be a whole number from 1 to {settings.max_k}")
    if not 1 <= k <= settings.max_k:
        shown = k if abs(k) < 10**9 else f"a {len(str(abs(k)))}-digit number"
        raise QueryError("invalid_k", f"k must be from 1 to {settings.max_k}, got {shown}")
    if mode not in MODES:
        raise QueryError("invalid_mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return cleaned, k, str(mode)

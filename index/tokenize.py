"""Chinese tokenization for BM25 and evidence matching: jieba's precise mode plus stopwords.

Text is matched in one script: traditional characters are converted to simplified
(OpenCC ``t2s``) before tokenizing, so 嘉興經開區 matches 嘉兴经开区 both ways. Only the
matching copy is converted; stored and cited text stays exactly as written.

Precise mode (``jieba.lcut``) is used rather than ``lcut_for_search``: the
search mode emits overlapping pieces ("高新区" and "高新") that count the
same text twice and inflate BM25 scores.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import jieba
import opencc

STOPWORDS_FILE = Path(__file__).with_name("stopwords.txt")
# Recorded in each index manifest: an index tokenized another way must be rebuilt.
# 2: traditional characters converted to simplified (OpenCC t2s) before tokenizing.
TOKENIZER_VERSION = 2
_init_lock = threading.Lock()


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones (OpenCC t2s), nothing else changed."""
    return _to_simplified().convert(text)


def normalize_for_match(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), lower case, simplified characters."""
    return _to_simplified().convert(unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=1)
def default_stopwords() -> frozenset[str]:
    lines = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def ensure_jieba() -> None:
    """Load jieba's dictionary once, quietly (it logs to stderr by default)."""
    with _init_lock:
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()


class ChineseTokenizer:
    """Callable: text -> list of tokens (precise-mode words, no punctuation, no stopwords)."""

    def __init__(self, stopwords: Iterable[str] | None = None) -> None:
        self.stopwords = frozenset(stopwords) if stopwords is not None else default_stopwords()
        ensure_jieba()

    def __call__(self, text: str) -> list[str]:
        tokens = []
        for token in jieba.lcut(normalize_for_match(text), HMM=True):
            token = token.strip()
            if token and token not in self.stopwords and any(ch.isalnum() for ch in token):
                tokens.append(token)
        return tokens

    def many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self(text) for text in texts]

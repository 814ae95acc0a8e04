"""Honest splits: which benchmark articles the reranker may train on, and which are held out.

The split is by article (title), so no held-out question shares an article with a
training question; it is a hash, so it never changes and needs no file.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Part = Literal["all", "train", "heldout"]
HELD_OUT_ONE_IN = 3  # one article in three is held out


def is_held_out(article_title: str) -> bool:
    return hashlib.sha256(article_title.encode("utf-8")).digest()[0] % HELD_OUT_ONE_IN == 0


def in_part(article_title: str, part: Part) -> bool:
    return part == "all" or is_held_out(article_title) == (part == "heldout")

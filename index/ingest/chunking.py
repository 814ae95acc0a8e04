"""Split documents into sentences and pack whole sentences into passages.

Everything here works with character offsets into the document text, so a
passage is always ``text[start:end]`` of its document, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import jieba

SENTENCE_END = set("。！？；!?;")
CLOSERS = set("”’」』）)】\"'…")
CLAUSE_BREAKS = set("，,、：:")


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Passage:
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ChunkingConfig:
    min_chars: int = 100
    target_chars: int = 300
    max_chars: int = 400
    overlap_max_chars: int = 120


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def passage_sentences(text: str, start: int, end: int) -> list[Span]:
    """The sentences of a passage; a passage with no sentence break is one sentence."""
    return split_sentences(text, start, end) or [Span(start, end)]


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of text[start:end]: ended by 。！？；(and ASCII forms) or a line break.

    Closing quotes and brackets after the end mark stay with the sentence.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    begin = i = start
    while i < end:
        char = text[i]
        if char == "\n" or char in SENTENCE_END:
            j = i + 1
            if char != "\n":
                while j < end and (text[j] in SENTENCE_END or text[j] in CLOSERS):
                    j += 1
            if span := _trimmed(text, begin, j):
                spans.append(span)
            begin = i = j
            continue
        i += 1
    if span := _trimmed(text, begin, end):
        spans.append(span)
    return spans


def _safe_word_cut(text: str, start: int, limit: int) -> int:
    """The last jieba word boundary in (start, limit] that is not inside a number or a Latin word."""
    best = start
    for _word, _begin, w_end in jieba.tokenize(text[start:limit + 1]):
        cut = start + w_end
        if cut > limit:
            break
        left, right = text[cut - 1], text[cut] if cut < len(text) else ""
        if right and (left.isascii() and left.isalnum()) and (right.isascii() and right.isalnum()):
            continue
        if right and left.isdigit() and right in ".%％":
            continue
        best = cut
    return best if best > start else limit


def cut_long_sentence(text: str, span: Span, max_chars: int) -> list[Span]:
    """Cut a sentence longer than max_chars at commas, or else at a word boundary."""
    pieces: list[Span] = []
    start = span.start
    while span.end - start > max_chars:
        limit = start + max_chars
        cut = max((i + 1 for i in range(start, limit) if text[i] in CLAUSE_BREAKS), default=start)
        if cut - start < max_chars // 4:  # no usable comma: fall back to a word boundary
            cut = _safe_word_cut(text, start, limit)
        if piece := _trimmed(text, start, cut):
            pieces.append(piece)
        start = cut
    if piece := _trimmed(text, start, span.end):
        pieces.append(piece)
    return pieces


def sentence_units(text: str, max_chars: int) -> list[Span]:
    units: list[Span] = []
    for sentence in split_sentences(text):
        units.extend(cut_long_sentence(text, sentence, max_chars) if len(sentence) > max_chars else [sentence])
    return units


def pack_passages(text: str, doc_id: str, config: ChunkingConfig) -> list[Passage]:
    """Greedy packing of whole sentences, repeating one short sentence between neighbours."""
    units = sentence_units(text, config.max_chars)
    spans: list[Span] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units):
            length = units[j].end - units[i].start
            current = units[j - 1].end - units[i].start
            fits_target = length <= config.target_chars
            too_short = current < config.min_chars and length <= config.max_chars
            if not (fits_target or too_short):
                break
            j += 1
        spans.append(Span(units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        overlap = units[j - 1]
        i = j - 1 if j - 1 > i and len(overlap) <= config.overlap_max_chars else j
    spans = _merge_short_tail(spans, config)
    return [Passage(doc_id, n, s.start, s.end, text[s.start:s.end]) for n, s in enumerate(spans)]


def _merge_short_tail(spans: list[Span], config: ChunkingConfig) -> list[Span]:
    if len(spans) >= 2 and len(spans[-1]) < config.min_chars:
        merged = Span(spans[-2].start, spans[-1].end)
        if len(merged) <= config.max_chars:
            return [*spans[:-2], merged]
    return spans

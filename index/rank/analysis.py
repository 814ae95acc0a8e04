"""What the ranking stage knows about a question and about a passage, computed once each.

Everything is matched on the normalized copy of the text (NFKC, lower case, simplified
script: ``index.tokenize.normalize_for_match``); offsets always point into the stored text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from index.ingest.chunking import Span, passage_sentences
from index.tokenize import normalize_for_match

NUMBER = re.compile(r"\d+(?:\.\d+)?")
YEAR = re.compile(r"(?<!\d)(?:1[5-9]|20)\d{2}(?!\d)")
CHINESE_COUNT = re.compile(r"[一二两三四五六七八九十百千万亿]+[个名位项家座次年月日亿万元人所条种件届期倍]")
DATE = re.compile(r"\d{1,4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|[一二三四五六七八九十〇零]{2,4}年|世纪|年代|朝")
PLACE = re.compile(r"[省市县区镇乡村州国岛河江湖山路街]")
PERSON = re.compile("先生|女士|教授|博士|主席|总统|书记|主任|局长|部长|董事长|经理|院长|校长|市长|县长|区长|"
                    "国王|皇帝|作者|导演|演员|运动员|创始人|担任")

# Answer types a question asks for, from its wording; checked in this order (哪一年 before 多少).
ANSWER_TYPES = ("other", "who", "when", "number", "where")
_ANSWER_TYPE_CUES = (
    ("when", re.compile(r"哪一?年|哪一天|何时|何年|什么时[候间]|几月|几号|哪个朝代|年份|日期|多少年前|"
                        r"哪一?年代|几世纪")),
    ("who", re.compile(r"谁|哪位|什么人|何人|哪个人|姓名|名字|叫什么")),
    ("number", re.compile(r"多少|几[个名位项次年种倍岁]|多[大高长远重久深宽]|比例|百分之|第几|数量|排名|几成")),
    ("where", re.compile(r"哪里|哪儿|何地|何处|什么地方|哪个(?:国家|城市|省|地区|地方)|在哪|位于")),
)


def answer_type(normalized_question: str) -> str:
    for name, pattern in _ANSWER_TYPE_CUES:
        if pattern.search(normalized_question):
            return name
    return "other"


def bigrams(normalized: str) -> frozenset[str]:
    chars = [c for c in normalized if c.isalnum()]
    return frozenset(a + b for a, b in zip(chars, chars[1:], strict=False))


def numbers(normalized: str) -> frozenset[str]:
    return frozenset(NUMBER.findall(normalized))


def has_type_cue(kind: str, normalized: str, question_numbers: frozenset[str]) -> float:
    """1.0 when the text holds the kind of thing the question asks for (not just the question's own numbers)."""
    if kind == "number":
        return float(bool(numbers(normalized) - question_numbers) or bool(CHINESE_COUNT.search(normalized)))
    if kind == "when":
        return float(bool(DATE.search(normalized)))
    if kind == "who":
        return float(bool(PERSON.search(normalized)))
    if kind == "where":
        return float(bool(PLACE.search(normalized)))
    return 0.0


@dataclass(frozen=True)
class Sentence:
    span: Span
    normalized: str
    tokens: frozenset[str]
    bigrams: frozenset[str]


@dataclass
class PassageView:
    """A passage, its title and its sentences, tokenized and normalized for matching."""

    span: Span
    ordinal: int
    normalized: str
    tokens: frozenset[str]
    token_list: list[str]
    bigrams: frozenset[str]
    numbers: frozenset[str]
    title_tokens: frozenset[str]
    title_bigrams: frozenset[str]
    sentences: list[Sentence]

    @classmethod
    def of(cls, document_text: str, title: str, span: Span, ordinal: int,
           tokenize: Callable[[str], list[str]]) -> PassageView:
        normalized = normalize_for_match(document_text[span.start:span.end])
        token_list = tokenize(normalized)
        sentences = []
        for sentence in passage_sentences(document_text, span.start, span.end):
            text = normalize_for_match(document_text[sentence.start:sentence.end])
            sentences.append(Sentence(sentence, text, frozenset(tokenize(text)), bigrams(text)))
        title_normalized = normalize_for_match(title)
        return cls(span, ordinal, normalized, frozenset(token_list), token_list, bigrams(normalized),
                   numbers(normalized), frozenset(tokenize(title_normalized)), bigrams(title_normalized),
                   sentences)

    @classmethod
    def join(cls, views: list[PassageView], span: Span) -> PassageView:
        """Neighbouring passages as one (a merged result), from their own analysis: nothing is
        tokenized again. Sentences they share (the overlap) are counted once."""
        ordered = sorted(views, key=lambda view: view.span.start)
        by_span: dict[tuple[int, int], Sentence] = {}
        for view in ordered:
            for sentence in view.sentences:
                by_span.setdefault((sentence.span.start, sentence.span.end), sentence)
        sentences = [by_span[key] for key in sorted(by_span)]
        normalized = "".join(sentence.normalized for sentence in sentences)
        token_list = [token for view in ordered for token in view.token_list]
        first = ordered[0]
        return cls(span, first.ordinal, normalized, frozenset(token_list), token_list,
                   frozenset().union(*(view.bigrams for view in ordered)),
                   frozenset().union(*(view.numbers for view in ordered)),
                   first.title_tokens, first.title_bigrams, sentences)


@dataclass
class QuestionView:
    """The question's tokens with their idf, its bigrams, numbers, years and answer type."""

    text: str
    normalized: str
    tokens: list[str]
    idf: dict[str, float]
    max_idf: float  # the idf of a token found in one passage: scales idf into [0, 1]

    @classmethod
    def of(cls, question: str, tokens: list[str], idf: Callable[[str], float], n_passages: int) -> QuestionView:
        max_idf = math.log(1 + (n_passages - 1 + 0.5) / 1.5) if n_passages > 1 else 1.0
        # A token no passage has gets the largest idf: asking for it and not finding it matters most.
        weights = {t: (idf(t) or max_idf) for t in dict.fromkeys(tokens)}
        return cls(question, normalize_for_match(question), tokens, weights, max_idf)

    @cached_property
    def idf_total(self) -> float:
        return sum(self.idf.values()) or 1.0

    @cached_property
    def bigrams(self) -> frozenset[str]:
        return bigrams(self.normalized)

    @cached_property
    def numbers(self) -> frozenset[str]:
        return numbers(self.normalized)

    @cached_property
    def years(self) -> frozenset[str]:
        return frozenset(YEAR.findall(self.normalized))

    @cached_property
    def answer_type(self) -> str:
        return answer_type(self.normalized)

    def idf_cover(self, tokens: frozenset[str]) -> float:
        """The share of the question's idf mass that `tokens` contain."""
        return sum(w for t, w in self.idf.items() if t in tokens) / self.idf_total

    def bigram_cover(self, other: frozenset[str]) -> float:
        return len(self.bigrams & other) / (len(self.bigrams) or 1)

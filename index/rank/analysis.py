"""What the ranking stage knows about a question and about a passage, computed once each.

Everything is matched on the normalized copy of the text (NFKC, lower case, simplified
script: ``index.tokenize.normalize_for_match``); offsets always point into the stored text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
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

WH_WORD = re.compile(r"多少|几|谁|哪|什么|何|怎么|怎样|如何|是否|有没有|吗")
SPECIFIC_BELOW = 3000  # jieba dictionary frequency: rarer words (and unknown ones) are specific
YEAR_CONTEXT_CHARS = 1000  # how far back in its article a passage's year in force is looked for


def word_kind(word: str) -> str:
    """"unknown" for a word jieba's dictionary does not have (mostly names: 佛吉亚, 经开区),
    "specific" for a rare one (党工委, 董事长, 高新区), "common" otherwise (书记, 项目, 投资);
    numbers are "number". A lookup in the dictionary the tokenizer already loaded."""
    import jieba

    if NUMBER.fullmatch(word):
        return "number"
    frequency = jieba.dt.FREQ.get(word, 0)
    return "unknown" if frequency == 0 else "specific" if frequency < SPECIFIC_BELOW else "common"


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


_CUE_PATTERNS = {"count": CHINESE_COUNT, "when": DATE, "who": PERSON, "where": PLACE}


class TextCues:
    """What a type cue looks for in one normalized text (its numbers; a count, a date, a
    person, a place), each searched for on first use and kept: a passage is ranked for
    many questions, and a sentence is scored for its passage and again for the evidence."""

    __slots__ = ("_found", "_numbers", "_text")

    def __init__(self, normalized: str) -> None:
        self._text = normalized
        self._numbers: frozenset[str] | None = None
        self._found: dict[str, bool] = {}

    @property
    def numbers(self) -> frozenset[str]:
        if self._numbers is None:
            self._numbers = numbers(self._text)
        return self._numbers

    def _has(self, pattern: str) -> bool:
        found = self._found.get(pattern)
        if found is None:
            found = self._found[pattern] = bool(_CUE_PATTERNS[pattern].search(self._text))
        return found

    def type_cue(self, kind: str, question_numbers: frozenset[str]) -> float:
        """1.0 when the text holds the kind of thing the question asks for (not just the question's own numbers)."""
        if kind == "number":
            return float(bool(self.numbers - question_numbers) or self._has("count"))
        if kind in ("when", "who", "where"):
            return float(self._has(kind))
        return 0.0


def has_type_cue(kind: str, normalized: str, question_numbers: frozenset[str]) -> float:
    """TextCues.type_cue of a text seen once."""
    return TextCues(normalized).type_cue(kind, question_numbers)


@dataclass(frozen=True)
class Sentence:
    span: Span
    normalized: str
    tokens: frozenset[str]
    bigrams: frozenset[str]

    @cached_property
    def cues(self) -> TextCues:
        return TextCues(self.normalized)


@dataclass
class PassageView:
    """A passage, its title and its sentences, tokenized and normalized for matching."""

    span: Span
    ordinal: int
    normalized: str
    tokens: frozenset[str]
    bigrams: frozenset[str]
    numbers: frozenset[str]
    title_tokens: frozenset[str]
    title_bigrams: frozenset[str]
    sentences: list[Sentence]
    year_before: str | None = None  # the last year its article names before it (see sentence_years)
    title: str = ""  # its article's title, normalized

    @cached_property
    def cues(self) -> TextCues:
        return TextCues(self.normalized)

    @cached_property
    def sentence_years(self) -> tuple[frozenset[str], ...]:
        """Per sentence, the years it speaks of: those it names, or else the last one named before
        it (in the passage, or in the article before the passage). News text names the year once
        (2024年，嘉兴…) and then goes on (过去这一年…11个新能源项目) without repeating it."""
        current = frozenset([self.year_before]) if self.year_before else frozenset()
        in_force = []
        for sentence in self.sentences:
            named = YEAR.findall(sentence.normalized)
            in_force.append(frozenset(named) if named else current)
            if named:
                current = frozenset([named[-1]])
        return tuple(in_force)

    @cached_property
    def years_in_force(self) -> frozenset[str]:
        """The years any of its sentences speaks of (sentence_years)."""
        return frozenset().union(*self.sentence_years)

    @classmethod
    def of(cls, document_text: str, title: str, span: Span, ordinal: int,
           tokenize: Callable[[str], list[str]]) -> PassageView:
        normalized = normalize_for_match(document_text[span.start:span.end])
        sentences = []
        for sentence in passage_sentences(document_text, span.start, span.end):
            text = normalize_for_match(document_text[sentence.start:sentence.end])
            sentences.append(Sentence(sentence, text, frozenset(tokenize(text)), bigrams(text)))
        title_normalized = normalize_for_match(title)
        # years are digits: NFKC (full-width to ASCII) is all of normalize_for_match they need
        context = document_text[max(0, span.start - YEAR_CONTEXT_CHARS):span.start]
        before = YEAR.findall(unicodedata.normalize("NFKC", context))
        return cls(span, ordinal, normalized, frozenset(tokenize(normalized)), bigrams(normalized),
                   numbers(normalized), frozenset(tokenize(title_normalized)), bigrams(title_normalized),
                   sentences, before[-1] if before else None, title_normalized)

    @classmethod
    def join(cls, views: list[PassageView], span: Span) -> PassageView:
        """Neighbouring passages as one (a merged result), or the part of one passage within
        `span`, from their own analysis: nothing is tokenized again. Sentences they share (the
        overlap) are counted once; sentences outside `span` are left out, and so are their
        words, bigrams and numbers. The year in force at its start is the last one named before
        `span`, in a left-out sentence or else before the first passage."""
        ordered = sorted(views, key=lambda view: view.span.start)
        by_span: dict[tuple[int, int], Sentence] = {}
        year_before = ordered[0].year_before
        for view in ordered:
            for sentence in view.sentences:
                if span.start <= sentence.span.start and sentence.span.end <= span.end:
                    by_span.setdefault((sentence.span.start, sentence.span.end), sentence)
                elif sentence.span.end <= span.start and (named := YEAR.findall(sentence.normalized)):
                    year_before = named[-1]
        sentences = [by_span[key] for key in sorted(by_span)]
        normalized = "".join(sentence.normalized for sentence in sentences)
        whole = all(span.start <= view.span.start and view.span.end <= span.end for view in ordered)
        if whole:  # the passages' own analysis, which also has the words jieba cut across sentences
            tokens = frozenset().union(*(view.tokens for view in ordered))
            passage_bigrams = frozenset().union(*(view.bigrams for view in ordered))
            passage_numbers = frozenset().union(*(view.numbers for view in ordered))
        else:
            tokens = frozenset().union(*(sentence.tokens for sentence in sentences))
            passage_bigrams, passage_numbers = bigrams(normalized), numbers(normalized)
        first = ordered[0]
        return cls(span, first.ordinal, normalized, tokens, passage_bigrams, passage_numbers,
                   first.title_tokens, first.title_bigrams, sentences, year_before, first.title)


@dataclass
class QuestionView:
    """The question's tokens with their idf, its bigrams, numbers, years and answer type."""

    text: str
    normalized: str
    tokens: list[str]
    idf: dict[str, float]
    max_idf: float  # the idf of a token found in one passage: scales idf into [0, 1]
    # per title, kept for the question's candidates (many share an article): see title_run, beyond_title
    _title_runs: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _beyond_title: dict[frozenset[str], tuple[tuple[tuple[str, float], ...], float]] = field(
        default_factory=dict, repr=False, compare=False)

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

    @cached_property
    def focus(self) -> str | None:
        """The word the question asks about: the last word before its question word (总量 in
        GDP总量是多少, 主任 in 管委会主任是谁), or its last word when it starts with one (谁是…一把手)."""
        cue = WH_WORD.search(self.normalized)
        end = cue.start() if cue is not None and cue.start() > 1 else len(self.normalized)
        focus, position = None, 0
        for token in self.tokens:
            found = self.normalized.find(token, position)
            if found < 0:
                continue
            position = found + len(token)
            if position <= end and token in self.idf:
                focus = token
        return focus

    @cached_property
    def nouns(self) -> tuple[str, ...]:
        """The question's specific words (unknown to jieba's dictionary, or rare in it): what it is
        about (a zone, a company, a person), as opposed to what it asks (书记, 多少, 投资). In the
        question's order, not a set's: a set of strings iterates in an order that changes from one
        process to the next, which made the sums over them and the training questions changed
        from them differ between two runs of qa train-ranker."""
        return tuple(t for t in self.idf if word_kind(t) in ("unknown", "specific"))

    @cached_property
    def nouns_idf(self) -> float:
        """The idf mass of the specific words (1.0 when there are none): what their shares are of."""
        return sum(self.idf[t] for t in self.nouns) or 1.0

    @cached_property
    def idf_items(self) -> tuple[tuple[str, float], ...]:
        return tuple(self.idf.items())

    def title_run(self, title: str) -> int:
        """The longest run of characters the question shares with a title: 嘉兴国家高新区 (7) with
        嘉兴国家高新区：全力打造…, only 高新区 (3) with …嘉兴高新区打造… — what names the article's
        subject in one piece, which bigram shares do not tell. Kept per title."""
        runs = self._title_runs
        if title not in runs:
            match = SequenceMatcher(None, self.normalized, title, autojunk=False).find_longest_match()
            runs[title] = match.size
        return runs[title]

    def beyond_title(self, title_tokens: frozenset[str]) -> tuple[tuple[tuple[str, float], ...], float]:
        """The question's words (with their idf) that a title lacks, and their idf total: what is
        asked beyond what the article is about (an entity's name is in its title and its defining
        sentence, the asked attribute in the answer's). Kept per title."""
        kept = self._beyond_title
        if title_tokens not in kept:
            words = tuple((t, w) for t, w in self.idf_items if t not in title_tokens)
            kept[title_tokens] = (words, sum(w for _, w in words))
        return kept[title_tokens]

    def beyond_title_cover(self, title_tokens: frozenset[str], tokens: frozenset[str]) -> float:
        """The share of beyond_title's idf that `tokens` contain (-1 when the title has every word)."""
        words, total = self.beyond_title(title_tokens)
        return sum([w for t, w in words if t in tokens]) / total if total else -1.0

    def idf_cover(self, tokens: frozenset[str]) -> float:
        """The share of the question's idf mass that `tokens` contain."""
        if tokens.isdisjoint(self.idf):  # half of the sentences of the candidates, a test in C
            return 0.0
        return sum([w for t, w in self.idf_items if t in tokens]) / self.idf_total

    def bigram_cover(self, other: frozenset[str]) -> float:
        return len(self.bigrams & other) / (len(self.bigrams) or 1)

    def sentence_cover(self, sentence: Sentence) -> tuple[float, float, float]:
        """The sentence's idf_cover, bigram_cover and lexical score (idf_cover + half its bigram_cover)."""
        idf_cover, bigram_cover = self.idf_cover(sentence.tokens), self.bigram_cover(sentence.bigrams)
        return idf_cover, bigram_cover, idf_cover + 0.5 * bigram_cover


# Common surnames: an unknown two- or three-character word (not in jieba's dictionary) that starts
# with one of them is most likely a person's name (章澜, 于大勇). Used for "who" questions.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季"
    "裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄"
    "窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝郁匡")


def in_dictionary(word: str) -> bool:
    import jieba

    return jieba.dt.FREQ.get(word, 0) > 0


def person_names(tokens: frozenset[str], known: Callable[[str], bool]) -> frozenset[str]:
    """Tokens that look like a person's name: 2-3 Chinese characters, a common surname first,
    and not a dictionary word (`known`). A cue for "who" questions; it misses famous names."""
    return frozenset(t for t in tokens if 2 <= len(t) <= 3 and t[0] in SURNAMES
                     and all("\u4e00" <= c <= "\u9fff" for c in t) and not known(t))


@dataclass
class ArticleView:
    """A whole article (document) normalized for matching: is what the question asks about
    there at all? Questions about a year, a number or a name the article never gives are the
    on-topic ones nothing can answer."""

    normalized: str  # title and text
    numbers: frozenset[str]

    @classmethod
    def of(cls, title: str, text: str) -> ArticleView:
        normalized = normalize_for_match(title) + "\n" + normalize_for_match(text)
        return cls(normalized, numbers(normalized))

    def has(self, word: str) -> bool:
        return word in self.normalized

"""Conservative cleaning of raw Chinese articles.

The cleaned text is what is stored, embedded and cited, so every rule here
only removes page furniture (breadcrumbs, image captions, photo credits),
repairs words broken across paragraphs, drops exact repeats of a paragraph,
and unifies character widths. It never drops a sentence of the article's body:
a line that ends a sentence, or carries a comma, is never treated as a caption.
"""

from __future__ import annotations

import re

PARAGRAPH_END = set("。！？；…”’」』）】!?;：:—")
CLAUSE_END = set("，,、")
CAPTION_MAX_CHARS = 30
CAPTION_GAP_BLANK_LINES = 2  # an image left a run of at least this many blank lines above its caption
LONG_PARAGRAPH_CHARS = 40  # a line this long that stops mid-phrase is a body paragraph cut in two
MIN_REPEAT_CHARS = 20  # shorter repeated lines (headings, captions) are left alone

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_HALF_TO_FULL_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_FURNITURE_LINES = {"栏目更新", "打印本页", "关闭窗口", "返回顶部", "相关阅读", "分享到", "【打印】", "【关闭】"}
_BREADCRUMB = re.compile(r"^(您当前的位置|当前位置|您的位置)|^\s*[>›»]\s*\S|\S\s+[>›»]\s+\S.*\s[>›»]\s")
_PAGE_META = re.compile(r"浏览次数|点击数[:：]|阅读量[:：]")
_PHOTO_CREDIT = re.compile(r"^[（(]?(本版)?(图片|照片)由.{1,30}提供[)）]?$|^.{1,20}供图$")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_SENTENCE_PUNCT = re.compile(r"[。！？；，,;!?]")


def is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x3000 <= code <= 0x303F or (
        0xFF00 <= code <= 0xFFEF
    ) or char in "“”‘’"


def normalize_width(text: str) -> str:
    """Full-width letters and digits to ASCII; ASCII sentence punctuation beside Chinese to full-width."""
    out = []
    for char in text:
        code = ord(char)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            char = chr(code - 0xFEE0)
        out.append(char)
    chars = out
    for i, char in enumerate(chars):
        full = _HALF_TO_FULL_PUNCT.get(char)
        if full is None:
            continue
        before = chars[i - 1] if i > 0 else ""
        after = chars[i + 1] if i + 1 < len(chars) else ""
        # "1,000" and "10:28" keep their ASCII form; only punctuation touching Chinese changes.
        if (before and is_cjk(before)) or (after and is_cjk(after)):
            chars[i] = full
    return "".join(chars)


def _normalize_line(line: str) -> str:
    line = line.translate(_ZERO_WIDTH).replace("\xa0", " ")
    line = _MARKDOWN_HEADING.sub("", line.strip())
    return _SPACE_RUN.sub(" ", normalize_width(line)).strip()


def _is_furniture(line: str) -> bool:
    return (
        line in _FURNITURE_LINES
        or bool(_BREADCRUMB.search(line))
        or bool(_PAGE_META.search(line))
        or bool(_PHOTO_CREDIT.match(line))
    )


def _is_caption(line: str, blank_lines_before: int, is_first: bool) -> bool:
    return (
        not is_first
        and blank_lines_before >= CAPTION_GAP_BLANK_LINES
        and len(line) <= CAPTION_MAX_CHARS
        and not _SENTENCE_PUNCT.search(line)
    )


def _continues(previous_end: str, previous_length: int, following: str) -> bool:
    """True when `following` is the rest of a paragraph that was cut after one ending in `previous_end`
    and `previous_length` characters long."""
    if not following or previous_end in PARAGRAPH_END:
        return False
    if following[0] in "-*■●>#" or not is_cjk(following[0]):
        return False
    if previous_end in CLAUSE_END:
        return True
    if previous_end.isdigit():  # "2025" / "年"
        return True
    return previous_length >= LONG_PARAGRAPH_CHARS and is_cjk(previous_end)


def clean_article(raw: str) -> str:
    """Return the cleaned article: one paragraph a line, joined by '\\n'."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Each paragraph is kept as the lines it joins, and each is joined once at the end: appending
    # to a growing string was quadratic when thousands of lines continued one paragraph.
    paragraphs: list[list[str]] = []
    length = 0  # characters in the last paragraph
    blank_run = 0
    for raw_line in lines:
        line = _normalize_line(raw_line)
        if not line:
            blank_run += 1
            continue
        if _is_furniture(line) or _is_caption(line, blank_run, not paragraphs):
            blank_run = 0  # the line after a caption is judged by its own gap
            continue
        if paragraphs and _continues(paragraphs[-1][-1][-1], length, line):
            paragraphs[-1].append(line)
            length += len(line)
        else:
            paragraphs.append([line])
            length = len(line)
        blank_run = 0
    return "\n".join(_drop_repeated(["".join(parts) for parts in paragraphs]))


def _drop_repeated(paragraphs: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        if len(paragraph) >= MIN_REPEAT_CHARS and paragraph in seen:
            continue
        seen.add(paragraph)
        kept.append(paragraph)
    return kept

"""The evidence sentence chosen inside a passage."""

from __future__ import annotations

from index.chunking import Span
from index.evidence import best_sentence
from index.tokenize import ChineseTokenizer

TEXT = "嘉兴高新区立足优势。2025年，研发经费预计达24.33亿元，同比增长22.41%。新增小巨人企业3家。"


def test_picks_the_sentence_sharing_the_question_words():
    tok = ChineseTokenizer()
    q = "研发经费预计达到多少？"
    span = best_sentence(TEXT, Span(0, len(TEXT)), q, tok(q), tok, lambda t: 1.0)
    assert TEXT[span.start:span.end] == "2025年，研发经费预计达24.33亿元，同比增长22.41%。"


def test_offsets_are_document_offsets_inside_the_passage():
    doc = "无关的开头。" + TEXT
    tok = ChineseTokenizer()
    q = "新增多少家小巨人企业"
    passage = Span(6, len(doc))
    span = best_sentence(doc, passage, q, tok(q), tok, lambda t: 1.0)
    assert doc[span.start:span.end] == "新增小巨人企业3家。" and passage.start <= span.start


def test_single_sentence_passage_is_its_own_evidence():
    tok = ChineseTokenizer()
    assert best_sentence("一句话", Span(0, 3), "别的", tok("别的"), tok, lambda t: 1.0) == Span(0, 3)

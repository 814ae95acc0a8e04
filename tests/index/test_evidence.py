"""The evidence sentence chosen inside a passage (lexical fallback and the trained model)."""

from __future__ import annotations

import numpy as np

from index.chunking import Span
from index.evidence import choose_evidence
from index.rank.analysis import PassageView, QuestionView
from index.rank.model import RankerModel
from index.tokenize import ChineseTokenizer

TEXT = "嘉兴高新区立足优势。2025年，研发经费预计达24.33亿元，同比增长22.41%。新增小巨人企业3家。"
TOKENIZE = ChineseTokenizer()


def _views(document: str, span: Span, question: str) -> tuple[QuestionView, PassageView]:
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 1.0, 100)
    return q, PassageView.of(document, "标题", span, 0, TOKENIZE)


def _no_vectors(view: PassageView) -> np.ndarray:
    return np.full(len(view.sentences), np.nan)


def test_lexical_fallback_picks_the_sentence_sharing_the_question_words():
    q, view = _views(TEXT, Span(0, len(TEXT)), "研发经费预计达到多少？")
    span = choose_evidence(q, view, None, _no_vectors(view))
    assert TEXT[span.start:span.end] == "2025年，研发经费预计达24.33亿元，同比增长22.41%。"


def test_offsets_are_document_offsets_inside_the_passage():
    doc = "无关的开头。" + TEXT
    q, view = _views(doc, Span(6, len(doc)), "新增多少家小巨人企业")
    span = choose_evidence(q, view, RankerModel.load().sentences, _no_vectors(view))
    assert doc[span.start:span.end] == "新增小巨人企业3家。" and span.start >= 6


def test_the_trained_model_prefers_the_sentence_holding_the_asked_number():
    doc = "2025年，嘉兴高新区研发经费增长较快，企业研发投入意愿增强。2025年研发经费预计达24.33亿元。"
    q, view = _views(doc, Span(0, len(doc)), "嘉兴高新区2025年研发经费预计达到多少？")
    span = choose_evidence(q, view, RankerModel.load().sentences, _no_vectors(view))
    assert "24.33亿元" in doc[span.start:span.end]


def test_single_sentence_passage_is_its_own_evidence():
    q, view = _views("一句话", Span(0, 3), "别的")
    assert choose_evidence(q, view, None, _no_vectors(view)) == Span(0, 3)

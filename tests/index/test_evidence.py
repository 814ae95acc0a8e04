"""The evidence sentence chosen inside a passage (lexical fallback and the trained model)."""

from __future__ import annotations

import numpy as np

from index.evidence import choose_evidence
from index.ingest.chunking import Span
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


def test_the_trained_model_finds_more_answers_than_the_lexical_fallback(searcher):
    """Over the seed questions' answering first results, with the index's real sentence vectors."""
    from eval.questions import load_seed_questions
    from eval.relevance import contains_answer

    model, views = searcher.reranker.model, searcher.reranker.views
    learned = lexical = 0
    for question in [q for q in load_seed_questions() if q.answerable]:
        retrieved = searcher.retrieve(question.question)
        top = searcher.rank(retrieved, rerank=True).passage_ids[0]
        passage = searcher.index.passages[top]
        if passage.doc_id not in question.gold_doc_ids or not contains_answer(passage.text, question.answers):
            continue
        text = searcher.index.documents[passage.doc_id].text
        dense = views.sentence_cosines(top, retrieved.query_vector)
        for sentence_model in (model.sentences, None):
            span = choose_evidence(retrieved.question, views[top], sentence_model, dense)
            found = contains_answer(text[span.start:span.end], question.answers)
            learned, lexical = (learned + found, lexical) if sentence_model is not None else (learned, lexical + found)
    assert learned > lexical, (learned, lexical)


def test_single_sentence_passage_is_its_own_evidence():
    q, view = _views("一句话", Span(0, 3), "别的")
    assert choose_evidence(q, view, None, _no_vectors(view)) == Span(0, 3)


def test_a_label_line_is_shown_with_the_sentence_it_introduces():
    """A timeline's date on its own line goes with the event below it, whichever of the two
    is chosen; a full sentence before the chosen one is not joined."""
    doc = "园区大事记：\n- 2009年12月23日\n创业服务中心被认定为国家级孵化器。\n- 2023年1月30日\n园区被认定为省级园区。"
    q, view = _views(doc, Span(0, len(doc)), "创业服务中心什么时候被认定为国家级孵化器？")
    span = choose_evidence(q, view, None, _no_vectors(view), label_chars=30)
    assert doc[span.start:span.end] == "- 2009年12月23日\n创业服务中心被认定为国家级孵化器。"
    assert choose_evidence(q, view, None, _no_vectors(view), label_chars=0) == Span(
        doc.index("创业"), doc.index("器。") + 2)
    q, view = _views(TEXT, Span(0, len(TEXT)), "研发经费预计达到多少？")
    span = choose_evidence(q, view, None, _no_vectors(view), label_chars=30)
    assert TEXT[span.start:span.end] == "2025年，研发经费预计达24.33亿元，同比增长22.41%。"

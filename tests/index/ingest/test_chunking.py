"""Sentence splitting, passage packing, size bounds and the offset invariant."""

from __future__ import annotations

import re

import pytest

from index.ingest.chunking import ChunkingConfig, Span, cut_long_sentence, pack_passages, split_sentences
from index.ingest.documents import load_corpus
from index.settings import REPO_ROOT

CONFIG = ChunkingConfig(min_chars=100, target_chars=200, max_chars=400, overlap_max_chars=120)


@pytest.fixture(scope="module")
def seed_documents():
    return load_corpus(REPO_ROOT / "corpus").documents


def texts(text: str, spans: list[Span]) -> list[str]:
    return [text[s.start:s.end] for s in spans]


def test_sentences_end_at_marks_and_line_breaks_with_closing_quotes():
    text = "他说：“好。”然后走了！真的吗？是的；好\n标题\n  末句"
    expected = ["他说：“好。”", "然后走了！", "真的吗？", "是的；", "好", "标题", "末句"]
    assert texts(text, split_sentences(text)) == expected


def test_sentences_of_a_range_keep_document_offsets():
    text = "前文。目标句一。目标句二。后文。"
    spans = split_sentences(text, 3, 13)
    assert texts(text, spans) == ["目标句一。", "目标句二。"] and spans[0].start == 3


def test_offset_invariant_and_size_bounds_on_the_seed_corpus(seed_documents):
    for doc in seed_documents:
        passages = pack_passages(doc.text, doc.doc_id, CONFIG)
        assert [p.ordinal for p in passages] == list(range(len(passages)))
        for p in passages:
            assert doc.text[p.start:p.end] == p.text
            assert len(p.text) <= CONFIG.max_chars
        assert sum(len(p.text) >= CONFIG.min_chars for p in passages) >= len(passages) - 1
        assert passages[0].start == 0 and passages[-1].end == len(doc.text)


def test_every_sentence_is_in_some_passage(seed_documents):
    for doc in seed_documents:
        passages = pack_passages(doc.text, doc.doc_id, CONFIG)
        for sentence in split_sentences(doc.text):
            assert any(p.start <= sentence.start and sentence.end <= p.end for p in passages)


def test_neighbouring_passages_share_one_short_sentence(seed_documents):
    doc = seed_documents[0]
    passages = pack_passages(doc.text, doc.doc_id, CONFIG)
    overlapping = [a for a, b in zip(passages, passages[1:], strict=False) if b.start < a.end]
    assert len(overlapping) >= len(passages) // 2
    for a, b in zip(passages, passages[1:], strict=False):
        assert b.start >= a.start  # never going backwards
        assert doc.text[a.end:b.start].strip() == ""  # and nothing but white space between
        if b.start < a.end:
            assert len(split_sentences(doc.text, b.start, a.end)) == 1


def test_long_sentence_is_cut_at_commas_and_stays_within_bounds():
    sentence = "，".join(f"第{i}项指标同比增长{i}.5%" for i in range(60)) + "。"
    pieces = cut_long_sentence(sentence, Span(0, len(sentence)), 100)
    assert len(pieces) > 1 and all(len(p) <= 100 for p in pieces)
    for p in pieces[:-1]:
        assert sentence[p.end - 1] == "，"
    assert "".join(sentence[p.start:p.end] for p in pieces) == sentence


def test_sentence_without_commas_is_never_cut_inside_a_number_or_word():
    sentence = "嘉兴高新区规模以上工业企业研发经费预计达24.33亿元同比增长22.41%" * 12
    pieces = cut_long_sentence(sentence, Span(0, len(sentence)), 100)
    assert all(len(p) <= 100 for p in pieces)
    for p in pieces[:-1]:
        left, right = sentence[p.end - 1], sentence[p.end]
        assert not (left.isdigit() and (right.isdigit() or right in ".%"))
        assert not re.match(r"\d", right) or not left.isdigit()


def test_cmrc_passages_keep_the_invariant():
    docs = load_corpus(REPO_ROOT.parent / "shared" / "benchmarks" / "cmrc2018_dev" / "passages.jsonl").documents
    for doc in docs[:200]:
        for p in pack_passages(doc.text, doc.doc_id, CONFIG):
            assert doc.text[p.start:p.end] == p.text and 0 < len(p.text) <= CONFIG.max_chars

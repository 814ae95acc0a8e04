"""jieba precise-mode tokenization with stopwords."""

from __future__ import annotations

from index.tokenize import ChineseTokenizer, default_stopwords


def test_precise_mode_keeps_figures_whole_and_drops_question_words():
    tokens = ChineseTokenizer()("嘉兴高新区2025年研发经费预计达到多少？增长22.41%")
    assert tokens == ["嘉兴", "高新区", "2025", "年", "研发", "经费", "预计", "达到", "增长", "22.41%"]


def test_no_overlapping_search_mode_pieces():
    tokens = ChineseTokenizer()("中华人民共和国国务院")
    assert "中华" not in tokens and "人民" not in tokens  # lcut_for_search would add these


def test_full_width_and_case_are_normalized():
    tok = ChineseTokenizer()
    assert tok("ＧＤＰ增长１２％") == tok("gdp增长12%")


def test_punctuation_and_whitespace_are_not_tokens():
    assert ChineseTokenizer()("  ，。！？…… “” ") == []


def test_stopword_list_is_pluggable():
    assert "的" in default_stopwords()
    assert ChineseTokenizer(stopwords=[])("嘉兴的") == ["嘉兴", "的"]

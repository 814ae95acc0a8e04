"""The hit rule: gold document and the answer inside, after width and white-space normalization."""

from __future__ import annotations

from eval.relevance import contains_answer, is_hit, normalize


def test_normalize_width_and_space():
    assert normalize("Ｇ Ｄ Ｐ，增长１２％\n") == "gdp,增长12%"


def test_contains_answer_ignores_width_and_line_breaks():
    assert contains_answer("研发经费预计达24.33\n亿元，同比增长", ["24.33亿元"])
    assert contains_answer("总投资（嘉善）项目", ["总投资(嘉善)项目"])
    assert not contains_answer("研发经费预计达24.3亿元", ["24.33亿元"])
    assert not contains_answer("任何文字", ["", "  "])


def test_is_hit_needs_the_gold_document():
    assert is_hit("a", "章澜说", ["a"], ["章澜"])
    assert not is_hit("b", "章澜说", ["a"], ["章澜"])
    assert not is_hit("a", "章澜说", [], [])

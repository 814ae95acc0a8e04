"""The "no answer" model's features: a question's year, words and asked-for person checked
against the best results' articles, computed the same way for training and search."""

from __future__ import annotations

import numpy as np

from eval.train.data import changed_number
from index.ingest.chunking import Span
from index.rank.analysis import ArticleView, PassageView, QuestionView, in_dictionary, person_names
from index.rank.answerable import ANSWERABLE_FEATURES, CONSTRAINTS, answerable_row, constraint_row
from index.rank.features import PASSAGE_FEATURES
from index.tokenize import ChineseTokenizer

TOKENIZE = ChineseTokenizer()
ARTICLE = ("嘉兴经开区党委书记、管委会主任章澜在会上讲话。2024年，嘉兴经开区实现GDP增长6.5%。"
           "2023年，嘉兴经开区引进项目50个。")
COLUMN = {name: i for i, name in enumerate(CONSTRAINTS)}


def _constraints(question: str, text: str = ARTICLE) -> np.ndarray:
    q = QuestionView.of(question, TOKENIZE(question), lambda t: 3.0, 1000)
    view = PassageView.of(text, "嘉兴经开区", Span(0, len(text)), 0, TOKENIZE)
    return constraint_row(q, view, 0, ArticleView.of("嘉兴经开区", text), in_dictionary)


def test_a_year_the_article_never_gives_is_missing():
    asked, other = _constraints("嘉兴经开区2024年GDP增长多少？"), _constraints("嘉兴经开区2025年GDP增长多少？")
    assert asked[COLUMN["article_years_missing"]] == 0 and other[COLUMN["article_years_missing"]] == 1
    assert other[COLUMN["article_numbers_missing"]] == 1.0
    assert _constraints("嘉兴经开区GDP增长多少？")[COLUMN["article_years_missing"]] == -1  # no year asked


def test_a_zone_or_company_the_article_never_names_is_missing():
    asked = _constraints("嘉兴经开区党委书记是谁？")
    other = _constraints("福莱特玻璃集团的董事长是谁？")
    assert asked[COLUMN["article_idf_missing"]] == 0.0 and other[COLUMN["article_idf_missing"]] > 0.5
    assert other[COLUMN["article_noun_idf_missing"]] > asked[COLUMN["article_noun_idf_missing"]]
    assert other[COLUMN["article_words_missing"]] >= 2


def test_who_questions_look_for_a_person_named():
    assert _constraints("嘉兴经开区党委书记是谁？")[COLUMN["person_in_best_sentence"]] == 1.0
    assert _constraints("嘉兴经开区党委书记是谁？", "嘉兴经开区党委召开会议。")[COLUMN["person_in_passage"]] == 0.0
    assert _constraints("嘉兴经开区GDP增长多少？")[COLUMN["person_in_passage"]] == -1.0  # not asked
    assert person_names(frozenset({"章澜", "高新区", "于大勇", "王国"}), in_dictionary) == {"章澜", "于大勇"}


def test_the_response_row_takes_the_best_scored_candidate():
    features = np.zeros((3, len(PASSAGE_FEATURES)))
    features[:, PASSAGE_FEATURES.index("dense")] = [0.1, 0.9, 0.5]
    scores = np.array([0.2, 2.0, 1.0])
    # constraints of the best three, best first: the top one asks a year its article lacks
    asked = _constraints("嘉兴经开区2024年GDP增长多少？")
    constraints = np.array([_constraints("嘉兴经开区2025年GDP增长多少？"), asked, asked])
    row = answerable_row(features, scores, constraints, ["a", "b", "b"])
    named = dict(zip(ANSWERABLE_FEATURES, row, strict=True))
    assert len(row) == len(ANSWERABLE_FEATURES)
    assert named["top_score"] == 2.0 and named["score_gap"] == 1.0 and named["dense"] == 0.9
    assert named["top3_same_article"] == 1 and named["article_years_missing"] == 1
    assert named["top3_min_article_years_missing"] == 0


def test_a_changed_question_asks_for_a_year_the_article_does_not_give():
    article = ArticleView.of("嘉兴经开区", ARTICLE)
    assert changed_number("嘉兴经开区2024年GDP增长多少？", article) == "嘉兴经开区2025年GDP增长多少？"
    assert changed_number("嘉兴经开区引进项目50个用了几年？", article) == "嘉兴经开区引进项目51个用了几年？"
    assert changed_number("嘉兴经开区GDP增长多少？", article) is None


def test_search_flags_a_year_the_article_lacks_and_an_off_topic_question(searcher):
    """End to end with the committed model: the same question with the article's year is
    answered, with a year the article never gives it is not; off-topic questions are flagged."""
    for answered, changed in (("嘉兴科技城2003年财政总收入是多少", "嘉兴科技城1997年财政总收入是多少"),
                              ("嘉兴国家高新区2023年光伏产业产值", "嘉兴国家高新区2019年光伏产业产值")):
        assert searcher.search(answered).no_answer is False
        flagged = searcher.search(changed)
        assert flagged.no_answer is True and flagged.results  # results are still returned
    assert searcher.search("上海迪士尼乐园的门票多少钱？").no_answer is True
    assert searcher.search("嘉兴经开区党委书记是谁").no_answer is False


def test_a_typed_window_needs_the_asked_words_beside_a_value_of_the_asked_kind():
    """智能传感园 is named, but never beside a figure: its investment is not given. 佛吉亚's is."""
    text = ("智能传感园项目现场，工人正在施工。智能传感园秉持产城融合理念。"
            "佛吉亚项目总投资12亿元。2024年，嘉兴经开区实现GDP增长6.5%。")
    unanswered = _constraints("智能传感园项目总投资多少亿元？", text)
    answered = _constraints("佛吉亚项目总投资多少亿元？", text)
    cover, nouns = COLUMN["typed_window_cover"], COLUMN["typed_window_nouns"]
    assert answered[cover] > unanswered[cover]
    assert answered[nouns] == 1.0 and unanswered[nouns] == 0.0
    assert answered[COLUMN["typed_window_focus"]] == 1.0


def test_a_typed_window_checks_the_year_and_a_person_for_who():
    text = "嘉兴经开区党委书记章澜在会上讲话。2024年，嘉兴经开区实现GDP增长6.5%。"
    assert _constraints("嘉兴经开区党委书记是谁？", text)[COLUMN["typed_window_focus"]] == 1.0
    untitled = _constraints("嘉兴经开区党委书记是谁？", "嘉兴经开区党委书记在会上讲话。")
    assert untitled[COLUMN["typed_window_cover"]] == 0.0
    same = _constraints("嘉兴经开区2024年GDP增长多少？", text)
    other = _constraints("嘉兴经开区2023年GDP增长多少？", text)
    assert same[COLUMN["typed_window_years"]] == 1.0 and other[COLUMN["typed_window_years"]] == 0.0
    assert _constraints("嘉兴经开区GDP增长多少？", text)[COLUMN["typed_window_years"]] == -1.0


def test_training_lists_without_the_answer_check_an_article_without_it(searcher):
    """The "answering passages removed" lists must not see the removed answer in their article."""
    from eval.questions import Question
    from eval.train.data import article_without_answers

    question = Question("t", "嘉兴经开区党委书记是谁？", ("章澜",), ("002_f452990c5d0afd35",), "fact")
    whole = searcher.reranker.views.article("002_f452990c5d0afd35")
    blanked = article_without_answers(searcher, question)
    assert whole.has("章澜") and not blanked.has("章澜")
    assert blanked.has("嘉兴经开区")  # the rest of the article stays

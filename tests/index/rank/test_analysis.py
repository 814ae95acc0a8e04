"""Question analysis: answer types, numbers, and matching across scripts."""

from __future__ import annotations

import pytest

from index.rank.analysis import QuestionView, answer_type, has_type_cue
from index.tokenize import ChineseTokenizer, normalize_for_match


@pytest.mark.parametrize(("question", "kind"), [
    ("嘉兴经开区党委书记是谁", "who"),
    ("昱能科技是哪一年上市的", "when"),
    ("研发经费预计达到多少", "number"),
    ("嘉兴机场位于哪里", "where"),
    ("嘉兴高新区的主赛道是什么", "other"),
])
def test_answer_type(question, kind):
    assert answer_type(question) == kind


def test_type_cues_ignore_the_questions_own_numbers():
    assert has_type_cue("number", "2025年研发经费24.33亿元", frozenset({"2025"})) == 1.0
    assert has_type_cue("number", "2025年研发经费增长较快", frozenset({"2025"})) == 0.0
    assert has_type_cue("when", "于2022年6月上市", frozenset()) == 1.0


def test_traditional_and_simplified_questions_look_the_same():
    tokenize = ChineseTokenizer()
    a = QuestionView.of("嘉興經開區黨委書記是誰", tokenize("嘉興經開區黨委書記是誰"), lambda t: 2.0, 100)
    b = QuestionView.of("嘉兴经开区党委书记是谁", tokenize("嘉兴经开区党委书记是谁"), lambda t: 2.0, 100)
    assert a.tokens == b.tokens and a.bigrams == b.bigrams and a.answer_type == b.answer_type == "who"
    assert normalize_for_match("嘉興ＡＢＣ１２") == "嘉兴abc12"


def test_joined_neighbours_keep_each_sentence_once_without_tokenizing_again():
    from index.ingest.chunking import Span
    from index.rank.analysis import PassageView

    text = "第一句讲嘉兴。第二句讲高新区。第三句讲经开区。第四句讲南湖。"
    calls = []

    def tokenize(s: str) -> list[str]:
        calls.append(s)
        return ChineseTokenizer()(s)

    left = PassageView.of(text, "标题", Span(0, 15), 0, tokenize)  # sentences 1-2
    right = PassageView.of(text, "标题", Span(7, len(text)), 1, tokenize)  # sentences 2-4 (2 is the overlap)
    before = len(calls)
    joined = PassageView.join([right, left], Span(0, len(text)))
    assert len(calls) == before
    assert [text[s.span.start:s.span.end] for s in joined.sentences] == [
        "第一句讲嘉兴。", "第二句讲高新区。", "第三句讲经开区。", "第四句讲南湖。"]
    assert joined.ordinal == 0 and joined.tokens == left.tokens | right.tokens


def test_a_texts_cues_found_once_still_answer_each_question_and_kind():
    from index.rank.analysis import TextCues

    cues = TextCues("2025年增长24.33")
    assert cues.type_cue("number", frozenset({"2025"})) == 1.0  # 24.33 is not the question's
    assert cues.type_cue("number", frozenset({"2025", "24.33"})) == 0.0  # only the question's own numbers
    assert cues.type_cue("when", frozenset()) == 1.0 and cues.type_cue("who", frozenset()) == 0.0
    assert cues.type_cue("where", frozenset()) == 0.0 and cues.type_cue("other", frozenset()) == 0.0
    assert cues.numbers == frozenset({"2025", "24.33"})


def test_a_sentences_cover_is_its_idf_and_bigram_cover_and_their_lexical_score():
    from index.ingest.chunking import Span
    from index.rank.analysis import PassageView

    tokenize = ChineseTokenizer()
    text = "嘉兴经开区党委书记章澜在会上讲话。南湖高新区2003年财政总收入8043万元。"
    sentences = PassageView.of(text, "标题", Span(0, len(text)), 0, tokenize).sentences
    idf = {"党委书记": 5.0, "财政": 3.0}
    question = "嘉兴经开区党委书记是谁"
    q = QuestionView.of(question, tokenize(question), lambda t: idf.get(t, 1.0), 100)
    first, second = (q.sentence_cover(s) for s in sentences)
    assert first[:2] == (q.idf_cover(sentences[0].tokens), q.bigram_cover(sentences[0].bigrams))
    assert first[2] == first[0] + 0.5 * first[1] and first[0] > 0.5
    assert second[0] == 0.0 == q.idf_cover(frozenset({"财政", "总收入"}))  # none of the question's words
    assert 0.0 < first[1] <= 1.0 and first[2] > second[2]


def test_specific_words_come_in_the_questions_order_every_time():
    """Not a set: training sums over them and picks among equals, and must do so the same in every process."""
    import subprocess
    import sys

    code = ("from index.rank.analysis import QuestionView; from index.tokenize import ChineseTokenizer; "
            "q = '佛吉亚绿动智行项目和晶能微电子项目落户嘉兴经开区还是秀洲区？'; "
            "print(QuestionView.of(q, ChineseTokenizer()(q), lambda t: 3.0, 1000).nouns)")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout for seed in (1, 2, 3)}
    assert len(seen) == 1 and "佛吉亚" in seen.pop()


def test_a_sentence_speaks_of_the_last_year_named_before_it_in_its_article():
    from index.ingest.chunking import Span
    from index.rank.analysis import PassageView

    text = "2023年，园区开工。2024年，嘉兴引进项目136个。过去这一年，嘉兴引进11个新能源项目。2025年计划更多。"
    start = text.index("过去")
    view = PassageView.of(text, "标题", Span(start, len(text)), 1, ChineseTokenizer())
    assert view.year_before == "2024"
    assert [sorted(years) for years in view.sentence_years] == [["2024"], ["2025"]]
    assert view.years_in_force == frozenset({"2024", "2025"})
    first = PassageView.of(text, "标题", Span(0, text.index("2024")), 0, ChineseTokenizer())
    assert first.year_before is None and first.years_in_force == frozenset({"2023"})
    joined = PassageView.join([view, first], Span(0, len(text)))
    assert joined.year_before is None


def test_the_part_of_a_passage_holds_only_its_own_sentences_words_numbers_and_year():
    from index.ingest.chunking import Span
    from index.rank.analysis import PassageView

    text = "2023年，园区开工建设。2024年，嘉兴引进项目136个。过去这一年，嘉兴引进11个新能源项目。"
    view = PassageView.of(text, "标题", Span(0, len(text)), 0, ChineseTokenizer())
    part = PassageView.join([view], Span(text.index("过去"), len(text)))
    assert [text[s.span.start:s.span.end] for s in part.sentences] == ["过去这一年，嘉兴引进11个新能源项目。"]
    assert part.numbers == frozenset({"11"}) and "136" in view.numbers
    assert "开工" in view.tokens and "开工" not in part.tokens and "新能源" in part.tokens
    assert "开工" in view.bigrams and "开工" not in part.bigrams and part.normalized == part.sentences[0].normalized
    assert part.year_before == "2024" and part.sentence_years == (frozenset({"2024"}),)


def test_the_longest_run_a_question_shares_with_a_title_tells_apart_titles_sharing_bigrams():
    question = QuestionView.of("嘉兴国家高新区2024年计划完成产业供地多少亩？", [], lambda t: 1.0, 10)
    assert question.title_run(normalize_for_match("嘉兴国家高新区：全力打造空港秀水创新绿谷")) == 7
    assert question.title_run(normalize_for_match("激活“新”质动能 嘉兴高新区打造区域高质量发展主阵地")) == 3
    assert question.title_run("") == 0


def test_what_a_question_asks_beyond_a_title_is_the_share_of_the_words_the_title_lacks():
    tokenize = ChineseTokenizer()
    question = QuestionView.of("长齿锯犁鳗的体长是多少", tokenize("长齿锯犁鳗的体长是多少"), lambda t: 2.0, 100)
    title = frozenset(tokenize(normalize_for_match("长齿锯犁鳗")))
    words, total = question.beyond_title(title)
    assert words and all(t not in title for t, _ in words) and total == sum(w for _, w in words)
    assert question.beyond_title_cover(title, frozenset(tokenize("体长可达76公分"))) > 0
    assert question.beyond_title_cover(title, title) == 0.0
    assert question.beyond_title_cover(frozenset(question.idf), title) == -1.0  # the title has every word

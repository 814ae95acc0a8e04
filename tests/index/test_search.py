"""End to end: the real index of corpus/ with the real model answers questions with citations."""

from __future__ import annotations

import pytest

from index.query import QueryError

# (question, a string the answering passage contains, the article it must be cited to)
QUESTIONS = [
    ("嘉兴高新区2025年规上工业企业研发经费预计达到多少？", "24.33亿元", "000_ad648a2326587a1a"),
    ("嘉兴经开区党委书记是谁", "章澜", "002_f452990c5d0afd35"),
    ("嘉兴科技城2003年财政总收入是多少", "8043万元", "004_87265c0e99f8738f"),
    ("嘉兴国家高新区2023年光伏产业产值", "330亿元", "001_6ef850d05338babd"),
    ("2024年嘉兴引进了多少个世界500强投资项目", "世界500强投资项目26个", "003_aa809658476baa4e"),
    ("智能传感创新产业园总建筑面积有多大", "35.55万平方米", "002_f452990c5d0afd35"),
    ("昱能科技是什么时候在科创板上市的", "2022年6月", "004_87265c0e99f8738f"),
    ("空港秀水创新绿谷的整体面积是多少", "82.6平方公里", "001_6ef850d05338babd"),
]


# Dense alone (no reranking) ranks the neighbour of this answer first, and the merge step makes
# the answering passage give way to it (see test_dense_alone_loses_an_answer_to_its_neighbour).
DENSE_NEIGHBOUR_CASE = QUESTIONS[5]


@pytest.mark.parametrize(("question", "answer", "doc_id"), QUESTIONS)
@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_answer_in_top_3_with_correct_citation(searcher, question, answer, doc_id, mode):
    response = searcher.search(question, k=3, mode=mode)
    hits = [r for r in response.results if answer in r.text and r.doc_id == doc_id]
    assert hits, [(r.doc_id, r.text[:40]) for r in response.results]
    for r in response.results:
        assert searcher.index.documents[r.doc_id].text[r.start:r.end] == r.text


def test_an_answer_in_the_neighbour_of_the_first_passage_is_kept_by_joining_them(searcher):
    """Dense alone ranks a passage first whose neighbour holds the answer. Letting the neighbour
    give way lost the answer; joining the two into one result (index/merge.py) keeps it, cited
    exactly, with the answering sentence marked."""
    question, answer, doc_id = DENSE_NEIGHBOUR_CASE
    retrieved = searcher.retrieve(question, "dense")
    first, second = (searcher.index.passages[p] for p in retrieved.passage_ids[:2])
    assert first.doc_id == second.doc_id == doc_id and abs(first.ordinal - second.ordinal) == 1
    assert answer in second.text and answer not in first.text
    top = searcher.search(question, k=3, mode="dense").results[0]
    assert (top.start, top.end) == (min(first.start, second.start), max(first.end, second.end))
    assert answer in top.text == searcher.index.documents[doc_id].text[top.start:top.end]


def test_the_readme_example_is_first_with_its_evidence(searcher):
    first = searcher.search("嘉兴高新区2025年规上工业企业研发经费预计达到多少？").results[0]
    assert "24.33亿元" in first.text and first.doc_id == "000_ad648a2326587a1a"
    assert "24.33亿元" in first.evidence.text
    assert first.start <= first.evidence.start < first.evidence.end <= first.end


def test_result_shape_and_scores_per_mode(searcher):
    hybrid = searcher.search("嘉兴经开区党委书记是谁", k=5).to_dict()
    assert set(hybrid) == {"query", "mode", "k", "reranked", "read", "no_answer", "took_ms", "results"}
    assert hybrid["reranked"] is True and hybrid["read"] is True and hybrid["no_answer"] is False
    result = hybrid["results"][0]
    assert set(result) == {"rank", "score", "confidence", "doc_id", "title", "source", "start", "end", "text",
                           "evidence", "scores", "answer", "metadata"}
    assert result["metadata"]["title"] == result["title"]
    assert set(result["answer"]) == {"start", "end", "text", "score"} and "章澜" in result["answer"]["text"]
    assert all(0.0 <= r["confidence"] <= 1.0 for r in hybrid["results"])
    assert set(result["evidence"]) == {"start", "end", "text"} and set(result["scores"]) == {"bm25", "dense"}
    assert [r["rank"] for r in hybrid["results"]] == [1, 2, 3, 4, 5]
    assert [r["score"] for r in hybrid["results"]] == sorted((r["score"] for r in hybrid["results"]), reverse=True)
    bm25 = searcher.search("嘉兴经开区党委书记是谁", k=5, mode="bm25").to_dict()
    assert bm25["reranked"] is False and bm25["no_answer"] is None
    assert all(r["confidence"] is None for r in bm25["results"])
    assert all(r["scores"]["dense"] is None and r["scores"]["bm25"] == r["score"] for r in bm25["results"])
    dense = searcher.search("嘉兴经开区党委书记是谁", k=5, mode="dense").to_dict()
    assert all(r["scores"]["bm25"] is None and r["scores"]["dense"] == r["score"] for r in dense["results"])


def test_batch_search_matches_single_search(searcher):
    questions = [q for q, _, _ in QUESTIONS[:3]]
    batch = searcher.search_many(questions, k=3)
    for question, response in zip(questions, batch, strict=True):
        single = searcher.search(question, k=3)
        assert [r.start for r in response.results] == [r.start for r in single.results]


@pytest.mark.parametrize("question", [
    "嘉兴经开区党委书记是谁🤔", "嘉興經開區黨委書記是誰", "嘉兴经开区\x00党委书记\u200b是谁",
    "Who is 嘉兴经开区 party secretary?",
])
def test_odd_unicode_is_answered(searcher, question):
    response = searcher.search(question, k=5)
    assert response.results and "\x00" not in response.query


def test_full_width_digits_are_answered_like_ascii(searcher):
    a = searcher.search("嘉兴高新区２０２５年研发经费", k=3, mode="bm25")
    b = searcher.search("嘉兴高新区2025年研发经费", k=3, mode="bm25")
    assert [r.start for r in a.results] == [r.start for r in b.results]


def test_question_of_stopwords_only_gives_no_bm25_results(searcher):
    assert searcher.search("是什么？", mode="bm25").results == []


@pytest.mark.parametrize(("question", "k", "mode", "code"), [
    ("   ", 5, "hybrid", "empty_question"),
    ("问" * 600, 5, "hybrid", "question_too_long"),
    ("问题", 0, "hybrid", "invalid_k"),
    ("问题", 51, "hybrid", "invalid_k"),
    ("问题", 5, "fuzzy", "invalid_mode"),
    (123, 5, "hybrid", "invalid_question"),
])
def test_invalid_requests_raise_query_errors(searcher, question, k, mode, code):
    with pytest.raises(QueryError) as info:
        searcher.search(question, k, mode)
    assert info.value.code == code


def test_simplified_questions_find_traditional_articles(tmp_path, settings, embedder):
    """The other way round from the traditional seed questions (eval's seed-traditional): articles
    written in traditional characters, questions in simplified ones, as in DRCD."""
    import json

    import opencc

    from index.build import build_index
    from index.ingest.documents import load_corpus
    from index.search import Searcher
    from index.settings import REPO_ROOT

    to_traditional = opencc.OpenCC("s2t").convert
    corpus = tmp_path / "traditional.jsonl"
    documents = [d for d in load_corpus(REPO_ROOT / "corpus").documents if d.doc_id.startswith(("002", "004"))]
    corpus.write_text("".join(json.dumps({"id": d.doc_id, "title": to_traditional(d.title),
                                          "text": to_traditional(d.text)}, ensure_ascii=False) + "\n"
                              for d in documents), encoding="utf-8")
    build_index(corpus, tmp_path / "index", settings, embedder, progress=False)
    traditional = Searcher.open(tmp_path / "index", settings, embedder)
    for question, answer in (("嘉兴经开区党委书记是谁", "章瀾"), ("嘉兴科技城2003年财政总收入是多少", "8043萬元")):
        for mode in ("hybrid", "bm25"):
            first = traditional.search(question, k=3, mode=mode).results[0]
            assert answer in first.text, (question, mode, first.text[:60])


@pytest.mark.parametrize(("question", "answer", "doc_id"), QUESTIONS)
def test_the_reader_marks_the_answer_inside_the_first_result_and_its_evidence(searcher, question, answer, doc_id):
    response = searcher.search(question, k=3)
    assert response.read
    first = response.results[0]
    assert first.answer is not None, (question, first.text[:60])
    document = searcher.index.documents[first.doc_id].text
    assert document[first.answer.start:first.answer.end] == first.answer.text
    assert first.start <= first.answer.start < first.answer.end <= first.end
    assert first.evidence.start <= first.answer.start and first.answer.end <= first.evidence.end
    assert all(r.answer is None for r in response.results[searcher.settings.reader_results:])


def test_reading_can_be_switched_off(searcher):
    question = QUESTIONS[0][0]
    off = searcher.search(question, k=3, read=False)
    assert not off.read and all(r.answer is None for r in off.results)
    on = searcher.search(question, k=3)
    assert [r.doc_id for r in on.results] == [r.doc_id for r in off.results]  # reading never reorders

"""The Python API (zhqa): typed results over the real pipeline, add/remove on a copy of the seed
index, and building an index of a tiny corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import zhqa
from index.encoder.embedder import Embedder
from index.settings import Settings, get_settings

QUESTION = "嘉兴经开区党委书记是谁"
NEW_TEXT = ("星河湾实验学校位于嘉兴市南湖区，由陈知远担任首任校长。\n"
            "学校于2026年9月开学，首批招收学生六百二十名，设有天文观测台和机器人实验室。")


@pytest.fixture(scope="module")
def api(seed_index_dir: Path, settings: Settings, embedder: Embedder) -> zhqa.Searcher:
    return zhqa.Searcher.open(seed_index_dir, settings, embedder)


def assert_cited(api: zhqa.Searcher, result: zhqa.Result) -> None:
    """Every span a result gives is the document's own text at those offsets."""
    text = api.document(result.doc_id).text
    assert text[result.start:result.end] == result.text
    assert text[result.evidence_start:result.evidence_end] == result.evidence
    assert result.start <= result.evidence_start < result.evidence_end <= result.end
    if result.answer is not None:
        assert text[result.answer_start:result.answer_end] == result.answer


def test_search_returns_frozen_cited_results(api: zhqa.Searcher):
    response = api.search(QUESTION, k=3)
    assert isinstance(response, zhqa.Response) and response.question == QUESTION and response.mode == "hybrid"
    assert 1 <= len(response) <= 3 and [r.rank for r in response] == list(range(1, len(response) + 1))
    for result in response:
        assert isinstance(result, zhqa.Result)
        assert_cited(api, result)
    first = response.results[0]
    assert response.no_answer is False and first.answer is not None and first.answer in first.evidence
    assert 0.0 <= first.confidence <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.doc_id = "other"  # type: ignore[misc]


def test_search_is_the_pipelines_response(api: zhqa.Searcher):
    """Nothing is re-ranked or dropped: the typed response is the pipeline's, field for field."""
    for question, mode in ((QUESTION, "hybrid"), ("嘉兴机场的跑道有多长？", "hybrid"), (QUESTION, "bm25")):
        raw = api.pipeline.search(question, 4, mode).to_dict()
        typed = api.search(question, k=4, mode=mode)
        assert typed.no_answer == raw["no_answer"]
        assert [(r.doc_id, r.start, r.end, r.evidence, r.answer, r.score, r.confidence) for r in typed] == [
            (r["doc_id"], r["start"], r["end"], r["evidence"]["text"], (r["answer"] or {}).get("text"),
             r["score"], r["confidence"]) for r in raw["results"]]
        if typed.no_answer:
            assert all(r.answer is None for r in typed)
    assert api.search(QUESTION, k=2, mode="bm25").no_answer is None  # no model decides it outside hybrid


def test_reader_off_marks_no_answer(api: zhqa.Searcher):
    assert all(r.answer is None for r in api.search(QUESTION, k=2, reader=False))


def test_bad_question_raises_query_error(api: zhqa.Searcher):
    with pytest.raises(zhqa.QueryError):
        api.search("   ")
    with pytest.raises(zhqa.QueryError):
        api.search(QUESTION, mode="fuzzy")


def test_open_without_index_dir_uses_the_settings_index(seed_index_dir: Path, embedder: Embedder, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(seed_index_dir))
    get_settings.cache_clear()
    try:
        api = zhqa.Searcher.open(embedder=embedder)
    finally:
        get_settings.cache_clear()  # the next caller reads the environment as it is restored
    assert api.index_dir == seed_index_dir
    assert api.search(QUESTION, k=1).results[0].doc_id in api.doc_ids


def test_add_and_remove_documents(index_copy: Path, settings: Settings, embedder: Embedder, tmp_path: Path):
    api = zhqa.Searcher.open(index_copy, settings, embedder)
    before = set(api.doc_ids)
    report = api.add([zhqa.document_from_text("school", "星河湾实验学校开学", NEW_TEXT)])
    assert report.added == ["school"]
    response = api.search("星河湾实验学校的首任校长是谁", k=3)
    assert response.results[0].doc_id == "school"  # seen at once: reloaded after the change
    assert_cited(api, response.results[0])

    article = tmp_path / "museum.txt"
    article.write_text("嘉兴船文化博物馆收藏了三百多件古船模型，其中最古老的一件制作于明代万历年间。\n",
                       encoding="utf-8")
    assert api.add([article]).added == ["museum"]
    assert api.search("嘉兴船文化博物馆收藏了多少件古船模型", k=1).results[0].doc_id == "museum"

    api.remove(["school", "museum"])
    assert set(api.doc_ids) == before
    assert all(r.doc_id not in ("school", "museum") for r in api.search("星河湾实验学校的首任校长是谁", k=5))
    with pytest.raises(zhqa.UnknownDocumentError):
        api.remove("school")
    with pytest.raises(zhqa.CorpusError):
        api.add([tmp_path / "missing.txt"])
    assert set(api.doc_ids) == before


def test_index_corpus_builds_a_searchable_index(tmp_path: Path, settings: Settings, embedder: Embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "school.txt").write_text(NEW_TEXT, encoding="utf-8")
    (corpus / "museum.md").write_text("# 船文化博物馆\n\n嘉兴船文化博物馆收藏了三百多件古船模型。\n", encoding="utf-8")
    report = zhqa.index_corpus(corpus, tmp_path / "index", settings, embedder)
    assert report.documents == 2 and not report.problems
    api = zhqa.Searcher.open(tmp_path / "index", settings, embedder)
    assert sorted(api.doc_ids) == ["museum", "school"]
    first = api.search("学校首批招收了多少学生", k=1).results[0]
    assert first.doc_id == "school"
    assert_cited(api, first)


def test_metadata_is_stored_returned_and_filtered_on(index_copy: Path, settings: Settings, embedder: Embedder):
    api = zhqa.Searcher.open(index_copy, settings, embedder)
    question = "星河湾实验学校的首任校长是谁"
    api.add([zhqa.document_from_text("school", "星河湾实验学校开学", NEW_TEXT,
                                     metadata={"dept": "教育", "tags": ["学校", "新区"], "date": "2026-09"})])
    first = api.search(question, k=1).results[0]
    assert first.doc_id == "school"
    assert first.metadata == {"title": "星河湾实验学校开学", "date": "2026-09", "dept": "教育",
                              "tags": ["学校", "新区"]}
    assert api.document("school").metadata == first.metadata  # kept through the index's files
    assert all(r.doc_id != "school" for r in api.search(question, k=5, filter={"metadata": {"dept": "财政"}}))
    assert {r.doc_id for r in api.search(question, k=5, filter={"metadata": {"tags": "新区"}})} == {"school"}
    assert {r.doc_id for r in api.search(question, k=5, filter={"date": {"gte": "2026-09"}})} == {"school"}
    api.add([zhqa.document_from_text("school", "星河湾实验学校开学", NEW_TEXT, metadata={"dept": "财政"})])
    assert api.document("school").metadata == {"title": "星河湾实验学校开学", "dept": "财政"}  # replaced whole
    with pytest.raises(zhqa.QueryError, match="filter.metadata.dept"):
        api.search(question, filter={"metadata": {"dept": {"nested": 1}}})

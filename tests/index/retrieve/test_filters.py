"""Filters: parsing (every bad part named), matching, and filtered retrieval on the real seed index
and on real FAISS indexes of both kinds (exact, and HNSW by exact scan and by IDSelector walk)."""

from __future__ import annotations

import numpy as np
import pytest

from index.ingest.documents import Document
from index.retrieve.dense import DenseIndex
from index.retrieve.filters import FilterError, parse_filter, select

QUESTION = "嘉兴经开区党委书记是谁"


def doc(doc_id: str = "d", date: str = "", **extra) -> Document:
    return Document(doc_id, "标题", "正文。", source="嘉兴日报", date=date, extra=extra)


@pytest.mark.parametrize(("bad", "where"), [
    ({"docid": ["a"]}, "filter.docid"),
    ({"doc_id": []}, "filter.doc_id"),
    ({"doc_id": [1]}, "filter.doc_id"),
    ({"metadata": ["a"]}, "filter.metadata"),
    ({"metadata": {"dept": {"a": 1}}}, "filter.metadata.dept"),
    ({"metadata": {"dept": []}}, "filter.metadata.dept"),
    ({"date": "2025"}, "filter.date"),
    ({"date": {"after": "2025"}}, "filter.date"),
    ({"date": {"gte": None, "lte": 5}}, "filter.date.lte"),
    ({"date": {"gte": "2025-13"}}, "filter.date.gte"),
    ({"date": {"lte": "2025/01"}}, "filter.date.lte"),
    ({"date": {"gte": 2025}}, "filter.date.gte"),
    ("{not json", "filter"),
    ([1, 2], "filter"),
])
def test_a_bad_filter_names_the_part(bad, where):
    with pytest.raises(FilterError) as caught:
        parse_filter(bad)
    assert caught.value.code == "invalid_filter" and caught.value.message.startswith(f"{where}:")


def test_no_filter_is_none():
    assert parse_filter(None) is None and parse_filter({}) is None and parse_filter("") is None


def test_metadata_values_lists_and_types():
    tagged = doc(dept="财政", tags=["预算", "审计"], year=2025, public=True)
    assert parse_filter({"metadata": {"dept": "财政"}}).matches(tagged)
    assert parse_filter({"metadata": {"dept": ["教育", "财政"]}}).matches(tagged)
    assert parse_filter({"metadata": {"tags": "审计"}}).matches(tagged)
    assert not parse_filter({"metadata": {"tags": "人事"}}).matches(tagged)
    assert parse_filter({"metadata": {"year": 2025.0}}).matches(tagged)
    assert not parse_filter({"metadata": {"year": "2025"}}).matches(tagged)
    assert not parse_filter({"metadata": {"public": 1}}).matches(tagged)
    assert parse_filter({"metadata": {"public": True, "source": "嘉兴日报"}}).matches(tagged)  # the four count too
    assert not parse_filter({"metadata": {"missing": "x"}}).matches(tagged)


def test_dates_compare_as_iso_prefixes_and_all_parts_are_anded():
    march = doc("m", date="2025-03-09")
    assert parse_filter({"date": {"gte": "2025-03", "lte": "2025-03"}}).matches(march)
    assert parse_filter({"date": {"gte": "2025", "lte": "2025-03-09"}}).matches(march)
    assert not parse_filter({"date": {"gte": "2025-04"}}).matches(march)
    assert not parse_filter({"date": {"lte": "2025-02-28"}}).matches(march)
    assert not parse_filter({"date": {"gte": "2000"}}).matches(doc("undated"))
    assert not parse_filter({"doc_id": "other", "date": {"gte": "2025"}}).matches(march)
    assert parse_filter('{"doc_id": ["m"], "date": {"gte": "2025"}}').matches(march)
    assert not parse_filter({"date": {"gte": "2026", "lte": "2025-12"}}).matches(march)  # an empty range


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_filtered_results_stay_inside_and_fill_k(searcher, mode):
    unfiltered = searcher.search(QUESTION, 5, mode)
    best = unfiltered.results[0].doc_id
    others = sorted(set(searcher.index.documents) - {best})
    response = searcher.search(QUESTION, 5, mode, filter={"doc_id": others})
    assert len(response.results) == 5  # every other document has passages enough
    assert {r.doc_id for r in response.results} <= set(others)
    only = searcher.search(QUESTION, 5, mode, filter={"doc_id": [best]})
    assert {r.doc_id for r in only.results} == {best}


def test_a_filter_that_matches_nothing_returns_nothing(searcher):
    response = searcher.search(QUESTION, 5, "hybrid", filter={"metadata": {"source": "no such source"}})
    assert response.results == [] and response.no_answer is True


def test_metadata_and_date_filters_select_the_documents_that_match(searcher):
    documents = list(searcher.index.documents.values())
    source = documents[0].source
    response = searcher.search(QUESTION, 10, "hybrid", filter={"metadata": {"source": source}})
    assert response.results and all(r.metadata["source"] == source for r in response.results)
    dates = sorted(d.date for d in documents if d.date)
    response = searcher.search(QUESTION, 10, "bm25", filter={"date": {"gte": dates[-1]}})
    assert response.results and all(r.metadata["date"] >= dates[-1] for r in response.results)


def test_selection_is_the_matching_documents_passages(searcher):
    index = searcher.index
    doc_id = next(iter(index.documents))
    selection = select(index, parse_filter({"doc_id": doc_id}))
    assert selection.doc_ids == (doc_id,)
    assert [index.passages[i].doc_id for i in selection.passage_ids] == [doc_id] * len(selection)
    assert int(selection.mask.sum()) == len(selection) == index.passages_per_document[doc_id]


@pytest.mark.parametrize(("kind", "exact_below"), [("flat", 0), ("flat", 10_000), ("hnsw", 10_000), ("hnsw", 0)])
def test_filtered_dense_search_is_the_exact_top_k_of_the_allowed(kind, exact_below):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = DenseIndex.build(vectors, hnsw_threshold=1 if kind == "hnsw" else 10**9, hnsw_m=16, ef_search=64)
    assert dense.kind == kind
    query = vectors[0]
    allowed = np.sort(rng.choice(3000, size=600, replace=False)).astype(np.int64)
    hits = dense.search(query, 10, allowed, exact_below)
    assert len(hits) == 10 and set(i for i, _ in hits) <= set(allowed.tolist())
    exact = allowed[np.argsort(-(vectors[allowed] @ query))[:10]]
    found = [i for i, _ in hits]
    if kind == "hnsw" and exact_below == 0:  # the graph walk is approximate: most of the true ten
        assert len(set(found) & set(exact.tolist())) >= 8
    else:
        assert found == exact.tolist()
    assert dense.search(query, 10, np.zeros(0, dtype=np.int64), exact_below) == []

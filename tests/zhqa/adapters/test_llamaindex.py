"""The LlamaIndex retriever in real LlamaIndex, over the local API and over a real server."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode

import zhqa
from zhqa.adapters.llamaindex import ZhqaRetriever

QUESTION = "嘉兴经开区党委书记是谁"


def assert_cited(api: zhqa.Searcher, hit: NodeWithScore) -> None:
    node, meta = hit.node, hit.node.metadata
    text = api.document(meta["doc_id"]).text
    assert isinstance(node, TextNode) and node.ref_doc_id == meta["doc_id"]
    assert (node.start_char_idx, node.end_char_idx) == (meta["start"], meta["end"])
    assert node.get_content() == text[meta["start"]:meta["end"]]
    assert meta["evidence"] == text[meta["evidence_start"]:meta["evidence_end"]]
    if meta["answer"] is not None:
        assert meta["answer"] == text[meta["answer_start"]:meta["answer_end"]]


def test_retrieve_returns_cited_nodes(api: zhqa.Searcher):
    retriever = ZhqaRetriever(searcher=api, k=3)
    assert isinstance(retriever, BaseRetriever)
    hits = retriever.retrieve(QUESTION)
    expected = api.search(QUESTION, k=3)
    assert all(isinstance(hit, NodeWithScore) for hit in hits)
    assert [(h.node.metadata["doc_id"], h.node.metadata["start"], h.score) for h in hits] == [
        (r.doc_id, r.start, r.score) for r in expected]
    for hit in hits:
        assert_cited(api, hit)
    assert expected.results[0].answer is not None
    assert hits[0].node.metadata["answer"] == expected.results[0].answer
    assert len({h.node.node_id for h in hits}) == len(hits)  # LlamaIndex drops repeated node ids


def test_llm_sees_the_title_not_the_citation_fields(api: zhqa.Searcher):
    hit = ZhqaRetriever(searcher=api, k=1).retrieve(QueryBundle(QUESTION))[0]
    shown = hit.node.get_content(metadata_mode=MetadataMode.LLM)
    assert shown.startswith(f"title: {hit.node.metadata['title']}") and "doc_id" not in shown
    assert shown.endswith(hit.node.get_content())


def test_postprocessor_and_async(api: zhqa.Searcher):
    retriever = ZhqaRetriever(searcher=api, k=5)
    hits = asyncio.run(retriever.aretrieve(QUESTION))
    cutoff = hits[1].score
    kept = SimilarityPostprocessor(similarity_cutoff=cutoff).postprocess_nodes(hits)
    assert [h.node.node_id for h in kept] == [h.node.node_id for h in hits if h.score >= cutoff]
    assert kept and len(kept) < len(hits)


def test_needs_exactly_one_source():
    with pytest.raises(ValueError, match="either searcher"):
        ZhqaRetriever()


def test_server_retriever_matches_local(api: zhqa.Searcher, server_url: str):
    remote = ZhqaRetriever(url=server_url, k=3, mode="bm25").retrieve(QUESTION)
    local = ZhqaRetriever(searcher=api, k=3, mode="bm25").retrieve(QUESTION)
    assert remote and [(h.node.node_id, h.score, h.node.metadata) for h in remote] == [
        (h.node.node_id, h.score, h.node.metadata) for h in local]
    for hit in remote:
        assert_cited(api, hit)

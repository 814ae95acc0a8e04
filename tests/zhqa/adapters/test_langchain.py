"""The LangChain retriever in real LangChain runnables, over the local API and over a real server."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

import zhqa
from zhqa.adapters.common import RemoteSearchError
from zhqa.adapters.langchain import ZhqaRetriever

QUESTION = "嘉兴经开区党委书记是谁"


def assert_cited(api: zhqa.Searcher, document: Document) -> None:
    meta = document.metadata
    text = api.document(meta["doc_id"]).text
    assert document.page_content == text[meta["start"]:meta["end"]]
    assert meta["evidence"] == text[meta["evidence_start"]:meta["evidence_end"]]
    assert meta["start"] <= meta["evidence_start"] < meta["evidence_end"] <= meta["end"]
    if meta["answer"] is not None:
        assert meta["answer"] == text[meta["answer_start"]:meta["answer_end"]]


def test_local_retriever_returns_cited_documents(api: zhqa.Searcher):
    retriever = ZhqaRetriever(searcher=api, k=3)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke(QUESTION)
    expected = api.search(QUESTION, k=3)
    assert [(d.metadata["doc_id"], d.metadata["start"], d.metadata["end"]) for d in documents] == [
        (r.doc_id, r.start, r.end) for r in expected]
    for document in documents:
        assert_cited(api, document)
        assert document.id == f"{document.metadata['doc_id']}:{document.metadata['start']}-{document.metadata['end']}"
    assert expected.results[0].answer is not None
    assert documents[0].metadata["answer"] == expected.results[0].answer
    assert documents[0].metadata["no_answer"] is False


def test_retriever_in_a_runnable_chain(api: zhqa.Searcher):
    """The usual RAG shape: {context: retriever | format, question: passthrough} | prompt builder."""

    def cite(documents: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['doc_id']}:{d.metadata['start']}-{d.metadata['end']}] {d.metadata['evidence']}"
                         for d in documents)

    chain = (RunnableParallel(context=ZhqaRetriever(searcher=api, k=2, mode="bm25") | RunnableLambda(cite),
                              question=RunnablePassthrough())
             | RunnableLambda(lambda x: f"{x['context']}\n问：{x['question']}"))
    prompt = chain.invoke(QUESTION)
    first = api.search(QUESTION, k=2, mode="bm25").results[0]
    assert prompt.startswith(f"[{first.doc_id}:{first.start}-{first.end}] {first.evidence}\n")
    assert prompt.endswith(f"问：{QUESTION}")


def test_batch_and_async(api: zhqa.Searcher):
    retriever = ZhqaRetriever(searcher=api, k=1)
    batched = retriever.batch([QUESTION, "嘉兴机场的跑道有多长？"])
    assert [len(b) for b in batched] == [1, 1]
    assert asyncio.run(retriever.ainvoke(QUESTION))[0].metadata == batched[0][0].metadata


def test_needs_exactly_one_source(api: zhqa.Searcher):
    with pytest.raises(ValueError, match="either searcher"):
        ZhqaRetriever()
    with pytest.raises(ValueError, match="either searcher"):
        ZhqaRetriever(searcher=api, url="http://127.0.0.1:9")


def test_server_retriever_matches_local(api: zhqa.Searcher, server_url: str):
    remote = ZhqaRetriever(url=server_url, k=3).invoke(QUESTION)
    local = ZhqaRetriever(searcher=api, k=3).invoke(QUESTION)
    assert remote and [d.metadata for d in remote] == [d.metadata for d in local]
    assert [d.page_content for d in remote] == [d.page_content for d in local]
    for document in remote:
        assert_cited(api, document)


def test_server_errors_are_raised(server_url: str):
    with pytest.raises(RemoteSearchError) as caught:
        ZhqaRetriever(url=server_url, k=3).invoke("   ")
    assert 400 <= caught.value.status < 500 and caught.value.code

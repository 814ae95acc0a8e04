"""A LangChain retriever over zhqa (needs ``langchain-core``: ``pip install 'zhqa[langchain]'``).

    from zhqa.adapters.langchain import ZhqaRetriever
    retriever = ZhqaRetriever(searcher=zhqa.Searcher.open(), k=3)    # or url="http://127.0.0.1:8000"
    docs = retriever.invoke("嘉兴经开区党委书记是谁")

Each Document's page_content is the cited passage and its metadata the citation (doc_id, start,
end, evidence, answer, ...: ``zhqa.adapters.common.citation``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import model_validator

from zhqa.adapters.common import citation, searcher_for


class ZhqaRetriever(BaseRetriever):
    """Retrieves cited passages from a local ``zhqa.Searcher`` (``searcher``) or a server (``url``)."""

    searcher: Any = None  # a zhqa.Searcher (anything with .search(question, k, mode) -> zhqa.Response)
    url: str | None = None  # a running qa serve, e.g. http://127.0.0.1:8000
    k: int = 5
    mode: str = "hybrid"
    filter: dict[str, Any] | None = None  # only these documents (zhqa.Searcher.search's filter)
    timeout: float = 30.0  # seconds, for url

    @model_validator(mode="after")
    def _one_source(self) -> ZhqaRetriever:
        searcher_for(self.searcher, self.url, self.timeout)
        return self

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        searcher = searcher_for(self.searcher, self.url, self.timeout)
        response = searcher.search(query, self.k, self.mode, filter=self.filter)
        return [Document(page_content=r.text, metadata=citation(r, response), id=f"{r.doc_id}:{r.start}-{r.end}")
                for r in response.results]

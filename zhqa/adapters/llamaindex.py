"""A LlamaIndex retriever over zhqa (needs ``llama-index-core``: ``pip install 'zhqa[llamaindex]'``).

    from zhqa.adapters.llamaindex import ZhqaRetriever
    retriever = ZhqaRetriever(searcher=zhqa.Searcher.open(), k=3)    # or url="http://127.0.0.1:8000"
    nodes = retriever.retrieve("嘉兴经开区党委书记是谁")

Each NodeWithScore holds a TextNode with the cited passage (start_char_idx/end_char_idx: its span in
the document, the document its SOURCE relationship) and the citation as metadata
(``zhqa.adapters.common.citation``); only the title is shown to an LLM or an embedder with the text.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from zhqa.adapters.common import SearchesText, citation, searcher_for


class ZhqaRetriever(BaseRetriever):
    """Retrieves cited passages from a local ``zhqa.Searcher`` (``searcher``) or a server (``url``)."""

    def __init__(self, searcher: SearchesText | None = None, url: str | None = None, k: int = 5,
                 mode: str = "hybrid", timeout: float = 30.0, filter: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        self._searcher = searcher_for(searcher, url, timeout)
        self.k, self.mode, self.filter = k, mode, filter  # filter: only these documents (zhqa.Searcher.search's)
        super().__init__(**kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        response = self._searcher.search(query_bundle.query_str, self.k, self.mode, filter=self.filter)
        nodes = []
        for r in response.results:
            metadata = citation(r, response)
            hidden = [key for key in metadata if key != "title"]
            node = TextNode(id_=f"{r.doc_id}:{r.start}-{r.end}", text=r.text, metadata=metadata,
                            start_char_idx=r.start, end_char_idx=r.end,
                            excluded_llm_metadata_keys=hidden, excluded_embed_metadata_keys=hidden,
                            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=r.doc_id)})
            nodes.append(NodeWithScore(node=node, score=r.score))
        return nodes

"""zhqa from Python: search an index, change its documents, build one (docs/python.md).

    from zhqa import Searcher
    searcher = Searcher.open()                 # the settings' index (index/settings.py)
    response = searcher.search("嘉兴经开区党委书记是谁", k=3)
    for r in response.results:
        print(r.doc_id, r.start, r.end, r.evidence, r.answer)
"""

from __future__ import annotations

from index.ingest.documents import CorpusError, Document, document_from_text
from index.live import ChangeReport, UnknownDocumentError
from index.query import QueryError
from zhqa.api import Response, Result, Searcher, index_corpus

__all__ = ["ChangeReport", "CorpusError", "Document", "QueryError", "Response", "Result", "Searcher",
           "UnknownDocumentError", "document_from_text", "index_corpus"]

"""The documents behind the citations: a list, and each one's stored text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from index.search import Searcher
from service.deps import get_searcher
from service.schemas import DocumentList, DocumentText, Error

router = APIRouter(prefix="/api", tags=["documents"])


@router.get("/documents", response_model=DocumentList, summary="Every indexed document")
def list_documents(searcher: Annotated[Searcher, Depends(get_searcher)]) -> dict:
    passages = searcher.index.passages_per_document
    return {"documents": [
        {"doc_id": d.doc_id, "title": d.title, "source": d.source, "date": d.date,
         "length": len(d.text), "passages": passages[d.doc_id]}
        for d in searcher.index.documents.values()
    ]}


@router.get("/documents/{doc_id:path}", response_model=DocumentText, responses={404: {"model": Error}},
            summary="One document's stored text, which citation offsets point into")
def get_document(doc_id: str, searcher: Annotated[Searcher, Depends(get_searcher)]) -> dict:
    document = searcher.index.documents.get(doc_id)
    if document is None:
        raise HTTPException(404, f"no document with id {doc_id!r}; GET /api/documents lists them")
    return {"doc_id": document.doc_id, "title": document.title, "source": document.source,
            "date": document.date, "text": document.text}

"""GET and POST /api/search: one code path with `qa search --json`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from index.query import parse_k
from index.search import Searcher
from index.settings import Mode
from service.deps import get_searcher
from service.schemas import Error, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])
ERRORS = {400: {"model": Error}, 413: {"model": Error}, 422: {"model": Error}}


@router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a question")
def search_get(
    searcher: Annotated[Searcher, Depends(get_searcher)],
    q: Annotated[str, Query(description="the question", examples=["嘉兴经开区党委书记是谁"])],
    # Read as text and parsed by parse_k: only plain digits, as in JSON (the schema says integer).
    k: Annotated[str | None, Query(description="passages to return, 1 to 50 (default 5)")] = None,
    mode: Annotated[Mode, Query(description="hybrid, bm25 or dense")] = "hybrid",
) -> JSONResponse:
    count = None if k is None else parse_k(k, searcher.settings)
    return JSONResponse(searcher.search(q, count, mode).to_dict())


@router.post("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a JSON body")
def search_post(request: SearchRequest, searcher: Annotated[Searcher, Depends(get_searcher)]) -> JSONResponse:
    return JSONResponse(searcher.search(request.q, request.k, request.mode).to_dict())

"""GET and POST /api/search and /api/collections/{name}/search: one code path with `qa search --json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from index.live import FollowingSearcher
from index.query import QueryError, parse_k
from index.retrieve.filters import FILTER_HELP
from index.settings import Mode
from service.deps import NO_COLLECTION, default_live
from service.schemas import MIN_CONFIDENCE_HELP, Error, SearchRequest, SearchResponse

ERRORS = {400: {"model": Error}, 413: {"model": Error}, 422: {"model": Error}}

READER_TEXT = ("false: skip the reader (today's pipeline without reading); true or absent: the first results "
               "are read, as the server is set to (qa serve --reader). true, false, 1 or 0, in any case")
_READER_VALUES = {"true": True, "1": True, "false": False, "0": False}


def parse_reader(text: str) -> bool:
    """reader from a URL: true/false or 1/0, in any case; anything else is refused, never taken as on."""
    value = _READER_VALUES.get(text.lower()) if text.isascii() else None
    if value is None:
        raise QueryError("invalid_reader", "reader must be true or false (or 1 or 0)")
    return value


def routes(router: APIRouter, live: Callable[..., FollowingSearcher]) -> APIRouter:
    """Add GET and POST `router.prefix`/search, answering from the collection `live` resolves
    (/api/search: `default`; /api/collections/{name}/search: the named one)."""
    resolved = Depends(live)  # a default value, not an Annotated alias: annotations here are text

    @router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a question")
    def search_get(
        q: Annotated[str, Query(description="the question", examples=["嘉兴经开区党委书记是谁"])],
        # Read as text and parsed by parse_k: only plain digits, as in JSON (the schema says integer).
        k: Annotated[str | None, Query(description="passages to return, 1 to 50 (default 5)")] = None,
        mode: Annotated[Mode, Query(description="hybrid, bm25 or dense")] = "hybrid",
        # Read as text and parsed by parse_reader, so a bad value gets the app's own 422 (the schema says boolean).
        reader: Annotated[str, Query(description=READER_TEXT, json_schema_extra={"type": "boolean"},
                                     examples=[False])] = None,
        filter: Annotated[str, Query(description=f"{FILTER_HELP}; one JSON object in the parameter",
                                     examples=['{"metadata": {"source": "嘉兴日报"}}'])] = None,
        # Read as text and parsed by parse_min_confidence, for the app's own 422 (the schema says number).
        min_confidence: Annotated[str, Query(description=MIN_CONFIDENCE_HELP, examples=[0.5],
                                             json_schema_extra={"type": "number", "minimum": 0,
                                                                "maximum": 1})] = None,
        following: FollowingSearcher = resolved,
    ) -> JSONResponse:
        searcher = following.current()
        count = None if k is None else parse_k(k, searcher.settings)
        read = None if reader is None else parse_reader(reader)
        return JSONResponse(searcher.search(q, count, mode, read=read, filter=filter,
                                            min_confidence=min_confidence).to_dict())

    @router.post("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a JSON body")
    def search_post(request: SearchRequest, following: FollowingSearcher = resolved) -> JSONResponse:
        return JSONResponse(following.current().search(
            request.q, request.k, request.mode, read=request.reader,
            filter=request.filter and request.filter.model_dump(exclude_none=True),
            min_confidence=request.min_confidence).to_dict())

    return router


router = routes(APIRouter(prefix="/api", tags=["search"], responses=NO_COLLECTION), default_live)

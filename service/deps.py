"""What routes get from the running app: its collections, and the one a request names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Path, Request

from index.collections import DEFAULT, NAME_HELP, NAME_PATTERN, Collections
from index.live import FollowingSearcher
from index.search import Searcher
from service.schemas import Error

CollectionName = Annotated[str, Path(pattern=NAME_PATTERN, description=f"the collection's name: {NAME_HELP}",
                                     examples=[DEFAULT])]


NO_COLLECTION: dict[int | str, dict[str, Any]] = {
    404: {"model": Error, "description": "No such collection (or document)"},
    422: {"model": Error, "description": "Invalid request (a collection name, a parameter)"}}


def get_collections(request: Request) -> Collections:
    return request.app.state.collections


def collection_live(request: Request, name: str) -> FollowingSearcher | None:
    """The FollowingSearcher of the collection `name`, or None when there is none."""
    return get_collections(request).get(name)


def default_live(request: Request) -> FollowingSearcher:
    """Behind the routes without a collection (/api/search, /api/documents): the collection `default`."""
    live = collection_live(request, DEFAULT)
    if live is None:
        raise HTTPException(404, f"this server has no collection named {DEFAULT!r}; GET /api/collections lists "
                            "them, and /api/collections/{name}/search searches one")
    return live


def named_live(request: Request, name: CollectionName) -> FollowingSearcher:
    """The collection named in the path (/api/collections/{name}/...); 404 for an unknown one."""
    live = collection_live(request, name)
    if live is None:
        raise HTTPException(404, f"no collection named {name!r}; GET /api/collections lists them")
    return live


def get_searcher(request: Request) -> Searcher:
    """For /healthz: the Searcher of the collection `default` (else of the first by name) for its
    index's newest state (index.live.follow); 503 while the server holds no collection."""
    collections = get_collections(request)
    names = collections.names()
    if not names:
        raise HTTPException(503, "this server holds no collection yet; POST /api/collections creates one")
    live = collections.get(DEFAULT if DEFAULT in names else names[0])
    return live.current()

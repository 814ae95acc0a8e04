"""The collections one server holds: list them, create one from its first documents, delete one
(both with the API token). Searching and the documents of one are the /api/search and
/api/documents routes under /api/collections/{name} (search.py, documents.py)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from index.collections import CollectionError, Collections
from index.ingest.documents import MetadataError, document_from_text
from index.live import IndexBusyError, UnknownDocumentError
from service.auth import require_writer
from service.deps import NO_COLLECTION, CollectionName, get_collections, named_live
from service.routes import documents, search
from service.routes.documents import _generated_id
from service.schemas import CollectionCreated, CollectionDeleted, CollectionIn, CollectionList, Error

router = APIRouter(prefix="/api", tags=["collections"])
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Error} for code in (400, 401, 403, 409, 413, 422, 503)}


@router.get("/collections", response_model=CollectionList, summary="Every collection, with its counts")
def list_collections(request: Request) -> dict:
    collections = get_collections(request)
    listed = []
    for name in collections.names():
        live = collections.get(name)
        if live is not None:  # deleted meanwhile
            listed.append({"name": name, **_counts(live.current())})
    return {"collections": listed, "default": "default" if collections.get("default") else None}


@router.post("/collections", status_code=201, response_model=CollectionCreated, responses=WRITE_ERRORS,
             dependencies=[Depends(require_writer)],
             summary="Create a collection from its first documents (an index cannot be empty)")
def create_collection(body: CollectionIn, request: Request) -> dict:
    started = time.perf_counter()
    collections: Collections = get_collections(request)
    try:
        collections.check_writable()
        docs = [document_from_text(d.doc_id or _generated_id(d), d.title, d.text, d.source, d.date, d.metadata)
                for d in body.documents]
        live = collections.create(body.name, docs)
    except MetadataError as exc:
        raise HTTPException(422, f"documents: metadata: {exc}") from exc
    except UnknownDocumentError as exc:  # the same doc_id twice
        raise HTTPException(422, f"documents: {exc}") from exc
    except CollectionError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    except IndexBusyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
    return {"name": body.name, **_counts(live.current()), "took_ms": round((time.perf_counter() - started) * 1000, 1)}


@router.delete("/collections/{name}", response_model=CollectionDeleted,
               responses={**WRITE_ERRORS, 404: {"model": Error}}, dependencies=[Depends(require_writer)],
               summary="Delete a collection and its index folder (only an index this program wrote)")
async def delete_collection(name: CollectionName, request: Request) -> dict:
    try:
        await run_in_threadpool(get_collections(request).delete, name)
    except CollectionError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    except IndexBusyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
    return {"name": name, "deleted": True}


def _counts(searcher) -> dict[str, int]:
    return {"documents": len(searcher.index.documents), "passages": len(searcher.index.passages)}


# One collection's search and documents: the same handlers as /api/search and /api/documents.
named_search = search.routes(APIRouter(prefix="/api/collections/{name}", tags=["collections"],
                                        responses=NO_COLLECTION), named_live)
named_documents = documents.routes(APIRouter(prefix="/api/collections/{name}", tags=["collections"],
                                             responses=NO_COLLECTION), named_live)

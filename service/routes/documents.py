"""The documents behind the citations: list and read them (open to all), and add, replace or
remove them while the service runs (with the API token). A write is seen by the next search."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.ingest.documents import Document, MetadataError, document_from_text, document_from_upload
from index.ingest.formats import SUPPORTED_SUFFIXES, FormatError, UnsupportedFormat
from index.live import FollowingSearcher, IndexBusyError, UnknownDocumentError, add_documents, remove_documents
from service.auth import require_writer
from service.deps import NO_COLLECTION, default_live
from service.schemas import DocumentChange, DocumentIn, DocumentList, DocumentRemoved, DocumentText, Error

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Error} for code in (400, 401, 403, 413, 415, 422, 503)}
SUFFIX_OF_TYPE = {"text/plain": ".txt", "text/markdown": ".md", "text/html": ".html", "application/pdf": ".pdf",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"}
UPLOAD_HELP = (
    "Send the document as JSON (below), or upload one file as multipart/form-data: the field `file` "
    f"({', '.join(SUPPORTED_SUFFIXES)}; the part's Content-Type decides when the file name has no such "
    "suffix) and the optional fields `doc_id`, `title`, `source`, `date` and `metadata` (a JSON object), "
    "for example\n\n"
    "`curl -H 'Authorization: Bearer TOKEN' -F file=@report.pdf -F source=嘉兴日报 http://HOST/api/documents`\n\n"
    "The upload is described here rather than in the request schema: a schema can say \"a binary file\" but "
    "not \"a file that holds text\", so contract fuzzers would take any bytes for valid data.")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/DocumentIn"},
                         "example": {"doc_id": "jx-2026-01", "title": "嘉兴新区今年的新变化",
                                     "text": "2026年，嘉兴新区新种银杏树三千棵。", "source": "嘉兴日报",
                                     "date": "2026-01"}},
}}}


def routes(router: APIRouter, live: Callable[..., FollowingSearcher]) -> APIRouter:
    """Add the documents routes under `router.prefix`, for the collection `live` resolves
    (/api/documents: `default`; /api/collections/{name}/documents: the named one)."""
    resolved = Depends(live)  # a default value, not an Annotated alias: annotations here are text

    @router.get("/documents", response_model=DocumentList, summary="Every indexed document")
    def list_documents(following: FollowingSearcher = resolved) -> dict:
        searcher = following.current()
        passages = searcher.index.passages_per_document
        return {"documents": [
            {"doc_id": d.doc_id, "title": d.title, "source": d.source, "date": d.date,
             "length": len(d.text), "passages": passages[d.doc_id]}
            for d in searcher.index.documents.values()
        ]}

    @router.get("/documents/{doc_id:path}", response_model=DocumentText, responses={404: {"model": Error}},
                summary="One document's stored text, which citation offsets point into")
    def get_document(doc_id: str, following: FollowingSearcher = resolved) -> dict:
        document = following.current().index.documents.get(doc_id)
        if document is None:
            raise HTTPException(404, f"no document with id {doc_id!r}; GET {router.prefix}/documents lists them")
        return {"doc_id": document.doc_id, "title": document.title, "source": document.source,
                "date": document.date, "metadata": document.metadata, "text": document.text}

    @router.post("/documents", status_code=201, response_model=DocumentChange, responses=WRITE_ERRORS,
                 openapi_extra=UPLOAD_BODY, dependencies=[Depends(require_writer)],
                 summary="Add a document (JSON, or a file upload); an existing doc_id is replaced",
                 description=UPLOAD_HELP)
    async def add_document(request: Request, following: FollowingSearcher = resolved) -> JSONResponse:
        document = await _document_from_request(request, None)
        return await run_in_threadpool(_write, request, following, document)

    @router.put("/documents/{doc_id:path}", response_model=DocumentChange,
                responses={**WRITE_ERRORS, 201: {"model": DocumentChange, "description": "Added (no such id before)"}},
                openapi_extra=UPLOAD_BODY, dependencies=[Depends(require_writer)],
                summary="Replace the document with this id (or add it)", description=UPLOAD_HELP)
    async def replace_document(doc_id: str, request: Request, following: FollowingSearcher = resolved) -> JSONResponse:
        document = await _document_from_request(request, doc_id)
        return await run_in_threadpool(_write, request, following, document)

    @router.delete("/documents/{doc_id:path}", response_model=DocumentRemoved,
                   responses={**WRITE_ERRORS, 404: {"model": Error}}, dependencies=[Depends(require_writer)],
                   summary="Remove the document with this id")
    def remove_document(doc_id: str, request: Request, following: FollowingSearcher = resolved) -> dict:
        started = time.perf_counter()
        if doc_id not in following.current().index.documents:
            raise HTTPException(404, f"no document with id {doc_id!r}; GET {router.prefix}/documents lists them")
        try:
            remove_documents(_index_dir(following), [doc_id], request.app.state.settings)
        except UnknownDocumentError as exc:  # removed meanwhile by another writer, or the last document
            raise HTTPException(404 if "no document" in str(exc) else 422, str(exc)) from exc
        except IndexBusyError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
        following.current()
        return {"doc_id": doc_id, "removed": True, "took_ms": round((time.perf_counter() - started) * 1000, 1)}

    return router


router = routes(APIRouter(prefix="/api", tags=["documents"], responses=NO_COLLECTION), default_live)


def _index_dir(following: FollowingSearcher) -> Path:
    index_dir = following.index_dir
    if index_dir is None:
        raise HTTPException(503, "this server was started without an index folder to write to")
    return index_dir


async def _document_from_request(request: Request, doc_id: str | None) -> Document:
    settings = request.app.state.settings
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            fields = _parse_json_fields(await request.body())
            document = document_from_text(doc_id or fields.doc_id or _generated_id(fields), fields.title,
                                          fields.text, fields.source, fields.date, fields.metadata)
        elif kind == "multipart/form-data":
            document = await _document_from_form(request, doc_id)
        else:
            raise HTTPException(415, "send application/json or multipart/form-data with a file field")
    except MetadataError as exc:
        raise HTTPException(422, f"metadata: {exc}") from exc
    except UnsupportedFormat as exc:
        raise HTTPException(415, str(exc)) from exc
    except FormatError as exc:
        raise HTTPException(422, str(exc)) from exc
    if len(document.text) > settings.max_document_chars:
        raise HTTPException(413, f"the document's text is over {settings.max_document_chars} characters")
    return document


def _parse_json_fields(body: bytes) -> DocumentIn:
    try:
        return DocumentIn.model_validate(json.loads(body))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise HTTPException(422, f"{where}: {first.get('msg', 'invalid value')}") from exc
        raise HTTPException(400, "the request body is not valid JSON") from exc


async def _document_from_form(request: Request, doc_id: str | None) -> Document:
    try:
        form = await request.form(max_files=1, max_fields=8)
    except StarletteHTTPException:  # Starlette's own 400 for a malformed body, with its reason
        raise
    except Exception as exc:  # anything else a malformed multipart body (no boundary, truncated parts)
        raise HTTPException(400, f"the multipart body cannot be read ({type(exc).__name__})") from exc
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "the multipart body needs one file field named file")
    fields = {name: form.get(name) for name in ("doc_id", "title", "source", "date", "metadata")}
    fields = {name: value.strip() if isinstance(value, str) else "" for name, value in fields.items()}
    try:
        metadata = json.loads(fields["metadata"]) if fields["metadata"] else None
    except (ValueError, RecursionError) as exc:
        raise HTTPException(422, "metadata: the form field must hold a JSON object") from exc
    data = await upload.read()
    filename = upload.filename or "upload"
    declared = SUFFIX_OF_TYPE.get((upload.content_type or "").split(";")[0].strip().lower())
    if declared and Path(filename).suffix.lower() not in SUPPORTED_SUFFIXES:
        filename = Path(filename).stem + declared  # the part's declared type decides when the name does not
    return document_from_upload(data, filename, doc_id or fields["doc_id"] or None,
                                fields["title"] or None, fields["source"], fields["date"], metadata)


def _generated_id(fields: DocumentIn) -> str:
    import hashlib

    return "doc-" + hashlib.sha256((fields.title + "\0" + fields.text).encode("utf-8")).hexdigest()[:12]


def _write(request: Request, live: FollowingSearcher, document: Document) -> JSONResponse:
    started = time.perf_counter()
    searcher = live.current()
    existed = document.doc_id in searcher.index.documents
    try:
        report = add_documents(_index_dir(live), [document], request.app.state.settings, searcher.embedder,
                               progress=False)
    except IndexBusyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
    live.current()  # load the new state now, so the next search does not pay for it
    body = {"doc_id": document.doc_id, "title": document.title, "passages": report.passages[document.doc_id],
            "replaced": existed, "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    return JSONResponse(body, status_code=200 if existed and request.method == "PUT" else 201)

"""The FastAPI application: JSON search API, documents, collections, health, and the search page."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from index.collections import DEFAULT, Collections
from index.live import FollowingSearcher
from index.search import Searcher
from index.settings import Settings
from service.errors import BodySizeLimit, install_error_handlers
from service.middleware import HeadAsGet, SecurityHeaders, Utf8Url
from service.openapi import contract_schema
from service.routes import collections as collections_routes
from service.routes import dify, documents, health, pages, search
from service.routes.pages import STATIC_DIR

request_log = logging.getLogger("zhqa.requests")


def escape_for_log(text: str) -> str:
    """Control characters, line breaks, spaces and backslashes as escapes (\\n, \\x1b, \\x20, \\\\), so a
    request cannot forge log lines or colour a terminal; printable text such as Chinese stays as is."""
    return "".join(c if c.isprintable() and c not in " \\" else
                   "\\x20" if c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


class RequestLog:
    """One log line per request: method, path and query, status, time taken.

    The line is written just before the response's last chunk is sent, so it is in the log by the
    time the client has its answer (tests and people reading the log never race the server).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, logged = 500, False

        def write_line() -> None:
            nonlocal logged
            logged = True
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            took = (time.perf_counter() - started) * 1000
            request_log.info("%s %s %d %.1f ms", scope["method"], escape_for_log(target), status, took)

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                write_line()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not logged:
                write_line()


class CollectionUploads:
    """BodySizeLimit with the upload allowance for documents sent to a collection too
    (POST /api/collections, POST and PUT /api/collections/{name}/documents[/{doc_id}])."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.uploads = BodySizeLimit(app, settings.max_upload_bytes)
        self.others = BodySizeLimit(app, settings.max_body_bytes, settings.max_upload_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload = scope["type"] == "http" and scope["method"] in ("POST", "PUT") \
            and _COLLECTION_UPLOAD.fullmatch(scope["path"]) is not None
        await (self.uploads if upload else self.others)(scope, receive, send)


_COLLECTION_UPLOAD = re.compile(r"/api/collections(/[^/]+/documents(/.*)?)?", re.DOTALL)


def with_collection_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """A collection's GET search takes q and k as /api/search does: the same documented limits."""
    plain = {p["name"]: p for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    named = schema["paths"].get("/api/collections/{name}/search", {}).get("get", {})
    named["parameters"] = [plain.get(p["name"], p) for p in named.get("parameters", [])]
    return schema


def create_app(searcher: Searcher | None, settings: Settings, index_dir: Path | None = None,
               collections: Collections | None = None) -> FastAPI:
    """With `index_dir`, the app follows that folder (writes from any process are seen at once)
    and can write to it; without, it serves `searcher` as it is and refuses writes. Either way it
    is the collection `default`. With `collections` (qa serve --collections), those instead."""
    app = FastAPI(
        title="zhqa",
        summary="Retrieval Q&A over Chinese articles, with citations",
        description="Ask a question in Chinese; get the passages that answer it, each with its "
        "article and character range, and the sentence that answers it.",
        version="0.1.0",
        redirect_slashes=False,  # Starlette's redirect echoes the Host header; errors.py redirects instead
        docs_url=None,  # FastAPI's /docs loads Swagger UI from a CDN: pages.py serves a local copy
        redoc_url=None,  # ReDoc too; no local copy of it is shipped
        swagger_ui_oauth2_redirect_url=None,
    )
    if collections is None:
        collections = Collections({DEFAULT: FollowingSearcher(searcher, index_dir)})
    app.state.collections = collections
    app.state.settings = settings
    install_error_handlers(app, settings)
    app.add_middleware(CollectionUploads, settings=settings)
    app.add_middleware(HeadAsGet)
    app.add_middleware(Utf8Url)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    for module in (search, documents, health, pages, collections_routes):
        app.include_router(module.router)
    app.include_router(collections_routes.named_search)  # /api/collections/{name}/search
    app.include_router(collections_routes.named_documents)  # /api/collections/{name}/documents...
    app.include_router(dify.router)  # POST /retrieval: Dify's External Knowledge API (docs/dify.md)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    app.openapi = lambda: with_collection_parameters(contract_schema(app, settings))
    return app

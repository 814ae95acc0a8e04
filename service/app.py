"""The FastAPI application: JSON search API, documents, health, and the search page."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.search import Searcher
from index.settings import Settings
from service.errors import BodySizeLimit, install_error_handlers
from service.routes import documents, health, pages, search
from service.routes.pages import STATIC_DIR

request_log = logging.getLogger("zhqa.requests")


class RequestLog:
    """One log line per request: method, path and query, status, time taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            took = (time.perf_counter() - started) * 1000
            request_log.info("%s %s %d %.1f ms", scope["method"], target, status, took)


def create_app(searcher: Searcher, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="zhqa",
        summary="Retrieval Q&A over Chinese articles, with citations",
        description="Ask a question in Chinese; get the passages that answer it, each with its "
        "article and character range, and the sentence that answers it.",
        version="0.1.0",
    )
    app.state.searcher = searcher
    install_error_handlers(app, settings)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestLog)
    for module in (search, documents, health, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app

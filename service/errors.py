"""Every error the API returns has the shape {"error": {"code", "message"}}, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.query import QueryError
from index.settings import Settings

logger = logging.getLogger("zhqa.service")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _field_error(error: dict, settings: Settings) -> tuple[int, str, str]:
    """Turn one pydantic validation error into (status, code, message) a user can act on."""
    kind, location = error.get("type", ""), [str(part) for part in error.get("loc", ())]
    field = location[-1] if len(location) > 1 else ""
    if kind == "json_invalid":
        return 400, "invalid_json", "the request body is not valid JSON"
    if field == "k":
        return 422, "invalid_k", f"k must be a whole number from 1 to {settings.max_k}"
    if field == "mode":
        return 422, "invalid_mode", "mode must be one of hybrid, bm25, dense"
    if field == "reader":
        return 422, "invalid_reader", "reader must be true or false (or 1 or 0)"
    if field == "min_confidence":
        return 422, "invalid_min_confidence", "min_confidence must be a number from 0 to 1"
    if "filter" in location[:2]:
        where = ".".join(part for part in location[1:] if not part.startswith(("list[", "str", "int", "float",
                                                                                  "bool", "function")))
        return 422, "invalid_filter", f"{where}: {error.get('msg', 'invalid value')}"
    if field == "q" and kind == "missing":
        return 422, "empty_question", "the question is missing; send it as q"
    if field == "q":
        return 422, "invalid_question", "the question q must be a string"
    if location == ["body"]:
        if kind == "missing":
            return 422, "missing_body", 'send a JSON object like {"q": "问题", "k": 5, "mode": "hybrid"}'
        return 422, "invalid_body", 'the body must be a JSON object like {"q": "问题", "k": 5}'
    return 422, "invalid_request", f"{'.'.join(location) or 'request'}: {error.get('msg', 'invalid value')}"


_BODY_PROBLEMS = {
    UnicodeDecodeError: "it is not UTF-8 text",
    RecursionError: "it is nested too deeply",
    ValueError: "it holds a number too long to read",  # int() refuses over 4,300 digits
}


_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")


def _routes(request: Request) -> list:
    """The app's routes, less mounts (static files take GET and HEAD only, whatever the method)."""
    return [route for route in request.app.router.routes if not isinstance(route, Mount)]


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's), and HEAD with GET."""
    methods = {method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                      for route in _routes(request))} or {"GET"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _slash_twin(request: Request) -> str | None:
    """For a path no route takes, the same path with its trailing slash added or removed, if a route
    takes that: as a relative Location (path and query only), so an arbitrary Host header is never
    echoed back, and never one a browser would read as another host (//host, /\\host)."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    raw_path, path = raw.decode("latin-1"), request.scope["path"]
    if path == "/":
        return None
    if path.endswith("/"):
        twin_raw, twin_path = raw_path.rstrip("/"), path.rstrip("/")
    else:
        twin_raw, twin_path = raw_path + "/", path + "/"
    if not twin_raw.startswith("/") or twin_raw[1:2] in ("/", "\\"):
        return None
    twin_scope = {**request.scope, "path": twin_path, "raw_path": twin_raw.encode("latin-1")}
    if not any(route.matches(twin_scope)[0] is Match.FULL for route in _routes(request)):
        return None
    query = request.scope.get("query_string", b"").decode("latin-1")
    return twin_raw + (f"?{query}" if query else "")


def install_error_handlers(app: FastAPI, settings: Settings) -> None:
    @app.exception_handler(QueryError)
    async def query_error(_: Request, exc: QueryError) -> JSONResponse:
        return error_response(422, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return error_response(*_field_error(errors[0] if errors else {}, settings))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI turns any failure to read a JSON body (other than a syntax error) into a bare 400.
        problem = _BODY_PROBLEMS.get(type(exc.__cause__)) if exc.status_code == 400 else None
        if problem:
            return error_response(400, "invalid_json", f"the request body is not valid JSON: {problem}")
        if exc.status_code == 404 and "endpoint" not in request.scope:  # no route, not a missing document
            location = _slash_twin(request)
            if location:
                return RedirectResponse(location, status_code=307)
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
                 422: "invalid_document", 503: "unavailable"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        response = error_response(exc.status_code, codes.get(exc.status_code, "http_error"), message)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return error_response(500, "internal_error", "the server failed to answer; the error has been logged")


class BodySizeLimit:
    """Pure ASGI middleware: refuse request bodies over `limit` bytes with 413, even when chunked;
    document uploads (POST and PUT under /api/documents) may be up to `upload_limit`."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = limit if upload_limit is None else upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] in ("POST", "PUT") and scope["path"].startswith("/api/documents")
        limit = self.upload_limit if upload else self.limit
        too_large = f"the request body is over {limit} bytes"
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, "body_too_large", too_large)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # the app's HTTP error handler turns this into JSON
                raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, counting_receive, send)

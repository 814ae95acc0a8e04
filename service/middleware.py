"""Pure ASGI middleware: checks and headers that apply to every request."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response


class Utf8Url:
    """Refuse with 400 a URL whose percent-escapes are not UTF-8.

    Starlette would decode them with replacement characters, so `q=%FF%FE` was
    searched as "��". A question that is not text is refused instead, as a body that
    is not UTF-8 is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for part, raw in (("path", scope.get("raw_path") or b""), ("query string", scope.get("query_string", b""))):
                try:
                    unquote_to_bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    message = f"the URL's {part} is not UTF-8 once percent-decoded; percent-encode UTF-8 text"
                    await error_response(400, "invalid_encoding", message)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD is answered like GET, with the same status and headers and no body, on every GET route.

    The route table (and so the OpenAPI document) lists GET only; HEAD is implied by it (RFC 9110).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


_CSP_COMMON = "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
# The search page needs nothing but its own files: no inline script or style, no other host.
PAGE_CSP = f"default-src 'self'; {_CSP_COMMON}"
# Swagger UI (/docs) sets style attributes and draws icons from data: URIs; its script is a file too.
DOCS_CSP = f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; {_CSP_COMMON}"


class SecurityHeaders:
    """On every response: no MIME sniffing, no framing, no referrer, and a Content-Security-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] == "/docs" else PAGE_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Content-Security-Policy"] = csp
            await send(message)

        await self.app(scope, receive, with_headers)

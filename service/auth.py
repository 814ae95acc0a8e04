"""Writes need `Authorization: Bearer <QA_API_TOKEN>`; reads stay open.

No token configured means writes are disabled (403), so a server is never writable by
accident. The comparison takes the same time whatever the token sent, and the token is
never logged (the request log writes the method, path and query only).
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request


def require_writer(request: Request) -> None:
    token = request.app.state.settings.api_token
    if not token:
        raise HTTPException(403, "writes are disabled; set QA_API_TOKEN")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "writes need the header Authorization: Bearer <token> with the server's "
                            "QA_API_TOKEN", headers={"WWW-Authenticate": "Bearer"})

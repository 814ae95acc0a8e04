"""The web search box (one static page that talks only to the JSON API) and the API docs page.

The docs page is Swagger UI served from this app (the swagger-ui-bundle-v2 package
ships its files), so /docs works with no internet and loads nothing from other hosts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
def search_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/docs")
def api_docs() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html")

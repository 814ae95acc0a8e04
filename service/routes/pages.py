"""The web search box: one static page that talks only to the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
def search_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")

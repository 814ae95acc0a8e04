"""Liveness and what is loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from index.search import Searcher
from service.deps import get_searcher
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Service status and index counts")
def healthz(searcher: Annotated[Searcher, Depends(get_searcher)]) -> dict:
    return {
        "status": "ok",
        "index_loaded": True,
        "documents": len(searcher.index.documents),
        "passages": len(searcher.index.passages),
        "model": searcher.settings.model_name,
        "dense_index": searcher.index.dense.kind,
    }

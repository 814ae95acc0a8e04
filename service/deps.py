"""What routes get from the running app."""

from __future__ import annotations

from fastapi import Request

from index.search import Searcher


def get_searcher(request: Request) -> Searcher:
    """The Searcher for the index's newest state (index.live.follow)."""
    return request.app.state.live.current()

"""What the adapters share: searching a local zhqa.Searcher or a server, and a result's citation."""

from __future__ import annotations

from typing import Any, Protocol

from zhqa import Response, Result


class SearchesText(Protocol):
    def search(self, question: str, k: int = 5, mode: str = "hybrid",
               filter: dict[str, Any] | None = None) -> Response: ...


class RemoteSearchError(RuntimeError):
    """The server refused the search (its JSON error's code and message) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class RemoteSearcher:
    """A running ``qa serve``'s ``POST /api/search``, answering as ``zhqa.Searcher.search`` does."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def search(self, question: str, k: int = 5, mode: str = "hybrid",
               filter: dict[str, Any] | None = None) -> Response:
        import httpx

        try:
            reply = httpx.post(f"{self.url}/api/search", json={"q": question, "k": k, "mode": mode, "filter": filter},
                               timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RemoteSearchError(f"{self.url}: {exc}") from exc
        if reply.status_code != 200:
            try:
                error = reply.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": None, "message": reply.text[:200]}
            raise RemoteSearchError(f"{self.url}: {reply.status_code} {error['message']}", reply.status_code,
                                    error["code"])
        return Response.from_dict(reply.json())


def searcher_for(searcher: SearchesText | None, url: str | None, timeout: float) -> SearchesText:
    """The searcher an adapter uses: exactly one of a local searcher or a server URL."""
    if (searcher is None) == (url is None):
        raise ValueError("give either searcher (a zhqa.Searcher) or url (a qa serve address), not both or neither")
    return searcher if searcher is not None else RemoteSearcher(url, timeout)


def citation(result: Result, response: Response) -> dict[str, Any]:
    """A result's metadata: its citation (``text == document[start:end]``), evidence and answer, and scores."""
    return {
        "doc_id": result.doc_id, "title": result.title, "source": result.source,
        "start": result.start, "end": result.end, "rank": result.rank,
        "evidence": result.evidence, "evidence_start": result.evidence_start, "evidence_end": result.evidence_end,
        "answer": result.answer, "answer_start": result.answer_start, "answer_end": result.answer_end,
        "score": result.score, "confidence": result.confidence, "no_answer": response.no_answer,
        "metadata": result.metadata,
    }

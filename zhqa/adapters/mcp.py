"""An MCP server over zhqa (needs the ``mcp`` SDK: ``pip install 'zhqa[mcp]'``); ``qa mcp`` runs it on stdio.

Two tools, each answering with structured content (the output schema below) and readable text:

- ``search(question, k=5, mode="hybrid", filter=None)``: the cited passages (doc_id, start, end, text,
  evidence and answer with their offsets, score, confidence, metadata) and ``no_answer``, from the
  documents ``filter`` allows;
- ``get_document(doc_id)``: a document's stored text, which every offset points into.

Over a local index (``zhqa.Searcher``) or a running ``qa serve`` (``url``). A bad question, k or mode,
or an unknown doc_id, comes back as a tool error (``is_error``) whose text says what to fix.
"""

# No `from __future__ import annotations`: the SDK reads the tools' annotations, which use max_k.
import contextlib
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from index.ingest.documents import METADATA_FIELDS, Document
from index.query import QueryError
from index.retrieve.filters import FILTER_HELP
from zhqa.adapters.common import RemoteSearcher, RemoteSearchError
from zhqa.api import Response, Result

Mode = Literal["hybrid", "bm25", "dense"]
INSTRUCTIONS = (
    "Search Chinese articles and cite them. `search` returns passages, each cited as doc_id and the "
    "character range [start, end) of the document's text, with the answering sentence (evidence) and, "
    "for the first results, the extracted answer; no_answer true means the articles likely do not answer. "
    "`get_document` returns a document's full text, which all offsets index. Ask in Chinese."
)


class DocumentSource(Protocol):
    """What the server searches: ``zhqa.Searcher`` or ``RemoteDocuments``."""

    def search(self, question: str, k: int = 5, mode: str = "hybrid", filter: dict | None = None) -> Response: ...

    def document(self, doc_id: str) -> Document: ...


class RemoteDocuments(RemoteSearcher):
    """A running ``qa serve``: its search, and its ``GET /api/documents/{doc_id}``."""

    def document(self, doc_id: str) -> Document:
        """The stored document; KeyError if the server has no such id, RemoteSearchError if it fails."""
        import httpx

        if not doc_id:  # the path would be /api/documents/, the list
            raise KeyError(doc_id)
        url = f"{self.url}/api/documents/{quote(doc_id, safe='')}"
        try:
            reply = httpx.get(url, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RemoteSearchError(f"{self.url}: {exc}") from exc
        if reply.status_code == 404:
            raise KeyError(doc_id)
        if reply.status_code != 200:
            raise RemoteSearchError(f"{self.url}: {reply.status_code} {reply.text[:200]}", reply.status_code)
        data = reply.json()
        return document_from_stored(data)


def document_from_stored(data: dict[str, Any]) -> Document:
    """A document from ``GET /api/documents/{doc_id}``'s JSON."""
    extra = {k: v for k, v in (data.get("metadata") or {}).items() if k not in METADATA_FIELDS}
    return Document(doc_id=data["doc_id"], title=data["title"], text=data["text"], source=data.get("source", ""),
                    date=data.get("date", ""), author=(data.get("metadata") or {}).get("author", ""), extra=extra)


class Hit(BaseModel):
    """One cited passage: ``text == document.text[start:end]``; evidence and answer are cited the same way."""

    rank: int
    doc_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    evidence: str = Field(description="the answering sentence")
    evidence_start: int
    evidence_end: int
    answer: str | None = Field(description="the reader's answer span, or null (not read, or nothing marked)")
    answer_start: int | None
    answer_end: int | None
    answer_score: float | None
    score: float
    confidence: float | None = Field(description="P(this passage holds the answer); null outside hybrid mode")
    metadata: dict[str, Any] = Field(description="the document's metadata (title, source, date, author, ...)")

    @classmethod
    def of(cls, result: Result) -> "Hit":
        return cls(rank=result.rank, doc_id=result.doc_id, title=result.title, source=result.source,
                   start=result.start, end=result.end, text=result.text, evidence=result.evidence,
                   evidence_start=result.evidence_start, evidence_end=result.evidence_end, answer=result.answer,
                   answer_start=result.answer_start, answer_end=result.answer_end,
                   answer_score=result.answer_score, score=result.score, confidence=result.confidence,
                   metadata=result.metadata)


class SearchOutput(BaseModel):
    """A search's cited results, best first."""

    question: str
    mode: str
    no_answer: bool | None = Field(description="true: the articles likely do not answer; null outside hybrid mode")
    results: list[Hit]


class DocumentOutput(BaseModel):
    """A document as stored: the text every citation offset points into."""

    doc_id: str
    title: str
    source: str
    date: str
    metadata: dict[str, Any]
    text: str


def readable_search(output: SearchOutput) -> str:
    """The results as text for a model or a person: citation, answer, evidence, passage."""
    lines = [f"{output.question} ({output.mode}, {len(output.results)} results)"]
    if not output.results:
        lines.append("No passage matched.")
    elif output.no_answer:
        lines.append("没有找到可靠的答案 (no reliable answer found): the passages below may not answer the question.")
    for hit in output.results:
        confidence = "" if hit.confidence is None else f", confidence {hit.confidence:.0%}"
        lines += ["", f"{hit.rank}. {hit.title} [{hit.doc_id} {hit.start}-{hit.end}] score {hit.score:.4f}{confidence}"]
        if hit.answer is not None:
            lines.append(f"答案: {hit.answer} [{hit.answer_start}-{hit.answer_end}]")
        lines += [f"证据: {hit.evidence} [{hit.evidence_start}-{hit.evidence_end}]", hit.text]
    return "\n".join(lines)


def _version() -> str:
    try:
        return metadata.version("zhqa")
    except metadata.PackageNotFoundError:  # run from a checkout that was not installed
        return ""


def tool_result(text: str, output: BaseModel) -> CallToolResult:
    """A tool's answer: readable text, and the same as structured content (checked against the output schema)."""
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=output.model_dump(mode="json"))


def create_server(source: DocumentSource, max_k: int = 50) -> MCPServer:
    """An MCP server with the ``search`` and ``get_document`` tools over ``source``."""
    server = MCPServer("zhqa", title="zhqa: cited search over Chinese articles", instructions=INSTRUCTIONS,
                       version=_version())
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def search(question: Annotated[str, Field(description="the question, in Chinese")],
               k: Annotated[int, Field(description=f"results to return, 1 to {max_k}")] = 5,
               mode: Annotated[Mode, Field(description="hybrid (best), bm25 or dense")] = "hybrid",
               filter: Annotated[dict[str, Any] | None, Field(description=FILTER_HELP)] = None,
               ) -> Annotated[CallToolResult, SearchOutput]:
        """Search the articles: the k best passages, each cited as doc_id and [start, end) of its text,
        with the answering sentence (evidence), the extracted answer when found, and no_answer."""
        try:
            response = source.search(question, k, mode, filter=filter)
        except QueryError as exc:
            raise ToolError(exc.message) from exc
        except RemoteSearchError as exc:  # the server's own message: a bad question, k or mode, or unreachable
            raise ToolError(f"the search failed: {exc}") from exc
        output = SearchOutput(question=response.question, mode=response.mode, no_answer=response.no_answer,
                              results=[Hit.of(r) for r in response.results])
        return tool_result(readable_search(output), output)

    @server.tool(annotations=read_only)
    def get_document(doc_id: Annotated[str, Field(description="a doc_id from search results")],
                     ) -> Annotated[CallToolResult, DocumentOutput]:
        """A document's full stored text, title and source: the text search offsets point into."""
        try:
            document = source.document(doc_id)
        except KeyError:
            raise ToolError(f"no document with id {doc_id!r} in the index; use a doc_id from search results") from None
        except RemoteSearchError as exc:
            raise ToolError(f"could not fetch the document: {exc}") from exc
        output = DocumentOutput(doc_id=document.doc_id, title=document.title, source=document.source,
                                date=document.date, metadata=document.metadata, text=document.text)
        heading = " · ".join(part for part in (document.title, document.source, document.date) if part)
        return tool_result(f"{heading} [{document.doc_id}]\n\n{document.text}", output)

    return server


def run(index_dir: str | Path | None = None, url: str | None = None, timeout: float = 30.0) -> None:
    """Serve on stdio until the client closes it: over the local index ``index_dir`` (None: the
    settings' index) or, given ``url``, over a running ``qa serve``. The index loads before serving."""
    from index.settings import get_settings

    settings = get_settings()
    if url is not None:
        if index_dir is not None:
            raise ValueError("give either index_dir or url, not both")
        source: DocumentSource = RemoteDocuments(url, timeout)
    else:
        from index.store import read_manifest
        from zhqa.api import Searcher

        path = Path(index_dir) if index_dir is not None else settings.index_dir
        read_manifest(path)  # a missing or stale index fails here, with how to rebuild it
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's: nothing else may write there
            source = Searcher.open(path, settings)
    create_server(source, settings.max_k).run("stdio")

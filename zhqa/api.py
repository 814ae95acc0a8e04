"""The Python API: a thin layer over index.search, index.live and index.build, with typed results.

Nothing here retrieves, ranks or reads: it opens what the command line and the server open,
and turns a search response (the JSON of ``qa search --json`` and ``GET /api/search``) into
frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.build import BuildReport
from index.encoder.embedder import Embedder, load_embedder
from index.ingest.documents import CorpusError, Document, load_paths
from index.live import ChangeReport, FollowingSearcher, add_documents, remove_documents
from index.search import Searcher as PipelineSearcher
from index.settings import Settings, get_settings


@dataclass(frozen=True)
class Result:
    """One cited passage: ``text == document.text[start:end]``; evidence and answer are cited the same way."""

    rank: int
    doc_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    evidence: str  # the answering sentence
    evidence_start: int
    evidence_end: int
    answer: str | None  # the reader's answer span (None: not read, nothing marked, or no_answer)
    answer_start: int | None
    answer_end: int | None
    answer_score: float | None
    score: float
    confidence: float | None  # P(this result holds the answer); None outside hybrid mode
    metadata: dict[str, Any]  # the document's metadata object (title, source, date, author and any other keys)

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Result:
        """A result from the search JSON (``SearchResponse.to_dict()`` or the HTTP API's)."""
        evidence, answer = item["evidence"], item.get("answer") or {}
        return cls(rank=item["rank"], doc_id=item["doc_id"], title=item["title"], source=item.get("source", ""),
                   start=item["start"], end=item["end"], text=item["text"], evidence=evidence["text"],
                   evidence_start=evidence["start"], evidence_end=evidence["end"], answer=answer.get("text"),
                   answer_start=answer.get("start"), answer_end=answer.get("end"),
                   answer_score=answer.get("score"), score=item["score"], confidence=item.get("confidence"),
                   metadata=item.get("metadata") or {})


@dataclass(frozen=True)
class Response:
    """A search's results, best first, and whether the articles do not answer the question."""

    question: str
    mode: str
    results: tuple[Result, ...]
    no_answer: bool | None  # None outside hybrid mode (no model decides it)
    took_ms: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Response:
        """A response from the search JSON (``SearchResponse.to_dict()`` or the HTTP API's)."""
        return cls(question=data["query"], mode=data["mode"],
                   results=tuple(Result.from_dict(item) for item in data["results"]),
                   no_answer=data["no_answer"], took_ms=data["took_ms"])

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


class Searcher:
    """Search one index folder, and add or remove its documents. Searches see every change to the
    folder (made here, by ``qa add`` or by a server) at once: the index is reloaded, the models kept."""

    def __init__(self, searcher: PipelineSearcher, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._following = FollowingSearcher(searcher, self.index_dir)

    @classmethod
    def open(cls, index_dir: str | Path | None = None, settings: Settings | None = None,
             embedder: Embedder | None = None) -> Searcher:
        """Load the model, the index, the ranker and the reader once. ``index_dir`` None: the
        settings' index (``index/settings.py``; ``QA_INDEX_DIR`` overrides it)."""
        settings = settings or get_settings()
        index_dir = Path(index_dir) if index_dir is not None else settings.index_dir
        return cls(PipelineSearcher.open(index_dir, settings, embedder), index_dir)

    @property
    def pipeline(self) -> PipelineSearcher:
        """The ``index.search.Searcher`` over the index's current state."""
        return self._following.current()

    def search(self, question: str, k: int = 5, mode: str = "hybrid", reader: bool | None = None,
               filter: dict[str, Any] | None = None, min_confidence: float | None = None) -> Response:
        """The k best passages for a question (mode: hybrid, bm25 or dense; reader False skips reading),
        from the documents ``filter`` allows (``{"doc_id": [...], "metadata": {key: value or [values]},
        "date": {"gte": ..., "lte": ...}}``, parts ANDed); with ``min_confidence`` (hybrid mode), only
        results at least that likely to hold the answer. A question that is empty or too long, a bad
        k, mode, filter or min_confidence raises ``index.query.QueryError``."""
        return Response.from_dict(self.pipeline.search(question, k, mode, read=reader, filter=filter,
                                                       min_confidence=min_confidence).to_dict())

    def document(self, doc_id: str) -> Document:
        """A document of the index, as stored: the text citations point into (KeyError if absent)."""
        return self.pipeline.index.documents[doc_id]

    @property
    def doc_ids(self) -> list[str]:
        return list(self.pipeline.index.documents)

    def add(self, documents: Iterable[Document | str | Path], progress: bool = False) -> ChangeReport:
        """Add documents (a document whose id the index holds is replaced): ``Document``s, or paths of
        files (any supported type; the id is the file's stem), folders of them, or ``.jsonl`` files.
        A path that cannot be read raises ``CorpusError`` and nothing is changed."""
        documents = list(documents)
        given = [d for d in documents if isinstance(d, Document)]
        paths = [Path(d) for d in documents if not isinstance(d, Document)]
        if paths:
            loaded = load_paths(paths)
            if loaded.problems:
                raise CorpusError("; ".join(map(str, loaded.problems)) + "; nothing was changed")
            given += loaded.documents
        if not given:
            raise CorpusError("no documents given; nothing was changed")
        current = self.pipeline
        report = add_documents(self.index_dir, given, current.settings, current.embedder, progress)
        self._following.current()  # reload now, not at the next search
        return report

    def remove(self, doc_ids: Iterable[str] | str) -> ChangeReport:
        """Remove documents by id; an unknown id raises ``UnknownDocumentError`` and nothing is changed."""
        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        report = remove_documents(self.index_dir, ids, self.pipeline.settings)
        self._following.current()
        return report


def index_corpus(corpus_path: str | Path, index_dir: str | Path | None = None, settings: Settings | None = None,
                 embedder: Embedder | None = None, progress: bool = False) -> BuildReport:
    """Build an index of a corpus (a folder of .txt/.md articles or a .jsonl file), as ``qa index``
    does; ``index_dir`` None: the settings' folder for that corpus. An existing index there is replaced."""
    settings = settings or get_settings()
    corpus = Path(corpus_path)
    index_dir = Path(index_dir) if index_dir is not None else settings.index_dir_for(corpus)
    if settings.index_backend == "milvus":
        from index.retrieve.backends.milvus_write import build_milvus_index as build
    else:
        from index.build import build_index as build
    return build(corpus, index_dir, settings, embedder or load_embedder(settings), progress=progress)

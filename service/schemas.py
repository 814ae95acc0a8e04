"""Response shapes, for the OpenAPI docs at /docs. The search payload itself comes from
index.search.SearchResponse.to_dict(), the same one `qa search --json` prints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from index.collections import NAME_HELP, NAME_PATTERN
from index.query import QUESTION_PATTERN
from index.retrieve.filters import FILTER_HELP
from index.settings import Mode

MIN_CONFIDENCE_HELP = ("only results whose confidence (the calibrated probability, 0 to 1, that the result "
                       "holds the answer) is at least this, so fewer than k may come back; in bm25 and dense "
                       "modes no result has a confidence, so none is kept")
METADATA_HELP = ("the document's metadata: a JSON object (at most 8 KB) holding title, source, date and author "
                 "where set, and any other keys it was given")


Scalar = StrictStr | StrictInt | StrictFloat | StrictBool
DATE_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"


class DateRange(BaseModel):
    gte: str | None = Field(None, pattern=DATE_PATTERN, description="on or after: YYYY, YYYY-MM or YYYY-MM-DD")
    lte: str | None = Field(None, pattern=DATE_PATTERN, description="on or before (the same forms)")

    model_config = {"extra": "forbid"}


class Filter(BaseModel):
    """The shape of a filter, for the OpenAPI contract; index.retrieve.filters checks and applies it."""

    doc_id: StrictStr | Annotated[list[StrictStr], Field(min_length=1)] | None = Field(
        None, description="a document id or a list of them")
    metadata: dict[str, Scalar | Annotated[list[Scalar], Field(min_length=1)]] | None = Field(
        None, description="key: value, or key: [values] (any of them); a list-valued metadata entry matches "
        "when any of its items does")
    date: DateRange | None = None

    model_config = {"extra": "forbid"}


class SearchRequest(BaseModel):
    # Strict: in JSON a question is a string and k a whole number (true is not 1).
    q: StrictStr = Field(description="the question, in Chinese", examples=["嘉兴经开区党委书记是谁"])
    k: StrictInt | None = Field(None, description="how many passages to return, 1 to 50 (default 5)", examples=[5])
    mode: Mode = Field("hybrid", description="hybrid (BM25 + dense, fused), bm25 or dense")
    reader: StrictBool | None = Field(None, description="false: skip the reader (today's pipeline without "
                                      "reading); true or absent: the first results are read, as the server "
                                      "is set to (qa serve --reader, QA_READER)", examples=[False])
    min_confidence: StrictFloat | None = Field(None, ge=0, le=1, description=MIN_CONFIDENCE_HELP, examples=[0.5])
    filter: Filter | None = Field(None, description=FILTER_HELP,
                                          examples=[{"metadata": {"source": "嘉兴日报"}, "date": {"gte": "2025-01"}}])

    model_config = {"json_schema_extra": {"examples": [{"q": "嘉兴经开区党委书记是谁", "k": 5, "mode": "hybrid"}]}}


class Evidence(BaseModel):
    start: int = Field(description="offset of the sentence in the document text")
    end: int
    text: str = Field(description="document text[start:end]")


class Answer(BaseModel):
    start: int = Field(description="offset of the answer in the document text (GET /api/documents/{doc_id}), "
                       "in characters (Unicode code points), inside the result's start..end")
    end: int = Field(description="offset just past the answer's last character")
    text: str = Field(description="the answer: document text[start:end]")
    score: float = Field(ge=0, le=1, description="the reader's probability, 0 to 1, that this span answers "
                         "the question")


class Scores(BaseModel):
    bm25: float | None = Field(description="BM25 score, null when BM25 did not return the passage")
    dense: float | None = Field(description="cosine similarity, null when dense retrieval did not return it")


class Result(BaseModel):
    rank: int
    score: float = Field(description="what ordered the results: the reranker's score in hybrid mode, the fused "
                         "RRF score without reranking, else the retriever's own score")
    confidence: float | None = Field(description="calibrated probability, 0 to 1, that the passage holds the "
                                     "answer (hybrid mode; null in bm25 and dense modes); for a result the "
                                     "reader read, it also weighs the reader's null score")
    doc_id: str
    title: str
    source: str
    start: int = Field(description="offset of the passage in the document text (GET /api/documents/{doc_id})")
    end: int
    text: str = Field(description="the passage: document text[start:end]")
    evidence: Evidence = Field(description="the sentence of the passage most likely to hold the answer; "
                               "when the reader marked an answer, the sentence that holds it")
    answer: Answer | None = Field(description="the answer span the reader marked inside the evidence sentence; "
                                  "null when the result was not read or the reader found no answer")
    scores: Scores
    metadata: dict[str, Any] = Field(description=METADATA_HELP)


class SearchResponse(BaseModel):
    query: str
    mode: Mode
    k: int
    reranked: bool = Field(description="whether the learned reranking stage ordered the results")
    read: bool = Field(description="whether the reader read the first results (only they can have an answer)")
    no_answer: bool | None = Field(description="true when even the best result is unlikely to answer the "
                                   "question: the ranker's probability that the results hold an answer, "
                                   "combined with the reader's null score on the first result when the "
                                   "reader read it, is below the threshold; null outside hybrid mode")
    took_ms: float
    results: list[Result]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str
    length: int = Field(description="characters in the stored text")
    passages: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class DocumentText(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str
    metadata: dict[str, Any] = Field(description=METADATA_HELP)
    text: str = Field(description="the stored text that citation offsets point into")


class DocumentIn(BaseModel):
    doc_id: StrictStr | None = Field(None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$",
                                     description="the id; default: derived from title and text. "
                                     "An id the index holds is replaced", examples=["jx-2026-01"])
    title: StrictStr = Field(max_length=500, description="the title (default: the text's first line)")
    text: StrictStr = Field(min_length=1, pattern=QUESTION_PATTERN,
                            description="the text, not only blanks; cleaned like any article, then stored and cited")
    source: StrictStr = Field("", max_length=500)
    date: StrictStr = Field("", max_length=50)
    metadata: dict[str, Any] | None = Field(None, description="any JSON object of at most 8 KB; its title, "
                                            "source, date and author fill those fields when they are not given")


class DocumentChange(BaseModel):
    doc_id: str
    title: str
    passages: int = Field(description="passages the document was split into")
    replaced: bool = Field(description="true when a document with this id was replaced")
    took_ms: float


class DocumentRemoved(BaseModel):
    doc_id: str
    removed: bool
    took_ms: float


class Health(BaseModel):
    status: str
    index_loaded: bool
    documents: int
    passages: int
    model: str
    dense_index: str


class ErrorBody(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorBody


# --- collections (service/routes/collections.py) ---

class CollectionInfo(BaseModel):
    name: str
    documents: int
    passages: int


class CollectionList(BaseModel):
    collections: list[CollectionInfo]
    default: str | None = Field(description="the collection /api/search and /api/documents answer from "
                                "(null: there is none named default, and those routes answer 404)")


class CollectionIn(BaseModel):
    name: StrictStr = Field(pattern=NAME_PATTERN, description=f"{NAME_HELP}; also the collection's folder name",
                            examples=["news"])
    documents: list[DocumentIn] = Field(min_length=1, max_length=100, description="its first documents (an "
                                        "index cannot be empty, so a collection is created with at least one)")


class CollectionCreated(CollectionInfo):
    took_ms: float


class CollectionDeleted(BaseModel):
    name: str
    deleted: bool

"""POST /retrieval: Dify's External Knowledge API, so Dify can use zhqa as an external knowledge base.

The contract is Dify's (docs/dify.md says where it is published): a Bearer API key, a body
{"knowledge_id", "query", "retrieval_setting": {"top_k", "score_threshold"}, "metadata_condition"},
an answer {"records": [{"content", "score", "title", "metadata"}]} and errors
{"error_code", "error_msg"}. Every error of this route has that shape, never the app's
{"error": {...}}, so the body is read and checked here rather than by FastAPI.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from index.query import QueryError
from index.retrieve.filters import FilterError
from index.search import Searcher
from service.deps import get_collections

logger = logging.getLogger("zhqa.service")
router = APIRouter(tags=["dify"])

EXAMPLE = ('{"knowledge_id": "default", "query": "问题", '
           '"retrieval_setting": {"top_k": 5, "score_threshold": 0.0}}')
# Dify's suggested codes (1001, 1002, 2001) and ours for what Dify leaves to the service.
BAD_HEADER, WRONG_KEY, NO_KNOWLEDGE, BAD_REQUEST, UNSUPPORTED_CONDITION, INTERNAL = 1001, 1002, 2001, 3001, 3002, 5001
EQUALITY = ("is", "=", "in")
DATE_OPERATORS = ("before", "after")
WHAT_WORKS = ('zhqa filters by equality ("is", "=", "in") on a metadata key or "doc_id", and by '
              '"before"/"after" on "date"')
_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class DifyError(Exception):
    """An error answered in Dify's shape: {"error_code", "error_msg"} with an HTTP status."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error_code": self.code, "error_msg": self.message}, status_code=self.status)


class RetrievalSetting(BaseModel):
    top_k: Annotated[StrictInt, Field(ge=1)]
    # Dify sends 0.0 when its score threshold is off; null is taken the same way
    score_threshold: Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)] | None


class Condition(BaseModel):
    name: Any  # a key, or (older Dify docs) a list holding one; checked by _key for a clearer message
    comparison_operator: StrictStr
    value: Any = None


class MetadataCondition(BaseModel):
    logical_operator: Literal["and", "or"] | None = "and"
    conditions: list[Condition] | None = None


class RetrievalRequest(BaseModel):
    knowledge_id: StrictStr
    query: StrictStr
    retrieval_setting: RetrievalSetting
    metadata_condition: MetadataCondition | None = None


@router.post("/retrieval", include_in_schema=False)  # Dify's contract, not the /api one: docs/dify.md
async def retrieval(request: Request) -> JSONResponse:
    """Search the knowledge base `knowledge_id` and answer Dify's records."""
    try:
        _check_key(request)
        asked = _parse(await _body(request))
        return JSONResponse(await run_in_threadpool(_retrieve, request, asked))
    except DifyError as exc:
        return exc.response()
    except ClientDisconnect:
        raise  # nobody to answer
    except Exception:
        logger.exception("unexpected error in /retrieval")
        return DifyError(500, INTERNAL, "the server failed to answer; the error has been logged").response()


def _searcher_for(request: Request, knowledge_id: str) -> Searcher:
    """The Searcher of the knowledge base Dify names (its External Knowledge ID): the collection of
    that name (qa serve alone serves one, "default"; qa serve --collections DIR, one per folder)."""
    collections = get_collections(request)
    live = collections.get(knowledge_id)
    if live is not None:
        return live.current()
    names = ", ".join(repr(name) for name in collections.names()) or "none yet"
    raise DifyError(404, NO_KNOWLEDGE, f"knowledge base {knowledge_id!r} does not exist; this server's are: "
                    f"{names} (set one as the External Knowledge ID in Dify; GET /api/collections lists them)")


def _check_key(request: Request) -> None:
    """Dify sends `Authorization: Bearer <API key>`; the key is the server's QA_API_TOKEN."""
    token = request.app.state.settings.api_token
    if not token:
        raise DifyError(403, WRONG_KEY, "Authorization failed: this server has no API key; start it with "
                        "QA_API_TOKEN set and give Dify that value as the API Key")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise DifyError(403, BAD_HEADER, "Invalid Authorization header format. Expected 'Bearer <api-key>' format.")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise DifyError(403, WRONG_KEY, "Authorization failed. Please check your API key (the server's "
                        "QA_API_TOKEN).")


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except StarletteHTTPException as exc:  # errors.BodySizeLimit: a chunked body over the limit
        raise DifyError(exc.status_code, BAD_REQUEST, str(exc.detail)) from exc


def _parse(body: bytes) -> RetrievalRequest:
    try:
        return RetrievalRequest.model_validate_json(body)
    except ValidationError as exc:
        raise DifyError(400, BAD_REQUEST, _problem(exc.errors()[0])) from exc


def _problem(error: dict) -> str:
    """One pydantic error as a sentence naming the field (retrieval_setting.top_k, conditions[0].value)."""
    kind, location = error.get("type", ""), error.get("loc", ())
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    if kind == "json_invalid":
        return f"the request body is not valid JSON; send an object like {EXAMPLE}"
    if not location:
        return f"the request body must be a JSON object like {EXAMPLE}"
    if kind == "missing":
        return f"{where} is missing; send an object like {EXAMPLE}"
    if where == "retrieval_setting.top_k":
        return "retrieval_setting.top_k must be a whole number, at least 1 (over the server's limit is taken as it)"
    if where == "retrieval_setting.score_threshold":
        return "retrieval_setting.score_threshold must be a number from 0 to 1"
    return f"{where}: {error.get('msg', 'invalid value')}"


def _retrieve(request: Request, asked: RetrievalRequest) -> dict[str, Any]:
    """Search (in a worker thread: it may reload the index and it computes) and build the records."""
    searcher = _searcher_for(request, asked.knowledge_id)
    document_filter = filter_for(asked.metadata_condition)
    if document_filter is not None and _no_date_between(document_filter.get("date", {})):
        return {"records": []}
    setting = asked.retrieval_setting
    try:
        response = searcher.search(asked.query, min(setting.top_k, searcher.settings.max_k), "hybrid",
                                   filter=document_filter)
    except FilterError as exc:
        raise DifyError(422, UNSUPPORTED_CONDITION, f"metadata_condition: {exc.message}") from exc
    except QueryError as exc:
        raise DifyError(400, BAD_REQUEST, f"query: {exc.message}") from exc
    threshold = setting.score_threshold or 0.0
    results = response.to_dict()["results"]
    return {"records": [_record(r) for r in results
                        if threshold <= 0 or (r["confidence"] is not None and r["confidence"] >= threshold)]}


def _record(result: dict[str, Any]) -> dict[str, Any]:
    """A Dify record: the cited passage, its confidence as score, and the document's metadata with the
    citation (our keys win over a metadata key of the same name, so a citation is always right)."""
    return {
        "content": result["text"],
        "score": result["confidence"] if result["confidence"] is not None else 0.0,
        "title": result["title"],
        "metadata": {**result["metadata"], "doc_id": result["doc_id"], "start": result["start"],
                     "end": result["end"], "evidence": result["evidence"], "answer": result["answer"]},
    }


def filter_for(condition: MetadataCondition | None) -> dict[str, Any] | None:
    """Our filter object (index/retrieve/filters.py) for Dify's metadata_condition; DifyError naming the
    condition when it says something the filter cannot (it is refused, never ignored)."""
    if condition is None or not condition.conditions:
        return None
    items = [(f"metadata_condition.conditions[{i}]", c) for i, c in enumerate(condition.conditions)]
    if condition.logical_operator == "or" and len(items) > 1:
        return _pooled(items)
    document_filter: dict[str, Any] = {}
    for where, item in items:
        _add(document_filter, where, item)
    return document_filter


def _add(document_filter: dict[str, Any], where: str, item: Condition) -> None:
    """ANDs one condition into the filter."""
    key, operator = _key(where, item), item.comparison_operator
    if operator in DATE_OPERATORS:
        if key != "date":
            raise _unsupported(where, item, f'"{operator}" compares dates, so it applies to "date" only')
        bound = "lte" if operator == "before" else "gte"
        bounds = document_filter.setdefault("date", {})
        if bound in bounds:
            raise _unsupported(where, item, f'a second "{operator}" condition on "date"; send one')
        bounds[bound] = _next_date(where, item, -1 if operator == "before" else 1)
    elif operator in EQUALITY:
        target, name = (document_filter, "doc_id") if key == "doc_id" else \
            (document_filter.setdefault("metadata", {}), key)
        if name in target:
            raise _unsupported(where, item, f'a second condition on "{key}" (the filter takes one per key)')
        target[name] = _values(where, item, key)
    else:
        raise _unsupported(where, item, f'"{operator}" is not supported')


def _pooled(items: list[tuple[str, Condition]]) -> dict[str, Any]:
    """logical_operator "or": expressible when every condition is an equality on one key (values pooled)."""
    first_key = _key(*items[0])
    values: list[Any] = []
    for where, item in items:
        if item.comparison_operator not in EQUALITY or _key(where, item) != first_key:
            raise _unsupported(where, item, 'logical_operator "or" is only possible over "is", "=" or "in" '
                               f'conditions on one key (here "{first_key}"), whose values are pooled')
        values += [v for v in _values(where, item, first_key) if v not in values]
    return {"doc_id": values} if first_key == "doc_id" else {"metadata": {first_key: values}}


def _key(where: str, item: Condition) -> str:
    name = item.name
    if isinstance(name, list) and len(name) == 1:  # the older docs' form: ["category"]
        name = name[0]
    if not isinstance(name, str) or not name:
        raise DifyError(422, UNSUPPORTED_CONDITION, f"{where}.name must be one metadata key (a string)")
    return name


def _values(where: str, item: Condition, key: str) -> list[Any]:
    """The values an equality condition accepts, as a non-empty list."""
    operator, value = item.comparison_operator, item.value
    if operator == "in":
        values = value if isinstance(value, list) else [value]
    elif isinstance(value, list):
        raise _unsupported(where, item, f'"{operator}" takes one value; use "in" for a list')
    else:
        values = [value]
    if not values or any(v is None or not isinstance(v, str | int | float | bool) for v in values):
        raise _unsupported(where, item, "the value must be a string, number or boolean (or, for \"in\", a "
                           "non-empty list of them)")
    if operator == "=":  # Dify: equals (numeric)
        values = [_number(where, item, v) for v in values]
    if key == "doc_id" and not all(isinstance(v, str) for v in values):
        raise _unsupported(where, item, "a doc_id is a string")
    return values


def _number(where: str, item: Condition, value: Any) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                pass
    raise _unsupported(where, item, '"=" compares numbers; use "is" for text')


def _next_date(where: str, item: Condition, step: int) -> str:
    """The inclusive bound for Dify's strict before (step -1) or after (+1): the period (year, month or
    day, as precise as the value) just before or after the one given."""
    found = _ISO_DATE.fullmatch(item.value) if isinstance(item.value, str) else None
    if found is None:
        raise _unsupported(where, item, "the value must be a date as YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else None for part in found.groups())
    try:
        day_given = date(year, month or 1, day or 1)
        if day is not None:
            return (day_given + timedelta(days=step)).isoformat()
        if month is not None:
            months = year * 12 + month - 1 + step
            return date(months // 12, months % 12 + 1, 1).isoformat()[:7]
        return date(year + step, 1, 1).isoformat()[:4]
    except (ValueError, OverflowError) as exc:
        raise _unsupported(where, item, f"the date is out of range or not a calendar date ({exc})") from exc


def _no_date_between(bounds: dict[str, str]) -> bool:
    """Whether after and before leave no date at all (compared at the precision both give)."""
    gte, lte = bounds.get("gte"), bounds.get("lte")
    if gte is None or lte is None:
        return False
    common = min(len(gte), len(lte))
    return gte[:common] > lte[:common]


def _unsupported(where: str, item: Condition, why: str) -> DifyError:
    shown = f"{item.name!r} {item.comparison_operator} {item.value!r}"
    return DifyError(422, UNSUPPORTED_CONDITION, f"{where} ({shown}) cannot be applied: {why}. {WHAT_WORKS}; "
                     "nothing was searched")

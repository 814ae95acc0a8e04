"""The OpenAPI document, with the limits the API really enforces.

Questions and k are checked by index.query (shared with the command line) with
limits from the settings, so the route signatures cannot carry them. They are
written into the generated schema here, from the same settings, so generated
clients and fuzzers see the real contract: q 1 to max_question_chars characters,
not all blank; k a whole number from 1 to max_k. Every error has the Error shape,
so FastAPI's default 422 body (HTTPValidationError) is never sent and not listed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from index.query import QUESTION_PATTERN
from index.settings import Settings
from service.schemas import DocumentIn

DEFAULT_422 = "#/components/schemas/HTTPValidationError"


def _limits(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    question = {"type": "string", "minLength": 1, "maxLength": settings.max_question_chars,
                "pattern": QUESTION_PATTERN}
    k = {"type": "integer", "minimum": 1, "maximum": settings.max_k}
    return question, k


def contract_schema(app: FastAPI, settings: Settings) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                         description=app.description, routes=app.routes)
    question, k = _limits(settings)
    question_text = (f"the question: 1 to {settings.max_question_chars} characters, not only blanks "
                     "(white space, control or format characters)")
    k_text = f"passages to return, 1 to {settings.max_k} (default {settings.default_k})"

    for parameter in schema["paths"]["/api/search"]["get"]["parameters"]:
        if parameter["name"] == "q":
            parameter.update(required=True, description=question_text)
            parameter["schema"] = {**question, "description": question_text, "examples": ["嘉兴经开区党委书记是谁"]}
        elif parameter["name"] == "k":
            parameter["description"] = k_text
            parameter["schema"] = {**k, "default": settings.default_k, "description": k_text}

    body = schema["components"]["schemas"]["SearchRequest"]["properties"]
    body["q"].update(question, description=question_text)
    body["k"] = {"anyOf": [k, {"type": "null"}], "description": k_text, "examples": [settings.default_k]}

    for operations in schema["paths"].values():
        for operation in operations.values():
            default_422 = operation.get("responses", {}).get("422", {})
            if DEFAULT_422 in str(default_422):  # a parameter that cannot fail (a path's text)
                del operation["responses"]["422"]
    # the document body is read by hand (JSON or a file upload), so FastAPI does not list its model
    schema["components"]["schemas"]["DocumentIn"] = DocumentIn.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    app.openapi_schema = schema
    return schema

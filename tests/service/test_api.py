"""The JSON API against the real index and model (in process, through the ASGI app)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from service.app import create_app

RESULT_KEYS = {"rank", "score", "confidence", "doc_id", "title", "source", "start", "end", "text", "evidence",
               "answer", "scores", "metadata"}
RESPONSE_KEYS = {"query", "mode", "k", "reranked", "read", "no_answer", "took_ms", "results"}
ANSWERED = "嘉兴高新区把什么工作作为“一号工程”？"  # seed q000-02: 招商引资


@pytest.fixture(scope="module")
def client(searcher, settings):
    with TestClient(create_app(searcher, settings)) as test_client:
        yield test_client


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


def test_get_search_shape_order_and_offsets(client):
    response = client.get("/api/search", params={"q": "嘉兴经开区党委书记是谁", "k": 4})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["mode"] == "hybrid" and body["k"] == 4 and len(body["results"]) == 4
    assert "章澜" in body["results"][0]["text"]
    assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    for result in body["results"]:
        assert set(result) == RESULT_KEYS
        document = client.get(f"/api/documents/{result['doc_id']}").json()
        assert document["text"][result["start"]:result["end"]] == result["text"]
        evidence = result["evidence"]
        assert document["text"][evidence["start"]:evidence["end"]] == evidence["text"]


def test_post_matches_get_and_the_cli_shape(client, searcher):
    got = client.get("/api/search", params={"q": "嘉兴科技城2003年财政总收入", "k": 3, "mode": "bm25"}).json()
    posted = client.post("/api/search", json={"q": "嘉兴科技城2003年财政总收入", "k": 3, "mode": "bm25"}).json()
    direct = searcher.search("嘉兴科技城2003年财政总收入", 3, "bm25").to_dict()
    assert got["results"] == posted["results"] == direct["results"]


def test_default_k_and_mode(client):
    body = client.post("/api/search", json={"q": "嘉兴高新区研发经费"}).json()
    assert body["k"] == 5 and body["mode"] == "hybrid" and len(body["results"]) == 5


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_single_modes_null_the_other_score(client, mode):
    other = {"bm25": "dense", "dense": "bm25"}[mode]
    results = client.get("/api/search", params={"q": "昱能科技上市", "mode": mode}).json()["results"]
    assert results and all(r["scores"][other] is None and r["scores"][mode] == r["score"] for r in results)


@pytest.mark.parametrize(("params", "code"), [
    ({}, "empty_question"),
    ({"q": ""}, "empty_question"),
    ({"q": "  \t "}, "empty_question"),
    ({"q": "问" * 513}, "question_too_long"),
    ({"q": "问题", "k": 0}, "invalid_k"),
    ({"q": "问题", "k": 51}, "invalid_k"),
    ({"q": "问题", "k": "five"}, "invalid_k"),
    ({"q": "问题", "k": 2.5}, "invalid_k"),
    ({"q": "问题", "mode": "fuzzy"}, "invalid_mode"),
])
def test_get_validation(client, params, code):
    assert_error(client.get("/api/search", params=params), 422, code)


@pytest.mark.parametrize(("body", "code"), [
    ({"k": 5}, "empty_question"),
    ({"q": None}, "invalid_question"),
    ({"q": 123}, "invalid_question"),
    ({"q": ["a"]}, "invalid_question"),
    ({"q": "问题", "k": "5x"}, "invalid_k"),
    ({"q": "问题", "k": True}, "invalid_k"),
    ({"q": "问题", "mode": 3}, "invalid_mode"),
    ([1, 2], "invalid_body"),
    ("just a string", "invalid_body"),
])
def test_post_validation(client, body, code):
    assert_error(client.post("/api/search", json=body), 422, code)


def test_post_body_that_is_not_json(client):
    response = client.post("/api/search", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_json")


def test_post_without_body(client):
    assert_error(client.post("/api/search"), 422, "missing_body")


def test_post_body_too_large(client, settings):
    big = json.dumps({"q": "问" * settings.max_body_bytes})
    assert_error(client.post("/api/search", content=big, headers={"content-type": "application/json"}),
                 413, "body_too_large")


def test_chunked_body_too_large_is_refused(client, settings):
    def chunks():
        yield b'{"q": "'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"a" * 1000
        yield b'"}'
    response = client.post("/api/search", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize("question", [
    "嘉兴经开区党委书记是谁🤔🤔", "嘉兴经开区\u0007党委书记\u202e是谁", "嘉興經開區黨委書記是誰",
    "嘉兴高新区２０２５年研发经费", "嘉兴经开区 party secretary 是谁?", "\U0001F600",
])
def test_odd_unicode_is_answered(client, question):
    response = client.get("/api/search", params={"q": question})
    assert response.status_code == 200 and isinstance(response.json()["results"], list)


def test_documents_list(client):
    documents = client.get("/api/documents").json()["documents"]
    assert len(documents) == 5
    for doc in documents:
        assert set(doc) == {"doc_id", "title", "source", "date", "length", "passages"}
        full = client.get(f"/api/documents/{doc['doc_id']}").json()
        assert len(full["text"]) == doc["length"] and doc["passages"] > 0
    assert sum(d["passages"] for d in documents) == client.get("/healthz").json()["passages"]


def test_document_text_and_unknown_id(client):
    doc = client.get("/api/documents/003_aa809658476baa4e").json()
    assert set(doc) == {"doc_id", "title", "source", "date", "metadata", "text"} and doc["date"] == "2025-01-06"
    assert doc["metadata"]["date"] == "2025-01-06" and doc["metadata"]["title"] == doc["title"]
    assert_error(client.get("/api/documents/no-such-doc"), 404, "not_found")


def test_health(client):
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "index_loaded": True, "documents": 5, "passages": health["passages"],
                      "model": "multilingual-e5-small", "dense_index": "flat"}


def test_unknown_route_and_method_are_json_errors(client):
    assert_error(client.get("/api/nothing"), 404, "not_found")
    assert_error(client.delete("/api/search"), 405, "method_not_allowed")


def test_openapi_docs_with_examples(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/search", "/api/documents", "/api/documents/{doc_id}", "/healthz"} <= set(spec["paths"])
    assert "嘉兴经开区党委书记是谁" in json.dumps(spec, ensure_ascii=False)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text


def test_search_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "文章问答检索" in page.text
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize("k", ["2.0", "1_0", "+3", " 3 ", "%203%20", "３", "", "0x3", "-1", "9" * 5000])
def test_get_k_is_plain_decimal_digits_only(client, k):
    assert_error(client.get(f"/api/search?q=%E5%8D%97%E6%B9%96&k={k}"), 422, "invalid_k")


def test_get_k_as_digits_is_accepted(client):
    assert client.get("/api/search", params={"q": "南湖", "k": "007", "mode": "bm25"}).json()["k"] == 7


@pytest.mark.parametrize("query", ["q=%FF%FE", "q=%E5%8D", "q=%E5%8D%97&mode=%C0%AF"])
def test_get_with_invalid_utf8_is_refused(client, query):
    assert_error(client.get(f"/api/search?{query}"), 400, "invalid_encoding")


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"q": "\xff\xfe"}', "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (b'{"q": "a", "k": ' + b"9" * 5000 + b"}", "application/json"),
    ('{"q": "南湖"}'.encode("gbk"), "application/json; charset=gbk"),
])
def test_unreadable_bodies_are_invalid_json(client, body, content_type):
    assert_error(client.post("/api/search", content=body, headers={"content-type": content_type}),
                 400, "invalid_json")


def test_question_length_counts_what_was_sent(client):
    assert_error(client.get("/api/search", params={"q": "问" + " " * 512}), 422, "question_too_long")


def test_openapi_publishes_the_limits_that_are_enforced(client, settings):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    body = spec["components"]["schemas"]["SearchRequest"]["properties"]
    for question in (params["q"]["schema"], body["q"]):
        assert question["type"] == "string" and question["minLength"] == 1
        assert question["maxLength"] == settings.max_question_chars and question["pattern"]
    assert params["q"]["required"] is True
    for k in (params["k"]["schema"], body["k"]["anyOf"][0]):
        assert (k["type"], k["minimum"], k["maximum"]) == ("integer", 1, settings.max_k)
    assert "HTTPValidationError" not in json.dumps(spec)  # every error has the Error shape


@pytest.mark.parametrize("question", [" ", "\u200b\u3000", "\x00\t", "\ufeff", "\U000E0020", "a", "\U0001F600", " 问 "])
def test_the_published_pattern_says_which_questions_are_empty(client, question):
    pattern = client.get("/openapi.json").json()["components"]["schemas"]["SearchRequest"]["properties"]["q"]["pattern"]
    response = client.post("/api/search", json={"q": question, "mode": "bm25"})
    if re.search(pattern, question):
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 422, "empty_question")


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/search?q=%E5%8D%97%E6%B9%96&k=1", "/api/documents",
                                  "/static/app.js", "/openapi.json"])
def test_head_answers_like_get_without_a_body(client, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"] and head.content == b""


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/api/search", "GET, HEAD, POST"),
    ("PUT", "/healthz", "GET, HEAD"),
    ("POST", "/", "GET, HEAD"),
    ("PATCH", "/api/documents/003_aa809658476baa4e", "DELETE, GET, HEAD, PUT"),
    ("PUT", "/api/documents", "GET, HEAD, POST"),
    ("DELETE", "/static/app.js", "GET, HEAD"),
])
def test_every_405_says_what_is_allowed(client, method, path, allow):
    response = client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(("path", "location"), [
    ("/healthz/", "/healthz"),
    ("/api/search/?q=%E5%8D%97", "/api/search?q=%E5%8D%97"),
    ("/docs/", "/docs"),
])
def test_trailing_slash_redirect_never_echoes_the_host(client, path, location):
    response = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == location
    assert "evil" not in response.text


def test_unknown_path_with_a_slash_is_still_404(client):
    assert_error(client.get("/nothing/", follow_redirects=False), 404, "not_found")
    assert_error(client.post("/healthz/", follow_redirects=False), 404, "not_found")


def test_docs_load_nothing_from_other_hosts_and_have_no_inline_script(client):
    page = client.get("/docs").text
    assert "http://" not in page and "https://" not in page
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/static/docs.js"):
        assert client.get(asset).status_code == 200
    assert_error(client.get("/redoc"), 404, "not_found")  # ReDoc came from a CDN; it is gone


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/search?q=%E5%8D%97&k=1", "/api/documents",
                                  "/api/nothing", "/healthz", "/openapi.json", "/docs"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "http:" not in csp and "https:" not in csp and "script-src" not in csp  # scripts: own files only
    if path != "/docs":  # the search page needs no inline style either; Swagger UI sets style attributes
        assert "unsafe-inline" not in csp


def test_the_search_page_has_no_inline_script_or_style(client):
    page = client.get("/").text
    assert "<style" not in page and " style=" not in page and " on" not in page.replace(" one", "")
    assert all('src="/static/' in attributes and not body.strip()
               for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S))


# --- the reader: the answer span, and reader=false -----------------------------------------------

def test_the_reader_marks_the_answer_in_the_evidence_of_the_first_result(client, settings):
    # Seed question q000-02: a trained reader marks 招商引资 in the first result.
    body = client.get("/api/search", params={"q": ANSWERED, "k": 3}).json()
    assert body["read"] is True
    first = body["results"][0]
    answer = first["answer"]
    assert answer is not None and set(answer) == {"start", "end", "text", "score"}
    assert "招商引资" in answer["text"] and 0 <= answer["score"] <= 1
    document = client.get(f"/api/documents/{first['doc_id']}").json()["text"]
    assert document[answer["start"]:answer["end"]] == answer["text"]
    assert first["start"] <= answer["start"] < answer["end"] <= first["end"]
    evidence = first["evidence"]
    assert evidence["start"] <= answer["start"] and answer["end"] <= evidence["end"]
    assert answer["text"] in evidence["text"]
    assert all(r["answer"] is None for r in body["results"][settings.reader_results:])  # not read


def test_every_answer_is_a_span_of_its_result_and_evidence(client):
    """Whatever the reader marks, on any question: offsets into the document, inside the result and
    its evidence sentence. (Holds with any checkpoint; with one that marks nothing it checks little.)"""
    questions = (ANSWERED, "嘉兴经开区党委书记是谁", "昱能科技什么时候在科创板上市的", "杭州湾跨海大桥全长多少公里？")
    for question in questions:
        for result in client.get("/api/search", params={"q": question, "k": 2}).json()["results"]:
            answer = result["answer"]
            if answer is None:
                continue
            document = client.get(f"/api/documents/{result['doc_id']}").json()["text"]
            assert document[answer["start"]:answer["end"]] == answer["text"] and answer["text"]
            assert result["start"] <= answer["start"] < answer["end"] <= result["end"]
            assert result["evidence"]["start"] <= answer["start"] and answer["end"] <= result["evidence"]["end"]


def _spans(body: dict) -> list[tuple[str, int, int]]:
    return [(r["doc_id"], r["start"], r["end"]) for r in body["results"]]


def test_reader_false_skips_reading_and_keeps_the_order(client):
    read = client.get("/api/search", params={"q": ANSWERED, "k": 3}).json()
    got = client.get("/api/search", params={"q": ANSWERED, "k": 3, "reader": "false"}).json()
    posted = client.post("/api/search", json={"q": ANSWERED, "k": 3, "reader": False}).json()
    assert read["read"] is True
    for body in (got, posted):
        assert set(body) == RESPONSE_KEYS and body["read"] is False
        assert all(r["answer"] is None for r in body["results"])
        assert _spans(body) == _spans(read)  # reading marks answers; it does not reorder the results
    assert got["results"] == posted["results"]


@pytest.mark.parametrize(("value", "read"), [("true", True), ("TRUE", True), ("True", True), ("1", True),
                                             ("false", False), ("FALSE", False), ("fAlSe", False), ("0", False)])
def test_get_reader_takes_true_false_1_0_in_any_case(client, value, read):
    response = client.get("/api/search", params={"q": "南湖", "k": 1, "mode": "bm25", "reader": value})
    assert response.status_code == 200, response.text
    assert response.json()["read"] is read


@pytest.mark.parametrize("value", ["", "yes", "no", "on", "off", "2", "00", "truee", " true", "t", "ｔｒｕｅ", "İ"])
def test_a_bad_get_reader_is_422_naming_the_field(client, value):
    error = assert_error(client.get("/api/search", params={"q": "南湖", "reader": value}), 422, "invalid_reader")
    assert "reader" in error["message"]


@pytest.mark.parametrize("value", ["false", 0, 1, "no", [], {}])
def test_a_bad_post_reader_is_422_naming_the_field(client, value):
    response = client.post("/api/search", json={"q": "南湖", "reader": value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    # service/errors.py has no code of its own for reader (yet): its general one names the field.
    assert error["code"] in {"invalid_reader", "invalid_request"} and "reader" in error["message"]


def test_post_reader_null_is_the_default(client):
    body = client.post("/api/search", json={"q": "南湖", "k": 1, "mode": "bm25", "reader": None}).json()
    assert body["read"] is True


def test_openapi_documents_the_answer_and_the_reader_switch(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    answer = schemas["Answer"]
    assert set(answer["required"]) == {"start", "end", "text", "score"}
    assert all(answer["properties"][name].get("description") for name in ("start", "end", "text", "score"))
    assert (answer["properties"]["score"]["minimum"], answer["properties"]["score"]["maximum"]) == (0, 1)
    result = schemas["Result"]["properties"]["answer"]
    assert {"$ref": "#/components/schemas/Answer"} in result["anyOf"] and {"type": "null"} in result["anyOf"]
    assert "null when the result was not read" in result["description"]
    assert "answer" in schemas["Result"]["required"]
    response = schemas["SearchResponse"]
    assert response["properties"]["read"]["type"] == "boolean" and "read" in response["required"]
    assert "reader" in response["properties"]["no_answer"]["description"]
    body = schemas["SearchRequest"]["properties"]["reader"]
    assert {"type": "boolean"} in body["anyOf"] and "skip the reader" in body["description"]
    params = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["reader"]["schema"]["type"] == "boolean" and params["reader"]["required"] is False
    assert "skip the reader" in params["reader"]["description"]


def test_the_reader_survives_a_change_to_the_index(index_copy, settings, embedder):
    """A served index that changes (a document added, by this process or another) is reloaded: the
    reloaded searcher must still read."""
    from index.ingest.documents import Document
    from index.live import add_documents
    from index.search import Searcher

    with TestClient(create_app(Searcher.open(index_copy, settings, embedder), settings, index_copy)) as writable:
        assert writable.get("/api/search", params={"q": ANSWERED, "k": 1}).json()["read"] is True
        add_documents(index_copy, [Document("mars", "火星基地", "嘉兴的火星基地有三座塔。塔高一百米。")],
                      settings, embedder, progress=False)
        body = writable.get("/api/search", params={"q": "嘉兴的火星基地有几座塔？", "k": 1}).json()
        assert body["results"][0]["doc_id"] == "mars"  # the change was seen
        assert body["read"] is True


def test_the_search_page_never_writes_html(client):
    """Document text reaches the page as text nodes only (the answer and evidence marks are elements)."""
    script = client.get("/static/app.js").text
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)


def test_get_and_post_filters_keep_results_inside_them(client):
    best = client.get("/api/search", params={"q": ANSWERED, "k": 1}).json()["results"][0]
    others = [d["doc_id"] for d in client.get("/api/documents").json()["documents"] if d["doc_id"] != best["doc_id"]]
    by_get = client.get("/api/search", params={"q": ANSWERED, "k": 5, "filter": json.dumps({"doc_id": others})})
    by_post = client.post("/api/search", json={"q": ANSWERED, "k": 5, "filter": {"doc_id": others}})
    assert by_get.status_code == by_post.status_code == 200, by_get.text
    results = by_get.json()["results"]
    assert len(results) == 5 and all(r["doc_id"] in others for r in results)
    assert [r["doc_id"] for r in by_post.json()["results"]] == [r["doc_id"] for r in results]
    dated = client.post("/api/search", json={"q": ANSWERED, "filter": {"date": {"gte": best["metadata"]["date"]}}})
    assert all(r["metadata"]["date"] >= best["metadata"]["date"] for r in dated.json()["results"])


@pytest.mark.parametrize(("filter_", "named"), [
    ({"dept": "x"}, "filter.dept"),
    ({"metadata": {"dept": {"a": 1}}}, "filter.metadata.dept"),
    ({"date": {"gte": "2025-13"}}, "filter.date.gte"),
    ({"doc_id": 5}, "filter.doc_id"),
    ("not an object", "filter"),
])
def test_a_bad_filter_is_422_naming_the_field(client, filter_, named):
    text = filter_ if isinstance(filter_, str) else json.dumps(filter_)
    by_get = assert_error(client.get("/api/search", params={"q": ANSWERED, "filter": text}), 422, "invalid_filter")
    by_post = assert_error(client.post("/api/search", json={"q": ANSWERED, "filter": filter_}), 422, "invalid_filter")
    assert by_get["message"].startswith(named) and by_post["message"].startswith(named)


def test_min_confidence_keeps_only_results_that_likely_answer(client):
    everything = client.get("/api/search", params={"q": ANSWERED, "k": 10}).json()["results"]
    cut = sorted(r["confidence"] for r in everything)[len(everything) // 2]
    kept = client.get("/api/search", params={"q": ANSWERED, "k": 10, "min_confidence": str(cut)}).json()["results"]
    assert kept == [r for r in everything if r["confidence"] >= cut] and 0 < len(kept) < len(everything)
    posted = client.post("/api/search", json={"q": ANSWERED, "k": 10, "min_confidence": cut}).json()["results"]
    assert posted == kept
    for bad in ("1.5", "-1", "abc", "nan"):
        assert_error(client.get("/api/search", params={"q": ANSWERED, "min_confidence": bad}), 422,
                     "invalid_min_confidence")
    assert_error(client.post("/api/search", json={"q": ANSWERED, "min_confidence": 2}), 422, "invalid_min_confidence")
    bm25 = client.get("/api/search", params={"q": ANSWERED, "mode": "bm25", "min_confidence": "0"}).json()
    assert bm25["results"] == []  # no confidence in bm25 mode: none is known to be that likely

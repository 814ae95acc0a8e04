"""POST /retrieval, Dify's External Knowledge API, on a real `qa serve` with an API key: requests sent
as Dify sends them (api/services/external_knowledge_service.py: json.dumps'd body, Content-Type and
Bearer headers; and the bodiless probe it sends when the API is registered)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from eval.bench.server import running_server

TOKEN = "dify-key-3b7e50d1"
QUESTION = "嘉兴经开区党委书记是谁"
BROAD = "嘉兴高新区的发展"  # matches passages of every seed document


@pytest.fixture(scope="module")
def server(seed_index_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("dify") / "serve.log"
    with running_server(seed_index_dir, log, {"QA_API_TOKEN": TOKEN}) as running:
        yield {"url": running.url, "log": log}


def ask(url: str, query: str = QUESTION, top_k: int = 5, score_threshold: float = 0.0,
        metadata_condition: dict | None = None, key: str = TOKEN, knowledge_id: str = "default") -> httpx.Response:
    """A request exactly as Dify builds it: metadata_condition only when there is one."""
    body = {"retrieval_setting": {"top_k": top_k, "score_threshold": score_threshold},
            "query": query, "knowledge_id": knowledge_id}
    if metadata_condition is not None:
        body["metadata_condition"] = metadata_condition
    return post(url, json.dumps(body), {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})


def post(url: str, content: str | bytes | Iterator[bytes] | None, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/retrieval", content=content, headers=headers, timeout=120)


def records(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"records"}
    return response.json()["records"]


def assert_dify_error(response: httpx.Response, status: int, code: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "error_msg"} and body["error_code"] == code, body
    for word in words:
        assert word in body["error_msg"], body


def only(conditions: list[dict], logical_operator: str = "and") -> dict:
    return {"logical_operator": logical_operator, "conditions": conditions}


def test_records_cite_their_documents(server):
    url = server["url"]
    found = records(ask(url, top_k=3))
    assert 1 <= len(found) <= 3
    for record in found:
        assert set(record) == {"content", "score", "title", "metadata"}
        assert isinstance(record["score"], float) and 0 <= record["score"] <= 1
        meta = record["metadata"]
        document = httpx.get(f"{url}/api/documents/{meta['doc_id']}").json()
        assert record["content"] == document["text"][meta["start"]:meta["end"]]
        assert record["title"] == document["title"]
        evidence = meta["evidence"]
        assert evidence["text"] == document["text"][evidence["start"]:evidence["end"]]
        assert meta["start"] <= evidence["start"] < evidence["end"] <= meta["end"]
        assert {k: meta[k] for k in document["metadata"]} == document["metadata"]  # source, date, author
        answer = meta["answer"]
        assert answer is None or answer["text"] == document["text"][answer["start"]:answer["end"]]
    assert "answer" in found[0]["metadata"]


def test_top_k_limits_the_records_and_is_capped_at_the_servers_limit(server):
    assert len(records(ask(server["url"], BROAD, top_k=1))) == 1
    many = records(ask(server["url"], BROAD, top_k=100_000))  # over QA_MAX_K (50): taken as 50
    assert 1 < len(many) <= 50


def test_score_threshold_drops_records_below_it(server):
    everything = records(ask(server["url"], BROAD, top_k=10))
    scores = sorted(r["score"] for r in everything)
    assert scores[0] < scores[-1], scores
    threshold = (scores[0] + scores[-1]) / 2
    kept = records(ask(server["url"], BROAD, top_k=10, score_threshold=threshold))
    assert kept and all(r["score"] >= threshold for r in kept)
    assert [r["content"] for r in kept] == [r["content"] for r in everything if r["score"] >= threshold]


@pytest.mark.parametrize(("condition", "wanted"), [
    (only([{"name": "source", "comparison_operator": "is", "value": "报纸报道"}]), {"004_87265c0e99f8738f"}),
    (only([{"name": ["author"], "comparison_operator": "in", "value": ["耿佩澜", "孔莉宏、陈新"]}]),
     {"002_f452990c5d0afd35", "004_87265c0e99f8738f"}),
    (only([{"name": "date", "comparison_operator": "after", "value": "2025"}]),
     {"000_ad648a2326587a1a", "002_f452990c5d0afd35"}),  # dated 2026-01
    (only([{"name": "date", "comparison_operator": "before", "value": "2025-01-06"},
           {"name": "date", "comparison_operator": "after", "value": "2023"}]), {"001_6ef850d05338babd"}),  # 2024
    (only([{"name": "date", "comparison_operator": "before", "value": "2026-01"},
           {"name": "source", "comparison_operator": "is", "value": "嘉兴市投资促进中心"}]),
     {"003_aa809658476baa4e"}),
])
def test_metadata_conditions_select_the_documents(server, condition, wanted):
    found = records(ask(server["url"], BROAD, top_k=20, metadata_condition=condition))
    assert found and {r["metadata"]["doc_id"] for r in found} <= wanted


def test_or_over_one_key_pools_its_values(server):
    condition = only([{"name": "source", "comparison_operator": "is", "value": "报纸报道"},
                      {"name": "source", "comparison_operator": "is", "value": "嘉兴市投资促进中心"}], "or")
    found = records(ask(server["url"], BROAD, top_k=20, metadata_condition=condition))
    assert {r["metadata"]["doc_id"] for r in found} == {"003_aa809658476baa4e", "004_87265c0e99f8738f"}


def test_or_over_two_keys_is_refused(server):
    condition = only([{"name": "source", "comparison_operator": "is", "value": "报纸报道"},
                      {"name": "doc_id", "comparison_operator": "is", "value": "003_aa809658476baa4e"}], "or")
    assert_dify_error(ask(server["url"], BROAD, metadata_condition=condition), 422, 3002,
                      "metadata_condition.conditions[1]", '"or"')


def test_conditions_that_exclude_every_date_find_nothing(server):
    condition = only([{"name": "date", "comparison_operator": "after", "value": "2026"},
                      {"name": "date", "comparison_operator": "before", "value": "2025-12-31"}])
    assert records(ask(server["url"], BROAD, metadata_condition=condition)) == []


@pytest.mark.parametrize(("condition", "words"), [
    ({"name": "source", "comparison_operator": "contains", "value": "报纸"}, ['"contains"', "source"]),
    ({"name": "source", "comparison_operator": "not in", "value": ["报纸报道"]}, ['"not in"']),
    ({"name": "author", "comparison_operator": "empty"}, ['"empty"']),
    ({"name": "source", "comparison_operator": "before", "value": "2025"}, ['"date" only']),
    ({"name": "date", "comparison_operator": "after", "value": "2025-02-30"}, ["calendar date"]),
    ({"name": "date", "comparison_operator": "after", "value": 1735689600}, ["YYYY-MM-DD"]),
    ({"name": "source", "comparison_operator": "is", "value": ["a", "b"]}, ['use "in"']),
    ({"name": "pages", "comparison_operator": "=", "value": "many"}, ['"is" for text']),
])
def test_conditions_it_cannot_apply_are_refused(server, condition, words):
    response = ask(server["url"], BROAD, metadata_condition=only([condition]))
    assert_dify_error(response, 422, 3002, "metadata_condition.conditions[0]", *words)


def test_an_unknown_knowledge_id_is_2001(server):
    assert_dify_error(ask(server["url"], knowledge_id="finance"), 404, 2001, "'finance'", "'default'")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", f"Basic {TOKEN}", f"Token {TOKEN}", TOKEN])
def test_a_missing_or_malformed_authorization_header_is_1001(server, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps({"knowledge_id": "default", "query": QUESTION,
                       "retrieval_setting": {"top_k": 1, "score_threshold": 0.0}})
    assert_dify_error(post(server["url"], body, headers), 403, 1001, "Bearer")


def test_a_wrong_key_is_1002_and_the_key_is_never_logged(server):
    assert_dify_error(ask(server["url"], key="not-the-key"), 403, 1002, "Authorization failed")
    records(ask(server["url"], top_k=1))
    assert TOKEN not in server["log"].read_text(encoding="utf-8")


def test_difys_registration_probe_passes_with_the_right_key_only(server):
    """Dify checks a new External Knowledge API by POSTing no body: 403, 404 and 502 fail it."""
    assert_dify_error(post(server["url"], None, {"Authorization": f"Bearer {TOKEN}"}), 400, 3001, "JSON")
    assert_dify_error(post(server["url"], None, {"Authorization": "Bearer wrong"}), 403, 1002)


def test_without_a_configured_key_every_request_is_refused(live_server):
    assert_dify_error(ask(live_server["url"]), 403, 1002, "QA_API_TOKEN")


@pytest.mark.parametrize(("body", "words"), [
    ("{", ["not valid JSON"]),
    ("[]", ["JSON object"]),
    ({"knowledge_id": "default", "retrieval_setting": {"top_k": 1, "score_threshold": 0}}, ["query is missing"]),
    ({"knowledge_id": "default", "query": QUESTION}, ["retrieval_setting is missing"]),
    ({"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": 0, "score_threshold": 0}},
     ["top_k"]),
    ({"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": "3", "score_threshold": 0}},
     ["top_k"]),
    ({"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": True, "score_threshold": 0}},
     ["top_k"]),
    ({"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": 3, "score_threshold": 1.5}},
     ["score_threshold"]),
    ({"knowledge_id": "default", "query": " \u3000", "retrieval_setting": {"top_k": 3, "score_threshold": 0}},
     ["query", "empty"]),
    ({"knowledge_id": 7, "query": QUESTION, "retrieval_setting": {"top_k": 3, "score_threshold": 0}},
     ["knowledge_id"]),
    ({"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": 3, "score_threshold": 0},
      "metadata_condition": {"logical_operator": "xor", "conditions": []}}, ["logical_operator"]),
])
def test_bad_bodies_are_3001_in_difys_error_shape(server, body, words):
    content = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    assert_dify_error(post(server["url"], content, headers), 400, 3001, *words)


def test_a_chunked_body_over_the_limit_is_refused_in_difys_shape(server):
    chunks = (b" " * 4096 for _ in range(5))  # no Content-Length: counted while read, 20 KB > 16 KB
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    assert_dify_error(post(server["url"], chunks, headers), 413, 3001, "16384 bytes")


def test_a_null_threshold_and_an_empty_condition_change_nothing(server):
    plain = records(ask(server["url"], top_k=2))
    body = {"knowledge_id": "default", "query": QUESTION, "retrieval_setting": {"top_k": 2, "score_threshold": None},
            "metadata_condition": {"logical_operator": "and", "conditions": []}}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    assert records(post(server["url"], json.dumps(body), headers)) == plain

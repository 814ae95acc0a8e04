"""`qa mcp`, the real server run as a subprocess and spoken to over stdio by the MCP SDK's own client:
its tools, their cited results, and bad input answered as tool errors by a server that keeps serving."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, Tool

import zhqa
from index.settings import REPO_ROOT
from service.cli import main

QUESTION = "嘉兴经开区党委书记是谁"
EVAL_QUESTION_ID = "q000-05"  # 2026年伊始哪个项目正式落户嘉兴高新区？ (eval/questions.jsonl)


@asynccontextmanager
async def connect(args: list[str], errlog: TextIO) -> AsyncIterator[ClientSession]:
    """`python -m service.cli mcp ARGS` as the client's subprocess, initialized."""
    server = StdioServerParameters(command=sys.executable, args=["-m", "service.cli", "mcp", *args],
                                   cwd=str(REPO_ROOT), env=dict(os.environ))
    async with stdio_client(server, errlog=errlog) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=120) as session:
        await session.initialize()
        yield session


class Client:
    """A connected session, called from synchronous tests through the portal's event loop."""

    def __init__(self, portal: BlockingPortal, session: ClientSession) -> None:
        self.portal, self.session = portal, session

    def tools(self) -> list[Tool]:
        return self.portal.call(self.session.list_tools).tools

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The structured content of a call that must succeed."""
        result = self.call(tool, **arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return result.structured_content

    def error(self, tool: str, **arguments: Any) -> str:
        """The message of a call that must fail as a tool error."""
        result = self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        return result.content[0].text


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        yield portal


def start(portal: BlockingPortal, args: list[str], log_path: Path) -> Iterator[Client]:
    with log_path.open("w", encoding="utf-8") as errlog:
        try:
            with portal.wrap_async_context_manager(connect(args, errlog)) as session:
                yield Client(portal, session)
                return
        except Exception as exc:
            failure = f"qa mcp {' '.join(args)} failed: {exc!r}"
    pytest.fail(f"{failure}\n{log_path.read_text(encoding='utf-8')[-3000:]}")


@pytest.fixture(scope="module")
def local(portal: BlockingPortal, seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from start(portal, ["--index-dir", str(seed_index_dir)], tmp_path_factory.mktemp("mcp") / "local.log")


@pytest.fixture(scope="module")
def remote(portal: BlockingPortal, server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from start(portal, ["--url", server_url], tmp_path_factory.mktemp("mcp") / "remote.log")


def assert_cited(client: Client, hit: dict[str, Any]) -> None:
    """The hit's text, evidence and answer are the document's text at their offsets (fetched by get_document)."""
    text = client.ok("get_document", doc_id=hit["doc_id"])["text"]
    assert hit["text"] == text[hit["start"]:hit["end"]]
    assert hit["evidence"] == text[hit["evidence_start"]:hit["evidence_end"]]
    assert hit["start"] <= hit["evidence_start"] < hit["evidence_end"] <= hit["end"]
    if hit["answer"] is not None:
        assert hit["answer"] == text[hit["answer_start"]:hit["answer_end"]]


def test_lists_the_two_tools(local: Client):
    tools = {tool.name: tool for tool in local.tools()}
    assert set(tools) == {"search", "get_document"}
    search = tools["search"]
    assert search.input_schema["required"] == ["question"]
    assert search.input_schema["properties"]["mode"]["enum"] == ["hybrid", "bm25", "dense"]
    assert search.input_schema["properties"]["k"]["default"] == 5
    assert {"results", "no_answer"} <= set(search.output_schema["properties"])
    assert tools["get_document"].input_schema["required"] == ["doc_id"]
    assert {"text", "title", "source"} <= set(tools["get_document"].output_schema["properties"])
    assert all(tool.annotations.read_only_hint for tool in tools.values())


def test_search_returns_cited_results(local: Client, api: zhqa.Searcher):
    result = local.call("search", question=QUESTION, k=3)
    assert not result.is_error
    output = result.structured_content
    expected = api.search(QUESTION, k=3)
    assert output["no_answer"] is False and output["mode"] == "hybrid"
    assert [(h["doc_id"], h["start"], h["end"], h["answer"]) for h in output["results"]] == [
        (r.doc_id, r.start, r.end, r.answer) for r in expected]
    first = output["results"][0]
    assert first["answer"] is not None and first["confidence"] is not None and first["answer_score"] is not None
    for hit in output["results"]:
        assert_cited(local, hit)
    readable = result.content[0].text  # the same results as text: citation, answer, evidence
    assert f"[{first['doc_id']} {first['start']}-{first['end']}]" in readable
    assert f"答案: {first['answer']}" in readable and first["evidence"] in readable


def test_search_finds_a_seed_questions_article(local: Client):
    record = next(r for r in map(json.loads, (REPO_ROOT / "eval" / "questions.jsonl").open(encoding="utf-8"))
                  if r["id"] == EVAL_QUESTION_ID)
    hits = local.ok("search", question=record["question"])["results"]
    assert len(hits) == 5
    cited = [h for h in hits if h["doc_id"] == record["doc_id"]]
    assert cited and any(answer in h["text"] for h in cited for answer in record["answers"])
    document = local.ok("get_document", doc_id=record["doc_id"])
    assert document["doc_id"] == record["doc_id"] and document["title"] and document["text"]


def test_single_retriever_mode(local: Client):
    output = local.ok("search", question=QUESTION, k=2, mode="bm25")
    assert output["mode"] == "bm25" and output["no_answer"] is None
    assert len(output["results"]) == 2 and all(h["confidence"] is None for h in output["results"])
    for hit in output["results"]:
        assert_cited(local, hit)


def test_search_with_a_filter_stays_inside_it(local: Client, remote: Client):
    best = local.ok("search", question=QUESTION, k=1)["results"][0]
    others = [h for h in local.ok("search", question=QUESTION, k=10, filter={"metadata": {"title": best["title"]}})[
        "results"]]
    assert others and {h["doc_id"] for h in others} == {best["doc_id"]}
    assert others[0]["metadata"]["title"] == best["title"]
    assert local.ok("get_document", doc_id=best["doc_id"])["metadata"] == best["metadata"]
    excluded = local.ok("search", question=QUESTION, k=5, filter={"doc_id": ["no-such-doc"]})
    assert excluded["results"] == []
    assert "filter.date.gte" in local.error("search", question=QUESTION, filter={"date": {"gte": "2025-13"}})
    assert remote.ok("search", question=QUESTION, k=3, filter={"doc_id": best["doc_id"]}) == local.ok(
        "search", question=QUESTION, k=3, filter={"doc_id": best["doc_id"]})


@pytest.mark.parametrize(("tool", "arguments", "message"), [
    ("search", {"question": "   "}, "the question is empty"),
    ("search", {"question": QUESTION, "k": 0}, "k must be from 1 to 50, got 0"),
    ("search", {"question": QUESTION, "k": 51}, "k must be from 1 to 50, got 51"),
    ("search", {"question": "问" * 600}, "the limit is 512"),
    ("search", {"question": QUESTION, "mode": "fuzzy"}, "'hybrid', 'bm25' or 'dense'"),
    ("search", {}, "question\n  Field required"),
    ("get_document", {"doc_id": "no-such-doc"}, "no document with id 'no-such-doc' in the index"),
    ("no_such_tool", {}, "no_such_tool"),
])
def test_bad_input_is_a_tool_error(local: Client, tool: str, arguments: dict[str, Any], message: str):
    assert message in local.error(tool, **arguments)
    assert local.ok("search", question=QUESTION, k=1)["results"]  # and the server still answers


def test_over_a_server_url(remote: Client, local: Client):
    """--url: the same results and documents through a running qa serve, and its errors as tool errors."""
    assert local.ok("search", question=QUESTION, k=3) == remote.ok("search", question=QUESTION, k=3)
    hit = remote.ok("search", question=QUESTION, k=1)["results"][0]
    assert_cited(remote, hit)
    assert remote.ok("get_document", doc_id=hit["doc_id"]) == local.ok("get_document", doc_id=hit["doc_id"])
    assert "no document with id 'no-such-doc'" in remote.error("get_document", doc_id="no-such-doc")
    assert "the question is empty" in remote.error("search", question="  ")


def test_without_the_sdk_qa_mcp_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]):
    for name in [n for n in sys.modules if n.split(".")[0] in ("mcp", "mcp_types")] + ["mcp"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed: imports fail
    monkeypatch.delitem(sys.modules, "zhqa.adapters.mcp", raising=False)
    assert main(["mcp"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "qa: error: qa mcp needs the MCP SDK: pip install 'zhqa[mcp]'\n"

"""The search page in real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from matplotlib.image import imread
from playwright.sync_api import expect, sync_playwright

from eval.bench.server import running_server
from index.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "Debian's chromium is not installed: run `make test`, which installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_search_then_open_the_citation(browser, live_server):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(live_server["url"] + "/")
    page.fill("#q", "嘉兴经开区党委书记是谁")
    page.press("#q", "Enter")
    first = page.locator("li.result").first
    expect(first).to_contain_text("章澜", timeout=60_000)
    expect(first.locator(".cite")).to_contain_text("002_f452990c5d0afd35")
    expect(first.locator(".date")).to_contain_text("2026-01")
    expect(first.locator("mark.evidence")).to_contain_text("章澜")
    assert "q=" in page.url  # the search can be shared
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)

    first.locator(".cite").click()
    cited = page.locator("mark#cited")
    expect(cited).to_contain_text("章澜", timeout=30_000)
    expect(cited).to_be_in_viewport()
    expect(page.locator("#article-title")).to_contain_text("嘉兴经开区")
    page.screenshot(path=str(ARTIFACTS / "article-cited-span.png"))


def test_no_answer_notice(browser, live_server):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(live_server["url"] + "/?q=杭州湾跨海大桥全长多少公里？")
    expect(page.locator("li.result").first).to_be_visible(timeout=60_000)
    expect(page.locator("#no-answer")).to_be_visible()
    expect(page.locator("#no-answer")).to_contain_text("没有找到可靠的答案")
    page.screenshot(path=str(ARTIFACTS / "search-no-answer.png"), full_page=True)
    page.goto(live_server["url"] + "/?q=嘉兴经开区党委书记是谁")
    expect(page.locator("li.result").first).to_contain_text("章澜", timeout=60_000)
    expect(page.locator("#no-answer")).to_be_hidden()
    expect(page.locator("li.result .score").first).to_contain_text("可信度")


def test_shared_url_runs_the_search(browser, live_server):
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(live_server["url"] + "/?q=昱能科技什么时候在科创板上市的")
    expect(page.locator("li.result").first).to_contain_text("2022年6月", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "search-phone.png"), full_page=True)


def test_empty_and_error_messages(browser, live_server):
    page = browser.new_page()
    page.goto(live_server["url"] + "/")
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_have_text("请输入问题。")
    page.fill("#q", "问" * 600)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("检索失败", timeout=30_000)
    expect(page.locator("#status")).to_have_class("error")


@pytest.mark.parametrize(("start", "end"), [("200", "100"), ("-5", "20"), ("10", "99999999"), ("x", "5")])
def test_a_bad_citation_range_shows_the_article_once_unmarked(browser, live_server, start, end):
    doc_id = "002_f452990c5d0afd35"
    text = httpx.get(f"{live_server['url']}/api/documents/{doc_id}", timeout=30).json()["text"]
    page = browser.new_page()
    page.goto(f"{live_server['url']}/?doc={doc_id}&start={start}&end={end}&q=x")
    expect(page.locator("#article-title")).to_contain_text("嘉兴经开区", timeout=30_000)
    assert page.locator("#article-text").text_content() == text  # every character once
    assert page.locator("mark#cited").count() == 0


def test_an_unknown_mode_in_the_url_falls_back_to_hybrid(browser, live_server):
    page = browser.new_page()
    page.goto(live_server["url"] + "/?q=嘉兴经开区党委书记是谁&mode=bogus")
    expect(page.locator("li.result").first).to_contain_text("章澜", timeout=60_000)
    assert page.locator("#mode").input_value() == "hybrid"


def _offline_page(browser, blocked: list[str], console: list[str]):
    """A page that can reach 127.0.0.1 only (every other request is aborted and recorded), and records
    console errors (Content-Security-Policy violations are reported there)."""
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1"
                  else (blocked.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    return page


def test_api_docs_render_offline_under_their_csp(browser, live_server):
    blocked, console = [], []
    page = _offline_page(browser, blocked, console)
    page.goto(live_server["url"] + "/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/search").first).to_be_visible()
    assert operations.count() >= 5  # GET and POST search, documents, one document, health
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert blocked == [] and not [m for m in console if "Content Security Policy" in m], (blocked, console)


def test_search_page_works_under_its_csp(browser, live_server):
    blocked, console = [], []
    page = _offline_page(browser, blocked, console)
    page.goto(live_server["url"] + "/?q=嘉兴经开区党委书记是谁")
    expect(page.locator("li.result").first).to_contain_text("章澜", timeout=60_000)
    page.locator("li.result .cite").first.click()
    expect(page.locator("mark#cited")).to_contain_text("章澜", timeout=30_000)
    assert blocked == [] and console == [], (blocked, console)


ANSWERED = "嘉兴高新区把什么工作作为“一号工程”？"  # seed q000-02: 招商引资
STYLE = """(element) => { const s = getComputedStyle(element);
  return {background: s.backgroundColor, weight: Number(s.fontWeight), decoration: s.textDecorationLine}; }"""


def _pixels_of(png: bytes, rgb: tuple[int, int, int]) -> int:
    """How many pixels of a screenshot have (nearly) this colour."""
    image = (imread(io.BytesIO(png), format="png")[..., :3] * 255).round()
    return int((np.abs(image - np.array(rgb)).max(axis=-1) <= 3).sum())


def test_the_answer_is_marked_inside_the_evidence(browser, live_server):
    # Seed question q000-02: a trained reader marks 招商引资 in the first result.
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(live_server["url"] + "/?q=" + ANSWERED)
    first = page.locator("li.result").first
    expect(first).to_be_visible(timeout=60_000)
    line = first.locator(".answer-line")
    expect(line).to_contain_text("答案：")
    expect(line.locator(".answer-text")).to_contain_text("招商引资")
    answer = first.locator("mark.evidence mark.answer")  # inside the evidence sentence's mark
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("招商引资")
    assert answer.text_content() == line.locator(".answer-text").text_content()
    assert first.locator("mark.answer").count() == 1  # no part of it outside the sentence
    evidence_style = first.locator("mark.evidence").evaluate(STYLE)
    answer_style = answer.evaluate(STYLE)
    assert answer_style["background"] != evidence_style["background"]
    assert answer_style["weight"] >= 700 > evidence_style["weight"] and "underline" in answer_style["decoration"]
    others = page.locator("li.result").nth(1)  # not read: no answer there
    expect(others).to_be_visible()
    assert others.locator(".answer-line").count() == 0 and others.locator("mark.answer").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-answer.png"), full_page=True)
    # What is seen: the answer in its own colour (--answer), inside the evidence's (--evidence).
    assert _pixels_of(answer.screenshot(), (0xff, 0xc4, 0x6b)) > 100
    assert _pixels_of(first.locator("mark.evidence").screenshot(), (0xff, 0xf3, 0xbf)) > 100


def test_offsets_count_code_points_as_the_api_does(browser, live_server):
    """Python counts a character outside the BMP (an emoji, a CJK Extension B ideograph) as one, a JS
    string as two: the page must mark the same characters as the API's offsets."""
    page = browser.new_page()
    page.goto(live_server["url"] + "/")
    text = "𠀀😀甲。乙𠀁丙😀丁。尾𠀂"
    evidence, answer = (4, 10), (5, 8)  # code points, as in the API
    marked = page.evaluate("""([text, evidence, answer]) => {
        const p = document.createElement("p");
        renderPassage(p, text, "", ...evidence, ...answer);
        const mark = (selector) => p.querySelector(selector) && p.querySelector(selector).textContent;
        return [p.textContent, mark("mark.evidence"), mark("mark.evidence > mark.answer"),
                p.querySelectorAll("mark").length];
    }""", [text, evidence, answer])
    assert marked == [text, text[slice(*evidence)], text[slice(*answer)], 2]


COLLECTIONS_TOKEN = "browser-collections-3e9d"
MARS = {"doc_id": "mars", "title": "火星基地", "text": "嘉兴的火星基地有三座塔。塔高一百米。", "source": "测试"}


@pytest.fixture(scope="module")
def collections_server(seed_index_dir, tmp_path_factory):
    """`qa serve --collections` with `default` and `science` (the seed index, plus a document about Mars)."""
    root = tmp_path_factory.mktemp("browser-collections") / "root"
    for name in ("default", "science"):
        shutil.copytree(seed_index_dir, root / name)
    with running_server(root, root.parent / "serve.log", {"QA_API_TOKEN": COLLECTIONS_TOKEN},
                        collections=True) as server:
        added = httpx.post(f"{server.url}/api/collections/science/documents", json=MARS, timeout=60,
                           headers={"Authorization": f"Bearer {COLLECTIONS_TOKEN}"})
        assert added.status_code == 201, added.text
        yield server.url


def test_the_collection_picker_is_hidden_with_one_collection(browser, live_server):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(live_server["url"] + "/?q=嘉兴经开区党委书记是谁")
    expect(page.locator("li.result").first).to_contain_text("章澜", timeout=60_000)
    expect(page.locator("#collection")).to_be_hidden()
    assert "c=" not in page.url


def test_the_collection_picker_searches_the_chosen_collection(browser, collections_server):
    blocked, console = [], []
    page = _offline_page(browser, blocked, console)  # under the page's CSP
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(collections_server + "/")
    picker = page.locator("#collection")
    expect(picker).to_be_visible(timeout=30_000)
    assert picker.locator("option").all_inner_texts() == ["默认文章集", "science"]
    page.fill("#q", "嘉兴的火星基地有几座塔？")
    page.press("#q", "Enter")  # the default collection has no such document
    expect(page.locator("li.result").first).to_be_visible(timeout=60_000)
    assert "mars" not in page.locator("li.result .cite").first.inner_text()
    picker.select_option("science")
    page.press("#q", "Enter")
    first = page.locator("li.result").first
    expect(first.locator(".cite")).to_contain_text("mars", timeout=60_000)
    assert "c=science" in page.url  # the search can be shared, collection included
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-collection-picker.png"), full_page=True)
    assert _pixels_of(picker.screenshot(), (0xff, 0xff, 0xff)) > 100  # drawn, not hidden or zero-sized
    first.locator(".cite").click()  # the article comes from the same collection
    expect(page.locator("mark#cited")).to_contain_text("三座塔", timeout=30_000)
    page.reload()  # the URL alone brings the picker back on science
    expect(page.locator("#collection")).to_have_value("science", timeout=30_000)
    assert blocked == [] and console == [], (blocked, console)

"""Several named indexes in one real `qa serve --collections DIR`: listing, searching each, the default
routes, creating and deleting (with the token, only index folders), bad and unknown names, a write to
one collection while another is searched, and Dify's knowledge_id as a collection."""

from __future__ import annotations

import shutil
import threading

import httpx
import pytest

from eval.bench.server import ServerStartError, running_server

TOKEN = "collections-token-41b7"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MARS = {"doc_id": "mars", "title": "火星基地", "text": "嘉兴的火星基地有三座塔。塔高一百米。", "source": "测试"}
MARS_QUESTION = "嘉兴的火星基地有几座塔？"
SEED_QUESTION = "嘉兴经开区党委书记是谁"


@pytest.fixture(scope="module")
def served(seed_index_dir, tmp_path_factory):
    """Collections `default`, `news` and `science` (copies of the seed index), a folder that is not an
    index, and `mars` added to `science` only, so searches tell the collections apart."""
    root = tmp_path_factory.mktemp("collections") / "root"
    for name in ("default", "news", "science"):
        shutil.copytree(seed_index_dir, root / name)
    (root / "notes").mkdir()
    (root / "notes" / "mine.txt").write_text("the user's own file", encoding="utf-8")
    log = root.parent / "serve.log"
    try:
        with running_server(root, log, {"QA_API_TOKEN": TOKEN}, collections=True) as server:
            added = httpx.post(f"{server.url}/api/collections/science/documents", json=MARS, headers=AUTH,
                               timeout=60)
            assert added.status_code == 201, added.text
            yield {"url": server.url, "root": root}
    except ServerStartError as exc:
        pytest.fail(str(exc))


def top_doc(url: str, path: str, question: str = MARS_QUESTION) -> str:
    response = httpx.get(f"{url}{path}", params={"q": question, "k": 1}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["doc_id"]


def test_lists_the_collections_with_their_counts(served):
    body = httpx.get(f"{served['url']}/api/collections").json()
    counts = {c["name"]: (c["documents"], c["passages"]) for c in body["collections"]}
    assert set(counts) == {"default", "news", "science"}  # notes/ is not an index
    assert counts["science"][0] == counts["news"][0] + 1 and counts["science"][1] == counts["news"][1] + 1
    assert body["default"] == "default"


def test_each_collection_searches_its_own_index(served):
    url = served["url"]
    assert top_doc(url, "/api/collections/science/search") == "mars"
    assert top_doc(url, "/api/collections/news/search") != "mars"
    post = httpx.post(f"{url}/api/collections/science/search", json={"q": MARS_QUESTION, "k": 1,
                      "filter": {"doc_id": "mars"}, "min_confidence": 0.0}, timeout=60)
    assert post.status_code == 200 and post.json()["results"][0]["doc_id"] == "mars", post.text
    assert httpx.get(f"{url}/api/collections/science/documents/mars").json()["text"] == MARS["text"]
    listed = httpx.get(f"{url}/api/collections/news/documents").json()["documents"]
    assert "mars" not in {d["doc_id"] for d in listed}


def test_the_old_routes_are_the_default_collection(served):
    url = served["url"]
    assert top_doc(url, "/api/search") != "mars"
    assert top_doc(url, "/api/search", SEED_QUESTION) == top_doc(url, "/api/collections/default/search",
                                                                  SEED_QUESTION)
    assert httpx.get(f"{url}/api/documents/mars").status_code == 404


@pytest.mark.parametrize("path", ["/api/collections/%2E%2E/search?q=x", "/api/collections/.hidden/documents",
                                  "/api/collections/a.b/search?q=x"])
def test_a_bad_name_in_the_path_is_422_naming_it(served, path):
    response = httpx.get(f"{served['url']}{path}")
    assert response.status_code == 422 and "name" in response.json()["error"]["message"], response.text


@pytest.mark.parametrize("name", ["..", "a/b", ".x", "", "a" * 65, "名字", "a b"])
def test_a_bad_name_to_create_is_422_naming_it(served, name):
    response = httpx.post(f"{served['url']}/api/collections", json={"name": name, "documents": [MARS]},
                          headers=AUTH)
    assert response.status_code == 422 and "name" in response.json()["error"]["message"], response.text
    assert sorted(p.name for p in served["root"].iterdir() if not p.name.startswith(".")) == [
        "default", "news", "notes", "science"]


def test_an_unknown_collection_is_404(served):
    url = served["url"]
    for response in (httpx.get(f"{url}/api/collections/nope/search", params={"q": "问题"}),
                     httpx.get(f"{url}/api/collections/nope/documents"),
                     httpx.post(f"{url}/api/collections/nope/documents", json=MARS, headers=AUTH),
                     httpx.delete(f"{url}/api/collections/nope", headers=AUTH)):
        assert response.status_code == 404, response.text
        assert "/api/collections" in response.json()["error"]["message"]


def test_create_search_and_delete_need_the_token(served):
    url, root = served["url"], served["root"]
    body = {"name": "moon", "documents": [{**MARS, "doc_id": "moon", "text": "嘉兴的月球工厂有七台机器。"}]}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert httpx.post(f"{url}/api/collections", json=body, headers=headers).status_code == 401
    created = httpx.post(f"{url}/api/collections", json=body, headers=AUTH, timeout=60)
    assert created.status_code == 201 and created.json()["documents"] == 1, created.text
    assert httpx.post(f"{url}/api/collections", json=body, headers=AUTH).status_code == 409  # exists
    assert top_doc(url, "/api/collections/moon/search", "月球工厂有几台机器") == "moon"
    assert "moon" in {c["name"] for c in httpx.get(f"{url}/api/collections").json()["collections"]}

    assert httpx.delete(f"{url}/api/collections/moon").status_code == 401
    assert (root / "moon").is_dir()
    deleted = httpx.delete(f"{url}/api/collections/moon", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json() == {"name": "moon", "deleted": True}
    assert not (root / "moon").exists()
    assert httpx.get(f"{url}/api/collections/moon/documents").status_code == 404


def test_deleting_never_removes_a_folder_that_is_not_an_index(served):
    url, root = served["url"], served["root"]
    assert httpx.delete(f"{url}/api/collections/notes", headers=AUTH).status_code == 404
    assert (root / "notes" / "mine.txt").read_text(encoding="utf-8") == "the user's own file"
    body = {"name": "victim", "documents": [{**MARS, "doc_id": "v"}]}
    assert httpx.post(f"{url}/api/collections", json=body, headers=AUTH, timeout=60).status_code == 201
    (root / "victim" / "manifest.json").unlink()  # no longer an index this program wrote
    (root / "victim" / "mine.txt").write_text("keep me", encoding="utf-8")
    refused = httpx.delete(f"{url}/api/collections/victim", headers=AUTH)
    assert refused.status_code == 409 and "nothing was deleted" in refused.json()["error"]["message"]
    assert (root / "victim" / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_a_write_to_one_collection_does_not_block_searches_of_another(served):
    url = served["url"]
    writes: list[int] = []

    def write() -> None:
        for i in range(3):
            doc = {**MARS, "doc_id": f"busy-{i}", "text": f"嘉兴的第{i}座新桥今年通车。" * 40}
            writes.append(httpx.put(f"{url}/api/collections/news/documents/busy-{i}", json=doc, headers=AUTH,
                                    timeout=120).status_code)

    writer = threading.Thread(target=write)
    writer.start()
    searched = 0
    while writer.is_alive() or searched < 3:
        assert top_doc(url, "/api/collections/science/search") == "mars"
        searched += 1
    writer.join()
    assert writes == [201, 201, 201]


def test_dify_knowledge_id_is_a_collection(served):
    url = served["url"]
    body = {"knowledge_id": "science", "query": MARS_QUESTION, "retrieval_setting": {"top_k": 1, "score_threshold": 0}}
    records = httpx.post(f"{url}/retrieval", json=body, headers=AUTH, timeout=60).json()["records"]
    assert records[0]["metadata"]["doc_id"] == "mars"
    unknown = httpx.post(f"{url}/retrieval", json={**body, "knowledge_id": "finance"}, headers=AUTH).json()
    assert unknown["error_code"] == 2001 and "'science'" in unknown["error_msg"]


def test_a_single_index_server_is_the_collection_default(live_server):
    url = live_server["url"]
    listed = httpx.get(f"{url}/api/collections").json()
    assert [c["name"] for c in listed["collections"]] == ["default"]
    assert top_doc(url, "/api/collections/default/search", SEED_QUESTION) == top_doc(url, "/api/search",
                                                                                      SEED_QUESTION)

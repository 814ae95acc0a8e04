"""The Milvus backend on real Milvus Lite: a build of the seed corpus, the accuracy gate against the
local backend in the same run, citations, restart, live documents, and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval.benchmarks import benchmarks, open_or_build
from eval.gate import GATED_MODE, gate_failures, load_expected
from eval.runner import ACCURACY_METRICS, evaluate
from index.ingest.documents import Document
from index.live import FollowingSearcher, add_documents, remove_documents
from index.retrieve.backends import BackendError, backend_of
from index.retrieve.backends.milvus import LITE_FILE, MilvusLoadedIndex, disconnect, resolve_uri
from index.retrieve.backends.milvus_write import build_milvus_index, copy_local_index
from index.search import Searcher
from index.store import MANIFEST
from tests.conftest import SEED_CORPUS


@pytest.fixture(scope="module")
def milvus_seed_dir(tmp_path_factory, settings, embedder) -> Path:
    """The seed corpus built into Milvus Lite from scratch (cleaned, split, embedded, written)."""
    index_dir = tmp_path_factory.mktemp("milvus") / "seed"
    with_token = settings.model_copy(update={"milvus_token": "s3cret-value"})  # must never reach the disk
    report = build_milvus_index(SEED_CORPUS, index_dir, with_token, embedder, progress=False)
    assert report.documents == 5 and report.passages > 100
    return index_dir


@pytest.fixture(scope="module")
def milvus_searcher(milvus_seed_dir, settings, embedder) -> Searcher:
    return Searcher.open(milvus_seed_dir, settings, embedder)


def _within_tolerance_of_local(name: str, local, milvus, expected) -> None:
    """Every default-mode metric of the Milvus index within the gate's tolerance of the local one's,
    and the recorded gate passed by both."""
    tolerance = expected["tolerance"]
    local_reports = evaluate(local, questions := benchmarks(local.settings)[name].load_questions(), (GATED_MODE,))
    milvus_reports = evaluate(milvus, questions, (GATED_MODE,))
    differences = {m: round(milvus_reports[GATED_MODE].overall[m] - local_reports[GATED_MODE].overall[m], 4)
                   for m in ACCURACY_METRICS}
    assert all(abs(d) <= tolerance for d in differences.values()), differences
    assert gate_failures(name, milvus_reports, expected) == []
    assert milvus_reports[GATED_MODE].unanswerable["responses_with_overlap"] == 0


def test_manifest_names_backend_uri_collections_and_model(milvus_seed_dir, milvus_searcher):
    manifest = json.loads((milvus_seed_dir / MANIFEST).read_text())
    assert manifest["backend"] == "milvus" and backend_of(milvus_seed_dir) == "milvus"
    assert manifest["milvus"]["uri"] == LITE_FILE and (milvus_seed_dir / LITE_FILE).is_dir()
    assert set(manifest["milvus"]["collections"]) == {"passages", "documents", "meta"}
    assert manifest["model"]["weights_sha256"] and "s3cret" not in (milvus_seed_dir / MANIFEST).read_text()
    assert isinstance(milvus_searcher.index, MilvusLoadedIndex)
    assert not any(p.suffix in (".faiss", ".jsonl", ".npy") for p in milvus_seed_dir.iterdir())


@pytest.mark.parametrize("name", ["seed", "seed-traditional"])  # traditional: the OpenCC copy Milvus analyses
def test_seed_gate_within_tolerance_of_local(name, searcher, milvus_searcher):
    _within_tolerance_of_local(name, searcher, milvus_searcher, load_expected())


def test_cmrc_gate_within_tolerance_of_local(settings, embedder, tmp_path_factory):
    """The CMRC subset CI gates, on the same vectors: the local index copied into Milvus, so only
    the backend differs (Milvus's own BM25 and vector search against bm25s and FAISS)."""
    bench = benchmarks(settings)["cmrc2018-heldout"]
    root = tmp_path_factory.mktemp("cmrc")
    local = open_or_build(bench, root / "local", settings, embedder)
    copy_local_index(root / "local", root / "milvus", settings)
    milvus = Searcher.open(root / "milvus", settings, embedder)
    assert len(milvus.index.passages) == len(local.index.passages)
    _within_tolerance_of_local("cmrc2018-heldout", local, milvus, load_expected())


def test_documents_round_trip_and_citations_point_into_them(searcher, milvus_searcher):
    assert milvus_searcher.index.documents == searcher.index.documents  # long texts are chunked and rejoined
    assert [(p.doc_id, p.start, p.end) for p in milvus_searcher.index.passages] == \
        [(p.doc_id, p.start, p.end) for p in searcher.index.passages]
    for question in ("嘉兴经开区党委书记是谁", "嘉興高新區2025年規上工業企業研發經費預計達到多少？", "招商引资"):
        for mode in ("hybrid", "bm25", "dense"):
            response = milvus_searcher.search(question, 5, mode)
            assert response.results
            for r in response.results:
                document = milvus_searcher.index.documents[r.doc_id].text
                assert r.text == document[r.start:r.end]
                assert r.evidence.text == document[r.evidence.start:r.evidence.end]
    top = milvus_searcher.search("嘉兴经开区党委书记是谁", 1).results[0]
    assert "章澜" in top.text and top.scores["bm25"] > 0 and top.scores["dense"] > 0


def test_bm25_scores_are_positive_and_ordered(milvus_searcher):
    """Milvus Lite returns BM25 distances negated; the backend turns them into scores, best first."""
    view = milvus_searcher.question_view("嘉兴经开区党委书记是谁")
    hits = milvus_searcher.retriever.lexical_search(view.text, view.tokens, 20)
    scores = [score for _, score in hits.hits]
    assert scores and all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)
    ids = [pid for pid, _ in hits.hits]
    outside = [i for i in range(len(milvus_searcher.index.passages)) if i not in ids][:5]
    again = hits.scores(ids[:3] + outside)  # scores of passages outside the top come from a filtered search
    assert list(again[:3]) == pytest.approx(scores[:3])
    assert all(s >= 0 for s in again[3:])


def test_reopening_after_close_finds_the_same(milvus_seed_dir, milvus_searcher, settings, embedder):
    before = milvus_searcher.search("嘉兴经开区党委书记是谁", 3).to_dict()["results"]
    disconnect(resolve_uri(milvus_seed_dir, LITE_FILE))  # the database closed, as when the process ends
    reopened = Searcher.open(milvus_seed_dir, settings, embedder)
    assert len(reopened.index.passages) == len(milvus_searcher.index.passages)
    assert reopened.search("嘉兴经开区党委书记是谁", 3).to_dict()["results"] == before


@pytest.fixture
def milvus_copy(seed_index_dir, tmp_path, settings) -> Path:
    """A private Milvus index holding the seed index's data (copied, not re-embedded)."""
    copy_local_index(seed_index_dir, tmp_path / "milvus", settings)
    return tmp_path / "milvus"


def test_add_replace_remove_and_a_follower_sees_each(milvus_copy, settings, embedder):
    live = FollowingSearcher(Searcher.open(milvus_copy, settings, embedder), milvus_copy)
    question = "青蛙王子在哪个池塘里唱歌？"
    article = Document("frog-1", "池塘", "青蛙王子每天晚上都在月亮池塘里唱歌，附近的居民都很喜欢他的歌声。" * 3)
    added = add_documents(milvus_copy, [article], settings, embedder, progress=False)
    assert added.added == ["frog-1"] and added.documents == 6
    result = live.current().search(question, 1, "bm25").results[0]
    assert result.doc_id == "frog-1" and result.text == article.text[result.start:result.end]

    replacement = Document("frog-1", "池塘", "青蛙王子搬到了太阳湖边，在那里唱歌。" * 3)
    replaced = add_documents(milvus_copy, [replacement], settings, embedder, progress=False)
    assert replaced.replaced == ["frog-1"] and replaced.documents == 6
    current = live.current()
    assert current.index.documents["frog-1"].text == replacement.text
    assert sum(p.doc_id == "frog-1" for p in current.index.passages) == replaced.passages["frog-1"]

    removed = remove_documents(milvus_copy, ["frog-1"], settings)
    assert removed.documents == 5
    assert "frog-1" not in live.current().index.documents
    assert all(r.doc_id != "frog-1" for r in live.current().search(question, 5, "bm25").results)


def test_unknown_id_removes_nothing(milvus_copy, settings):
    from index.live import UnknownDocumentError

    with pytest.raises(UnknownDocumentError, match="no-such-id"):
        remove_documents(milvus_copy, ["no-such-id"], settings)


def test_a_missing_collection_is_a_clear_error(milvus_copy, settings, embedder):
    manifest = json.loads((milvus_copy / MANIFEST).read_text())
    manifest["milvus"]["collections"]["documents"] = "zhqa_gone_documents"
    (milvus_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackendError, match="zhqa_gone_documents.*no longer has.*qa index --backend milvus"):
        Searcher.open(milvus_copy, settings, embedder)


def test_a_missing_lite_file_is_a_clear_error(milvus_copy, settings, embedder):
    disconnect(resolve_uri(milvus_copy, LITE_FILE))
    shutil.rmtree(milvus_copy / LITE_FILE)
    with pytest.raises(BackendError, match="Milvus Lite database milvus.db, which is missing"):
        Searcher.open(milvus_copy, settings, embedder)


def test_an_unreachable_server_is_named_and_never_replaced_by_local_files(milvus_copy, settings, embedder):
    manifest = json.loads((milvus_copy / MANIFEST).read_text())
    manifest["milvus"]["uri"] = "http://127.0.0.1:9"
    (milvus_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackendError, match=r"cannot reach Milvus at http://127\.0\.0\.1:9"):
        Searcher.open(milvus_copy, settings.model_copy(update={"milvus_timeout": 2.0}), embedder)


def test_credentials_in_the_uri_are_refused(tmp_path, settings, embedder):
    with pytest.raises(BackendError, match="QA_MILVUS_TOKEN"):
        build_milvus_index(SEED_CORPUS, tmp_path / "x", settings.model_copy(
            update={"milvus_uri": "http://root:secret@127.0.0.1:9"}), embedder, progress=False)
    assert not (tmp_path / "x").exists()


def test_an_index_of_another_model_is_an_error_not_a_local_rebuild(milvus_copy, settings, embedder):
    """The evaluation rebuilds a stale index; a Milvus one must not come back as local files."""
    manifest = json.loads((milvus_copy / MANIFEST).read_text())
    manifest["model"]["weights_sha256"] = "another-model"
    (milvus_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackendError, match="different embedding model.*qa index --backend milvus"):
        open_or_build(benchmarks(settings)["seed"], milvus_copy, settings, embedder)
    assert json.loads((milvus_copy / MANIFEST).read_text())["backend"] == "milvus"


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_filtered_search_stays_inside_the_filter_as_the_local_backend_does(searcher, milvus_seed_dir, settings,
                                                                          embedder, mode):
    question = "嘉兴经开区党委书记是谁"
    milvus_searcher = Searcher.open(milvus_seed_dir, settings, embedder)  # its own: an earlier test disconnects
    best = milvus_searcher.search(question, 1, mode).results[0].doc_id
    others = sorted(set(milvus_searcher.index.documents) - {best})
    for document_filter in ({"doc_id": others}, {"doc_id": best}, {"date": {"lte": "2025-12"}}):
        milvus = milvus_searcher.search(question, 5, mode, filter=document_filter).results
        local = searcher.search(question, 5, mode, filter=document_filter).results
        wanted = document_filter.get("doc_id", list(milvus_searcher.index.documents))
        allowed = {d for d, doc in milvus_searcher.index.documents.items()
                   if d in wanted and doc.date[:7] <= document_filter.get("date", {}).get("lte", "9999")}
        assert len(milvus) == len(local) == 5  # each filter keeps five passages or more
        assert {r.doc_id for r in milvus} <= allowed and {r.doc_id for r in local} <= allowed
    assert milvus_searcher.search(question, 5, mode, filter={"doc_id": "no-such-doc"}).results == []


def test_metadata_is_kept_and_filtered_on_in_milvus(milvus_copy, settings, embedder):
    article = Document("frog-2", "池塘", "青蛙王子每天晚上都在月亮池塘里唱歌。" * 3, date="2026-06",
                       extra={"dept": "童话", "tags": ["青蛙", "池塘"]})
    add_documents(milvus_copy, [article], settings, embedder, progress=False)
    milvus = Searcher.open(milvus_copy, settings, embedder)
    assert milvus.index.documents["frog-2"].metadata == article.metadata
    results = milvus.search("青蛙王子在哪里唱歌", 5, "hybrid", filter={"metadata": {"tags": "青蛙"}}).results
    assert results and {r.doc_id for r in results} == {"frog-2"} and results[0].metadata["dept"] == "童话"

"""Adding, replacing and removing documents: exact BM25, only new documents embedded, nothing lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from eval.questions import load_seed_questions
from index.build import build_index
from index.ingest.documents import Document, load_corpus
from index.live import UnknownDocumentError, add_documents, remove_documents
from index.search import Searcher
from index.store import RETIRED_PREFIX, load_index, read_manifest
from tests.conftest import SEED_CORPUS

NEW = Document("new-1", "嘉兴新区的银杏树", "嘉兴新区今年种了三千棵银杏树。新区还建了一座图书馆，藏书二十万册。" * 4,
               source="测试", date="2026-01")


def _scores_by_passage(searcher: Searcher, question: str) -> dict[tuple[str, int, int], float]:
    scores = searcher.index.lexical.scores(searcher.tokenizer(question))
    return {(p.doc_id, p.start, p.end): round(float(s), 5) for p, s in zip(searcher.index.passages, scores,
                                                                           strict=True)}


def test_an_index_changed_by_adds_and_removes_ranks_exactly_like_a_fresh_build(index_copy, tmp_path, settings,
                                                                                embedder):
    documents = load_corpus(SEED_CORPUS).documents
    first, second = documents[0], documents[1]
    remove_documents(index_copy, [first.doc_id, second.doc_id], settings)
    add_documents(index_copy, [NEW, first], settings, embedder, progress=False)
    report = add_documents(index_copy, [second], settings, embedder, progress=False)
    assert report.added == [second.doc_id] and report.documents == len(documents) + 1

    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "new-1.txt").write_text(NEW.text, encoding="utf-8")
    (corpus / "new-1.meta.json").write_text('{"title": "嘉兴新区的银杏树", "source": "测试", "date": "2026-01"}',
                                            encoding="utf-8")
    build_index(corpus, tmp_path / "fresh", settings, embedder, progress=False)

    changed = Searcher.open(index_copy, settings, embedder)
    fresh = Searcher.open(tmp_path / "fresh", settings, embedder)
    assert sorted(changed.index.documents) == sorted(fresh.index.documents)
    for question in [q.question for q in load_seed_questions()[::10]] + ["嘉兴新区种了多少棵银杏树"]:
        assert _scores_by_passage(changed, question) == _scores_by_passage(fresh, question), question
        top_changed, top_fresh = changed.search(question, k=3), fresh.search(question, k=3)
        assert [(r.doc_id, r.start) for r in top_changed.results] == [(r.doc_id, r.start) for r in top_fresh.results]
    assert changed.search("嘉兴新区今年种了多少棵银杏树？", k=1).results[0].doc_id == "new-1"


def test_replacing_a_document_embeds_only_it_and_keeps_the_others_vectors(index_copy, settings, embedder):
    before = load_index(index_copy, read_manifest(index_copy)["model"])
    kept = [i for i, p in enumerate(before.passages) if p.doc_id != before.passages[0].doc_id]
    old_vectors = before.dense.index.reconstruct_n(0, len(before.dense))[kept]
    target = before.documents[before.passages[0].doc_id]
    changed = Document(target.doc_id, target.title, target.text + "\n新增一段：嘉兴的第一座天文台今年开放。")
    report = add_documents(index_copy, [changed], settings, embedder, progress=False)
    assert report.replaced == [target.doc_id] and not report.added
    after = load_index(index_copy, read_manifest(index_copy)["model"])
    assert after.documents[target.doc_id].text.endswith("嘉兴的第一座天文台今年开放。")
    others = [i for i, p in enumerate(after.passages) if p.doc_id != target.doc_id]
    assert np.array_equal(after.dense.index.reconstruct_n(0, len(after.dense))[others], old_vectors)
    assert "updated_at" in after.manifest and after.manifest["counts"]["documents"] == len(before.documents)


def test_unknown_repeated_or_all_ids_change_nothing(index_copy, settings, embedder):
    manifest = (index_copy / "manifest.json").read_bytes()
    with pytest.raises(UnknownDocumentError, match="no document with id 'nope'"):
        remove_documents(index_copy, [next(iter(load_corpus(SEED_CORPUS).documents)).doc_id, "nope"], settings)
    with pytest.raises(UnknownDocumentError, match="empty"):
        remove_documents(index_copy, [d.doc_id for d in load_corpus(SEED_CORPUS).documents], settings)
    with pytest.raises(UnknownDocumentError, match="more than once"):
        add_documents(index_copy, [NEW, NEW], settings, embedder, progress=False)
    assert (index_copy / "manifest.json").read_bytes() == manifest


def test_concurrent_writers_take_turns_and_both_changes_land(index_copy, settings, embedder):
    others = [Document(f"turn-{i}", f"第{i}篇", f"嘉兴第{i}号测试文章的内容。" * 5) for i in range(2)]
    threads = [threading.Thread(target=add_documents, args=(index_copy, [doc], settings, embedder, False))
               for doc in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    index = load_index(index_copy, read_manifest(index_copy)["model"])
    assert {"turn-0", "turn-1"} <= set(index.documents)


def test_a_writer_killed_at_any_moment_leaves_the_index_as_before_or_after(index_copy, tmp_path, settings):
    big = tmp_path / "big.txt"
    big.write_text("\n".join(f"嘉兴第{i}段：新区今年新建了{i}座工厂，投资{i * 3}亿元。" * 3 for i in range(120)),
                   encoding="utf-8")
    qa = str(Path(sys.executable).with_name("qa"))
    before = read_manifest(index_copy)["counts"]["documents"]
    outcomes = set()
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0, 8.0):
        process = subprocess.Popen([qa, "add", str(big), "--index-dir", str(index_copy), "--quiet"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        manifest = read_manifest(index_copy)
        index = load_index(index_copy, manifest["model"])  # checks every file against its checksum
        outcomes.add(len(index.documents))
        assert len(index.documents) in (before, before + 1)
        if len(index.documents) == before + 1:
            remove_documents(index_copy, ["big"], settings)
    assert before in outcomes  # at least one kill landed before the swap


def test_a_kill_between_the_two_renames_is_recovered_on_the_next_load(index_copy):
    documents = read_manifest(index_copy)["counts"]["documents"]
    retired = index_copy.with_name(f"{RETIRED_PREFIX.format(name=index_copy.name)}{time.time_ns()}")
    index_copy.rename(retired)  # what a writer killed after its first rename leaves behind
    assert read_manifest(index_copy)["counts"]["documents"] == documents
    assert index_copy.is_dir() and not retired.exists()


def test_a_searcher_following_the_index_keeps_its_reader_after_an_update(index_copy, settings, embedder):
    from index.live.follow import FollowingSearcher

    live = FollowingSearcher(Searcher.open(index_copy, settings, embedder), index_copy)
    reader = live.current().reader
    assert reader is not None
    add_documents(index_copy, [NEW], settings, embedder, progress=False)
    after = live.current()
    assert after.index.documents.get(NEW.doc_id) is not None  # reloaded
    assert after.reader is reader and after.search("嘉兴新区今年种了多少棵银杏树？", k=1).read

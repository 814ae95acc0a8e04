"""The seed question set: well formed, answers verbatim, types and coverage as promised."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.questions import TYPES, load_seed_questions
from index.ingest.documents import load_corpus
from index.settings import REPO_ROOT


@pytest.fixture(scope="module")
def questions():
    return load_seed_questions()


@pytest.fixture(scope="module")
def documents():
    return {d.doc_id: d for d in load_corpus(REPO_ROOT / "corpus").documents}


def test_size_ids_and_types(questions):
    assert len(questions) >= 150
    assert len({q.id for q in questions}) == len(questions)
    counts = Counter(q.type for q in questions)
    assert set(counts) <= set(TYPES)
    assert counts["paraphrase"] >= 40 and counts["disambiguation"] >= 20 and counts["unanswerable"] >= 40
    assert counts["fact"] > 0 and counts["numeric"] > 0


def test_every_answer_is_verbatim_in_its_article(questions, documents):
    for q in questions:
        if q.type == "unanswerable":
            assert q.answers == () and q.gold_doc_ids == ()
            continue
        assert len(q.gold_doc_ids) == 1 and q.answers
        text = documents[q.gold_doc_ids[0]].text
        for answer in q.answers:
            assert answer in text, (q.id, answer)
            assert len(answer) <= 40, (q.id, answer)  # short: a figure, a name, a phrase


def test_articles_are_covered_in_proportion_to_length(questions, documents):
    counts = Counter(q.gold_doc_ids[0] for q in questions if q.gold_doc_ids)
    total_chars = sum(len(d.text) for d in documents.values())
    answerable = sum(counts.values())
    for doc_id, doc in documents.items():
        fair_share = answerable * len(doc.text) / total_chars
        assert abs(counts[doc_id] - fair_share) <= 0.15 * fair_share, (doc_id, counts[doc_id], fair_share)

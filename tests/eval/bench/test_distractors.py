"""The planted index of `qa bench --only distractors` (eval/bench/distractors.py), on the seed index:
distractors come only from eligible articles, split back into the sentences whose vectors they
carry, and the whole search pipeline runs over the base passages plus a few thousand of them."""

from __future__ import annotations

import numpy as np
import pytest

from eval.bench.distractors import (
    DOC_PREFIX,
    compare,
    dense_index,
    joinable,
    markdown_section,
    mean_of_sentences,
    plant,
    quality,
    sentence_pool,
    term_counts,
    with_dense,
)
from eval.questions import load_seed_questions
from eval.splits import is_held_out
from index.ingest.chunking import passage_sentences
from index.retrieve.lexical import TermCounts
from index.search import Searcher
from index.tokenize import ChineseTokenizer

N = 2_000


def eligible(title: str) -> bool:
    return not is_held_out(title)


@pytest.fixture(scope="module")
def pool(searcher):
    return sentence_pool([searcher.index], eligible, ChineseTokenizer())


@pytest.fixture(scope="module")
def planted(searcher, pool):
    return plant(searcher.index, pool, N, np.random.default_rng(3))


def test_a_joinable_sentence_is_whole_and_splits_back_into_itself():
    assert joinable("嘉兴位于浙江省。") and joinable("他说：“好。”")
    assert not joinable("嘉兴位于浙江") and not joinable("。嘉兴") and not joinable(" 嘉兴。")
    assert not joinable("嘉兴。位于浙江。") and not joinable("」嘉兴。")


def test_the_pool_holds_only_eligible_articles_sentences(searcher, pool):
    documents = list(searcher.index.documents.values())
    held_out = [d for d in documents if not eligible(d.title)]
    assert held_out and len(pool.titles) < len(documents), "the seed corpus should have a held-out article"
    assert all(eligible(title) for title in pool.titles)
    eligible_text = "".join(d.text for d in documents if eligible(d.title))
    assert all(text in eligible_text for text in pool.texts)
    assert len(pool.rows) == len(pool.texts) and pool.rows.max() < len(pool.vectors)


def test_distractors_split_back_into_the_sentences_whose_vectors_they_carry(searcher, planted, pool):
    index, base = planted.index, len(searcher.index.passages)
    assert len(index.passages) == base + N == index.lexical.n_passages == len(planted.vectors)
    assert index.passages[0] == searcher.index.passages[0]  # the base keeps its passage ids
    for i in range(base, base + N, 97):
        passage = index.passages[i]
        document = index.documents[passage.doc_id]
        assert passage.doc_id.startswith(DOC_PREFIX) and passage.text == document.text
        assert eligible(document.title)
        spans = passage_sentences(document.text, passage.start, passage.end)
        made = planted.distractors.sentences(i - base)
        assert [document.text[s.start:s.end] for s in spans] == [pool.texts[j] for j in made]
        assert len(index.sentences_of(i)) == len(spans)
        assert np.array_equal(index.sentences_of(i), pool.vectors[pool.rows[made]])
    assert np.array_equal(index.sentences_of(3), searcher.index.sentences_of(3))
    assert np.allclose(np.linalg.norm(planted.vectors, axis=1), 1.0, atol=1e-4)
    assert 2 <= np.diff(planted.distractors.start).mean() <= 6


def test_bm25_counts_are_the_title_and_sentence_tokens(pool, planted):
    tokenize = ChineseTokenizer()
    counts = term_counts(pool, planted.distractors, 10, 40)
    expected = TermCounts.of([tokenize(pool.titles[int(planted.distractors.article[i])])
                              + [t for j in planted.distractors.sentences(i) for t in tokenize(pool.texts[j])]
                              for i in range(10, 40)])
    assert np.array_equal(counts.lengths, expected.lengths)
    got = {(counts.vocab[c], int(r), int(t)) for c in range(len(counts.vocab))
           for r, t in zip(counts.rows[counts.indptr[c]:counts.indptr[c + 1]],
                           counts.tf[counts.indptr[c]:counts.indptr[c + 1]], strict=True)}
    want = {(expected.vocab[c], int(r), int(t)) for c in range(len(expected.vocab))
            for r, t in zip(expected.rows[expected.indptr[c]:expected.indptr[c + 1]],
                            expected.tf[expected.indptr[c]:expected.indptr[c + 1]], strict=True)}
    assert got == want


def test_a_real_passages_sentence_mean_gives_back_its_stored_vector(searcher):
    index = searcher.index
    for pid in range(0, len(index.passages), 25):
        assert float(mean_of_sentences(index, pid) @ index.dense.vectors_of(np.array([pid]))[0]) > 0.995


def test_the_whole_pipeline_runs_over_the_planted_index(searcher, planted, settings, embedder):
    questions = [q for q in load_seed_questions() if q.answerable][:6]
    vectors = embedder.embed_queries([q.question for q in questions])
    dense = dense_index(planted.vectors, settings)
    assert dense.kind == "flat" and len(dense) == len(planted.index.passages)
    large = Searcher(with_dense(planted.index, dense), embedder, settings, searcher.reranker.model, None)
    response = large.search(questions[0].question, 5, "hybrid", vectors[0], read=False)
    assert response.results and all(r.evidence.text for r in response.results)
    small, big = quality(searcher, questions, vectors), quality(large, questions, vectors)
    assert big["questions"] == small["questions"] == 6 and 0 <= big["hit@1"] <= big["hit@5"] <= 1
    assert big["fused_recall"] >= big["hit@5"] or big["fused_recall"] == 1.0
    versus = compare(small, big)
    assert versus["first_hits_lost"] >= versus["lost_to_a_distractor"] >= 0
    section = {"small": {"passages": len(searcher.index.passages), "dense_index": "flat", **small},
               "pool": {"sentences": 1, "articles": 1, "sentences_per_distractor": [2, 6]},
               "reconstruction": {"cosine": {"mean": 1, "p5": 1}, "random_pair_cosine_mean": 0.8},
               "sizes": {str(N): {"passages": len(planted.index.passages), "seconds": {"total": 1, **planted.seconds},
                                  "rss_mb": 1, "peak_rss_mb": 1,
                                  "runs": {"settings": {"dense_index": {"type": "IndexFlatIP", "storage": "fp32"},
                                                        "dense_build_s": 0.1, **big, "versus_small": versus}}}}}
    assert "## Quality at scale" in "\n".join(markdown_section(section))

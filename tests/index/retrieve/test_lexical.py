"""BM25 from term counts: the same scores as bm25s on the same tokens, however the passages are split into parts."""

from __future__ import annotations

import bm25s
import numpy as np

from index.build import chunking_config
from index.ingest.chunking import pack_passages
from index.ingest.documents import load_corpus
from index.retrieve.lexical import LexicalIndex, TermCounts
from index.tokenize import ChineseTokenizer
from tests.conftest import SEED_CORPUS


def _seed_tokens(settings) -> list[list[str]]:
    passages = [p for doc in load_corpus(SEED_CORPUS).documents
                for p in pack_passages(doc.text, doc.doc_id, chunking_config(settings))]
    return ChineseTokenizer().many([p.text for p in passages])


def _bm25s_scores(token_lists: list[list[str]], query: list[str]) -> np.ndarray:
    engine = bm25s.BM25()
    engine.index(token_lists, show_progress=False)
    known = [t for t in query if t in engine.vocab_dict]
    return engine.get_scores(known) if known else np.zeros(len(token_lists), dtype=np.float32)


def _queries(token_lists: list[list[str]]) -> list[list[str]]:
    rng = np.random.default_rng(3)
    picks = [list(rng.choice(token_lists[i], size=min(6, len(token_lists[i])))) for i in range(0, len(token_lists), 9)]
    return picks + [["南湖", "南湖", "嘉兴"], ["没有这个词"], []]


def test_scores_equal_bm25s_bit_for_bit(settings):
    tokens = _seed_tokens(settings)
    ours = LexicalIndex.build(tokens)
    for query in _queries(tokens):
        assert np.array_equal(ours.scores(query), _bm25s_scores(tokens, query)), query


def test_parts_with_removed_passages_score_like_bm25s_on_what_is_left(settings):
    tokens = _seed_tokens(settings)
    cuts = [0, 40, 41, 90, len(tokens)]
    parts = [TermCounts.of(tokens[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    dead = [np.arange(b - a) % 4 == 1 for a, b in zip(cuts, cuts[1:], strict=False)]
    assembled = LexicalIndex([part.without(d) for part, d in zip(parts, dead, strict=True)])
    left = [t for t, d in zip(tokens, np.concatenate(dead), strict=True) if not d]
    fresh = LexicalIndex.build(left)
    assert assembled.n_passages == len(left) and assembled.doc_freq == fresh.doc_freq
    for query in _queries(tokens):
        expected = _bm25s_scores(left, query)
        assert np.array_equal(assembled.scores(query), expected), query
        assert np.abs(assembled.scores(query) - expected).max(initial=0) < 1e-5
        assert assembled.search(query, 5) == fresh.search(query, 5)
    assert assembled.idf("南湖") == fresh.idf("南湖") > 0


def test_counts_merge_save_and_load(settings, tmp_path):
    tokens = _seed_tokens(settings)
    merged = TermCounts.concat([TermCounts.of(tokens[:30]), TermCounts.of(tokens[30:])])
    whole = TermCounts.of(tokens)
    merged.save(tmp_path)
    loaded = TermCounts.load(tmp_path)
    for counts in (merged, loaded):
        assert counts.n_passages == len(tokens) and np.array_equal(counts.lengths, whole.lengths)
        assert sorted(counts.vocab) == sorted(whole.vocab)
    query = ["嘉兴", "南湖", "经济"]
    assert np.array_equal(LexicalIndex([loaded]).scores(query), LexicalIndex([whole]).scores(query))

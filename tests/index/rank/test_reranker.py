"""The reranking stage's own arithmetic: what it computes faster must be what it computed before."""

from __future__ import annotations

import numpy as np

from index.rank.reranker import as_float32


def test_float16_vectors_become_the_same_float32_values_as_astype():
    every_pattern = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(256, 256)
    converted = as_float32(every_pattern)
    assert converted.dtype == np.float32 and converted.shape == (256, 256)
    assert np.array_equal(converted.view(np.uint32), every_pattern.astype(np.float32).view(np.uint32))
    assert as_float32(np.array([0.5], dtype=np.float64)).dtype == np.float32


def test_the_candidates_sentence_cosines_are_each_passages_own(searcher):
    views = searcher.reranker.views
    vector = searcher.embedder.embed_query("嘉兴经开区党委书记是谁")
    passage_ids = [5, 0, 17, 3, len(searcher.index.passages) - 1]
    many = views.sentence_cosines_many(passage_ids, vector)
    assert [len(c) for c in many] == [len(views.sentence_cosines(pid, vector)) for pid in passage_ids]
    for pid, cosines in zip(passage_ids, many, strict=True):
        expected = searcher.index.sentences_of(pid).astype(np.float32) @ vector.astype(np.float32)
        np.testing.assert_allclose(cosines, expected, rtol=0, atol=1e-6)
    assert all(np.isnan(c).all() for c in views.sentence_cosines_many(passage_ids, None))
    assert views.sentence_cosines_many([], vector) == []

"""Percentile summaries used by the benchmark."""

from __future__ import annotations

import pytest

from eval.bench.scale import synthetic_tokens, synthetic_vectors
from eval.bench.stats import median_with_spread, percentiles


def test_percentiles_by_hand():
    summary = percentiles(list(range(1, 101)))
    assert summary["p50"] == pytest.approx(50.5) and summary["p95"] == pytest.approx(95.05)
    assert summary["p99"] == pytest.approx(99.01) and summary["n"] == 100


def test_median_with_spread():
    assert median_with_spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": 3}


def test_synthetic_corpus_shapes():
    import numpy as np

    rng = np.random.default_rng(0)
    real = rng.standard_normal((10, 8)).astype("float32")
    vectors = synthetic_vectors(real, 25, rng, chunk=7)
    assert vectors.shape == (25, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    passages = synthetic_tokens([["a"], ["b", "c"]], 5, rng)
    assert len(passages) == 5 and all(2 <= len(p) <= 10 for p in passages)

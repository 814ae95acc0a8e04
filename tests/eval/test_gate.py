"""The accuracy gate on the seed questions and the CMRC subset, and the gate's own logic."""

from __future__ import annotations

import json

import pytest

from eval.benchmarks import benchmarks, open_or_build
from eval.gate import GATED_MODE, gate_failures, load_expected, record_expected
from eval.runner import ACCURACY_METRICS, evaluate
from index.settings import MODES


@pytest.fixture(scope="module")
def expected():
    return load_expected()


def test_expected_file_covers_the_gated_benchmarks(expected):
    assert 0 < expected["tolerance"] <= 0.05
    for name in ("seed", "cmrc2018-ci"):
        assert set(expected["benchmarks"][name][GATED_MODE]) == set(ACCURACY_METRICS)


def test_seed_gate(searcher, settings, expected):
    reports = evaluate(searcher, benchmarks(settings)["seed"].load_questions(), MODES)
    assert gate_failures("seed", reports, expected) == []


def test_cmrc_subset_gate(settings, embedder, expected, tmp_path_factory):
    bench = benchmarks(settings)["cmrc2018-ci"]
    searcher = open_or_build(bench, tmp_path_factory.mktemp("cmrc") / "index", settings, embedder)
    questions = bench.load_questions()
    assert len(questions) == 322
    reports = evaluate(searcher, questions, ("hybrid",))
    assert gate_failures("cmrc2018-ci", reports, expected) == []


def test_gate_fails_on_a_drop_and_recording_raises_the_bar(searcher, settings, tmp_path):
    questions = benchmarks(settings)["seed"].load_questions()[:30]
    reports = evaluate(searcher, questions, ("hybrid",))
    path = tmp_path / "expected.json"
    record_expected("seed", reports, path)
    recorded = json.loads(path.read_text())
    assert gate_failures("seed", reports, recorded) == []
    recorded["benchmarks"]["seed"]["hybrid"]["hit@1"] = reports["hybrid"].overall["hit@1"] + 0.05
    failures = gate_failures("seed", reports, recorded)
    assert len(failures) == 1 and "hit@1" in failures[0]
    assert gate_failures("unknown-benchmark", reports, recorded) == []

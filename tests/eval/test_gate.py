"""The accuracy gate on the seed questions and the CMRC subset, and the gate's own logic."""

from __future__ import annotations

import json

import pytest

from eval.benchmarks import benchmarks, open_or_build
from eval.gate import GATED_MODE, gate_failures, load_expected, record_expected
from eval.runner import ACCURACY_METRICS, evaluate


@pytest.fixture(scope="module")
def expected():
    return load_expected()


GATED = ("seed", "seed-traditional", "cmrc2018-heldout", "drcd-heldout")


def test_expected_file_covers_the_gated_benchmarks(expected):
    assert 0 < expected["tolerance"] <= 0.05
    for name in GATED:
        assert set(expected["benchmarks"][name][GATED_MODE]) == set(ACCURACY_METRICS)


@pytest.fixture(scope="module")
def seed_reports(searcher, settings):
    return evaluate(searcher, benchmarks(settings)["seed"].load_questions(), ("hybrid", "bm25"))


def _never_below_bm25(reports) -> None:
    hybrid, bm25 = reports["hybrid"].overall, reports["bm25"].overall
    for metric in ("hit@1", "mrr@10"):
        assert hybrid[metric] >= bm25[metric], (metric, hybrid[metric], bm25[metric])


def test_seed_gate(seed_reports, expected):
    assert gate_failures("seed", seed_reports, expected) == []
    _never_below_bm25(seed_reports)


def test_seed_no_answer_does_not_regress(seed_reports, expected):
    """no_answer on the seed set (the response-level model, index/rank/answerable.py), against the
    level recorded in eval/expected.json (the issue's target, 60% of unanswerable questions flagged
    at 5% of answerable ones, is not met yet)."""
    flagged = seed_reports["hybrid"].unanswerable
    recorded = expected["no_answer"]["seed"]
    assert flagged["questions"] >= 40
    # at least one question of slack: the int8 encoder's results differ slightly from one CPU to
    # another, and of 47 questions one (0.021) is more than the 0.02 tolerance (an AMD EPYC with
    # AVX2 catches 12 where the Intel machines that pinned the figure caught 13)
    count = flagged["questions"]
    caught, pinned = round(flagged["unanswerable_flagged"] * count), round(recorded["unanswerable_flagged"] * count)
    assert caught >= min(pinned - 1, pinned - expected["tolerance"] * count), flagged
    assert flagged["answerable_flagged"] <= recorded["answerable_flagged"] + expected["tolerance"], flagged


def test_no_response_has_overlapping_results(seed_reports):
    assert all(report.unanswerable["responses_with_overlap"] == 0 for report in seed_reports.values())


def test_traditional_questions_do_as_well_as_simplified(searcher, settings, seed_reports, expected):
    reports = evaluate(searcher, benchmarks(settings)["seed-traditional"].load_questions(), ("hybrid",))
    assert gate_failures("seed-traditional", reports, expected) == []
    assert reports["hybrid"].overall["hit@1"] >= seed_reports["hybrid"].overall["hit@1"] - 0.03


@pytest.mark.parametrize("name", ["cmrc2018-heldout", "drcd-heldout"])
def test_held_out_benchmark_gate(name, settings, embedder, expected, tmp_path_factory):
    bench = benchmarks(settings)[name]
    searcher = open_or_build(bench, tmp_path_factory.mktemp(name) / "index", settings, embedder)
    questions = bench.load_questions()
    assert len(questions) > 900
    reports = evaluate(searcher, questions, ("hybrid", "bm25"))
    assert gate_failures(name, reports, expected) == []
    _never_below_bm25(reports)
    assert reports["hybrid"].unanswerable["responses_with_overlap"] == 0
    # every question here is answerable: no_answer may flag only a few of them
    flagged = reports["hybrid"].unanswerable["answerable_flagged"]
    assert flagged <= expected["no_answer"][name]["answerable_flagged"] + expected["tolerance"], flagged


def test_held_out_questions_share_no_article_with_training(settings):
    from eval.questions import load_benchmark_questions

    for bench_dir in (settings.cmrc_dir, settings.drcd_dir):
        held_out = {g for q in load_benchmark_questions(bench_dir, "heldout") for g in q.gold_doc_ids}
        train = {g for q in load_benchmark_questions(bench_dir, "train") for g in q.gold_doc_ids}
        assert held_out and train and not held_out & train


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

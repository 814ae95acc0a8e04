"""`qa eval`: run a benchmark in every mode, print tables, write the report, apply the gate."""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.modes import BENCHMARKS, EVAL_MODES, NO_RERANK
from index.console import log
from index.settings import Settings


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.benchmarks import benchmarks, open_or_build
    from eval.gate import gate_failures, load_expected, record_expected
    from eval.report import mode_table, write_report
    from eval.runner import evaluate
    from index.encoder.embedder import load_embedder

    known = benchmarks(settings)
    names = list(known) if args.benchmark == "all" else [args.benchmark]
    embedder = load_embedder(settings, log=log)
    report_dir = Path(args.report_dir) if args.report_dir else settings.report_dir
    all_failures: list[str] = []
    for name in names:
        bench = known[name]
        index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir_for(bench.corpus)
        searcher = open_or_build(bench, index_dir, settings, embedder, log=log)
        questions = bench.load_questions()
        log(f"Evaluating {name}: {len(questions)} questions x {len(args.modes)} modes ...")
        modes = tuple(m + NO_RERANK if args.no_rerank and m == "hybrid" else m for m in args.modes)
        reports = evaluate(searcher, questions, tuple(dict.fromkeys(modes)))
        failures = gate_failures(name, reports, load_expected())
        for report in reports.values():
            print(f"\n### {name}: {report.mode}\n{mode_table(report)}")
        path = write_report(name, bench.description, reports, report_dir, failures)
        log(f"Report: {path}")
        if args.update_expected:
            record_expected(name, reports)
            log(f"Recorded {name} as the expected scores in eval/expected.json")
        all_failures += failures
    for failure in all_failures:
        log(f"GATE FAILED: {failure}")
    return 1 if all_failures and not args.update_expected else 0


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("eval", help="measure retrieval accuracy against known answers",
                       description="Run a benchmark's questions in each mode; print Hit@1/3/5, MRR@10, "
                       "nDCG@10 and evidence Hit@1, write eval/report/, and fail when the default mode "
                       "drops below eval/expected.json minus its tolerance.")
    p.add_argument("--benchmark", default="seed", choices=[*BENCHMARKS, "all"],
                   help="seed (default): the bundled articles; seed-traditional: its questions in traditional "
                   "characters; cmrc2018 / drcd: every question; cmrc2018-heldout / drcd-heldout: the third "
                   "of their articles the reranker never trained on (what CI gates)")
    p.add_argument("--modes", nargs="+", choices=EVAL_MODES, default=list(EVAL_MODES),
                   help="modes to run (default all; hybrid-norerank is hybrid in fused order)")
    p.add_argument("--no-rerank", action="store_true", help="run hybrid without the reranking stage")
    p.add_argument("--index-dir", metavar="DIR", help="index to use (built if missing or stale)")
    p.add_argument("--report-dir", metavar="DIR", help=f"where to write the report (default {settings.report_dir})")
    p.add_argument("--update-expected", action="store_true",
                   help="record this run's scores as the new expected values (after an improvement)")
    p.set_defaults(handler=cmd_eval)

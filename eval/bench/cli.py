"""`qa bench`: measure latency, throughput, build speed, memory and scale."""

from __future__ import annotations

import argparse
from pathlib import Path

from index.console import log
from index.settings import Settings


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from eval.bench.report import markdown
    from eval.bench.run import FULL, QUICK, run_bench

    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = replace(plan, scale_sizes=tuple(args.sizes), milvus_sizes=tuple(args.sizes),
                       filter_sizes=tuple(args.sizes), distractor_sizes=tuple(args.sizes))
    out_dir = Path(args.report_dir) if args.report_dir else settings.report_dir
    index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir
    if args.only:  # one section: its runner, its markdown, its file
        run_section, section_markdown = _sections()[args.only]
        results = run_section(settings, plan, index_dir, out_dir, log=log)
        print("\n".join(section_markdown(results[args.only])))
        log(f"Wrote {out_dir / f'bench-{args.only}.json'}")
        return 0
    results = run_bench(settings, plan, index_dir, out_dir, log=log)
    print(markdown(results))
    log(f"Wrote {out_dir / 'bench.json'}, bench.md and bench.png in {results['seconds']} s")
    return 0


def _sections() -> dict:
    """`--only NAME`: the function that runs the section alone, and the one that writes its markdown."""
    from eval.bench import collections, distractors, filters, milvus, report, run

    return {"milvus": (run.run_milvus_only, milvus.markdown_section),
            "reading": (run.run_reading_only, report.reading_section),
            "collections": (run.run_collections_only, collections.markdown_section),
            "filters": (run.run_filters_only, filters.markdown_section),
            "distractors": (run.run_distractors_only, distractors.markdown_section)}


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("bench", help="measure latency, throughput, build speed, memory and scale",
                       description="Benchmark search in process (against the bare model call), over HTTP at "
                       "several concurrencies, index build speed, memory, and scale on synthetic corpora. "
                       "Writes bench.json, bench.md and bench.png. Figures, not pass/fail tests.")
    p.add_argument("--quick", action="store_true", help="a short run (a smoke test, not for timings)")
    p.add_argument("--sizes", nargs="+", type=int, metavar="N", help="synthetic corpus sizes (default 100000 1000000), "
                   "and the number of distractors (default 500000; --quick: 3000)")
    p.add_argument("--index-dir", metavar="DIR", help="seed index to use (built if missing)")
    p.add_argument("--only", choices=("milvus", "reading", "filters", "collections", "distractors"),
                   help="run one section: "
                   "milvus = Milvus "
                   "Lite beside the local backend (build time and search p50 at the seed size and the synthetic "
                   "sizes); reading = qa serve with and without the reader (took_ms p50/p95 and resident memory); "
                   "filters = retrieval with filters keeping 1%%, 10%%, 50%% of the passages against none; "
                   "collections = one server's memory with 1 and 20 collections; distractors = Hit@1 of the "
                   "held-out CMRC questions on the CMRC index and with its passages planted among 500k distractors "
                   "made of the CMRC and DRCD training articles")
    p.add_argument("--report-dir", metavar="DIR", help=f"where to write (default {settings.report_dir})")
    p.set_defaults(handler=cmd_bench)

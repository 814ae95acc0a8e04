"""`qa train-ranker`: fit the reranking model on the training parts of CMRC 2018 and DRCD."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.console import log
from index.settings import Settings

TRAIN_ON = ("cmrc2018", "drcd")


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from eval.benchmarks import benchmarks, open_or_build
    from eval.questions import load_benchmark_questions
    from eval.train.data import collect
    from eval.train.export import forest_of
    from eval.train.fit import (
        fit_calibration,
        fit_passage_ranker,
        fit_sentence_ranker,
        importances,
        no_answer_threshold,
        out_of_fold_scores,
    )
    from index.encoder.embedder import load_embedder
    from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
    from index.rank.model import DEFAULT_MODEL, RankerModel

    started = time.perf_counter()
    out = Path(args.out) if args.out else (settings.ranker_model or DEFAULT_MODEL)
    embedder = load_embedder(settings, log=log)
    known = benchmarks(settings)
    lists, groups, counts = [], [], {}
    for name in TRAIN_ON:
        bench = known[name]
        searcher = open_or_build(bench, settings.index_dir_for(bench.corpus), settings, embedder, log=log,
                                 ranker=False)
        questions = load_benchmark_questions(bench.corpus.parent, "train")
        if args.limit:
            questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
        log(f"Collecting candidates for {len(questions)} {name} training questions ...")
        more_lists, more_groups = collect(searcher, questions, progress=not args.quiet)
        lists += more_lists
        groups += more_groups
        counts[name] = len(questions)
    log(f"Fitting: {len(lists)} candidate lists, {len(groups)} evidence groups ...")
    scores = out_of_fold_scores(lists)
    calibration = fit_calibration(lists, scores)
    threshold = no_answer_threshold(lists, scores, calibration)
    passages, sentences = fit_passage_ranker(lists), fit_sentence_ranker(groups)
    forest = forest_of(passages, check_rows=np.vstack([c.features for c in lists[:200]]))
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions": counts, "split": "train part of each benchmark by article (eval/splits.py)",
        "candidate_lists": len(lists), "evidence_groups": len(groups),
        "no_answer_out_of_fold": threshold,
        "importance_passages": importances(passages), "importance_sentences": importances(sentences),
    }
    model = RankerModel(PASSAGE_FEATURES, forest, SENTENCE_FEATURES,
                        forest_of(sentences, check_rows=np.vstack([g.features for g in groups[:200]])), calibration,
                        dict(embedder.fingerprint), info)
    model.save(out)
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(info["importance_passages"].items())[:6])
    log(f"Wrote {out} in {time.perf_counter() - started:.0f} s. Most useful features: {top}.\n"
        f"Out of fold, a no-answer threshold of {threshold['threshold']:.3f} flags 5% of answerable "
        f"questions and {threshold['unanswerable_caught']:.0%} of questions whose article is missing.")
    return 0


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("train-ranker", help="train the reranking model on CMRC 2018 and DRCD",
                       description="Build candidate lists for the training part of CMRC 2018 dev and DRCD test "
                       "(two thirds of their articles; the rest is held out for qa eval), fit the LightGBM "
                       "rerankers and the confidence calibration, and write the model file.")
    p.add_argument("--out", metavar="FILE", help="where to write the model (default: index/rank/reranker.json)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N training questions per benchmark (quick runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_train)

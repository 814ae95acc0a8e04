"""`qa train-ranker`: fit the reranking model on the training parts of CMRC 2018 and DRCD."""

from __future__ import annotations

import argparse
import pickle
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.console import log
from index.rank.model import Calibration, Forest
from index.settings import Settings

TRAIN_ON = ("cmrc2018", "drcd")
OTHER_SCRIPT_EVERY = 3


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from eval.benchmarks import benchmarks, open_or_build
    from eval.questions import load_benchmark_questions
    from eval.train.data import changed_lists, collect, in_other_script
    from eval.train.export import forest_of
    from eval.train.fit import (
        fit_answerable,
        fit_calibration,
        fit_passage_ranker,
        fit_sentence_ranker,
        importances,
        no_answer_threshold,
        out_of_fold_scores,
    )
    from index.encoder.embedder import load_embedder
    from index.rank.answerable import ANSWERABLE_FEATURES
    from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
    from index.rank.model import DEFAULT_MODEL, RankerModel

    started = time.perf_counter()
    out = Path(args.out) if args.out else (settings.ranker_model or DEFAULT_MODEL)
    embedder = load_embedder(settings, log=log)
    known = benchmarks(settings)
    lists, groups, counts = [], [], {}
    cache = Path(args.candidates_cache) if args.candidates_cache else None
    if cache is not None and cache.exists():
        lists, groups, counts = pickle.loads(cache.read_bytes())
        log(f"Reusing the candidate lists in {cache} (delete it after changing features or data).")
    for name in TRAIN_ON if not lists else ():
        bench = known[name]
        searcher = open_or_build(bench, settings.index_dir_for(bench.corpus), settings, embedder, log=log,
                                 ranker=False)
        questions = load_benchmark_questions(bench.corpus.parent, "train")
        if args.limit:
            questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
        log(f"Collecting candidates for {len(questions)} {name} training questions ...")
        more_lists, more_groups = collect(searcher, questions, progress=not args.quiet)
        lists += more_lists + changed_lists(searcher, questions, progress=not args.quiet)
        groups += more_groups
        # The same questions in the other script (OpenCC), a third of them: a traditional question
        # over simplified articles matches less well on the dense side, which must not read as "no answer".
        converted = in_other_script(questions[::OTHER_SCRIPT_EVERY], to_traditional=name == "cmrc2018")
        lists += collect(searcher, converted, progress=not args.quiet)[0]
        counts[name] = len(questions)
    if cache is not None and not cache.exists():
        cache.write_bytes(pickle.dumps((lists, groups, counts)))
    log(f"Fitting: {len(lists)} candidate lists, {len(groups)} evidence groups ...")
    scored = cache.with_suffix(".scores.pkl") if cache is not None else None
    if scored is not None and scored.exists():
        scores = pickle.loads(scored.read_bytes())
    else:
        scores = out_of_fold_scores(lists)
        if scored is not None:
            scored.write_bytes(pickle.dumps(scores))
    answerable_booster, answerable, no_answer = fit_answerable(lists, scores)
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions": counts, "split": "train part of each benchmark by article (eval/splits.py)",
        "candidate_lists": len(lists), "evidence_groups": len(groups), "no_answer_out_of_fold": no_answer,
        "importance_answerable": importances(answerable_booster),
    }
    if args.keep_rankers:
        kept = kept_rankers(Path(args.keep_rankers), embedder.fingerprint, with_sentences=not args.refit_evidence)
        forest, sentence_forest, calibration = kept.passages, kept.sentences, kept.calibration
        info.update({key: kept.info[key] for key in ("importance_passages", "importance_sentences",
                                                     "confidence_threshold_out_of_fold") if key in kept.info},
                    rankers_kept_from={"file": Path(args.keep_rankers).name, "trained_at": kept.info["trained_at"]})
    else:
        calibration = fit_calibration(lists, scores)
        info["confidence_threshold_out_of_fold"] = no_answer_threshold(lists, scores, calibration)
        passages = fit_passage_ranker(lists)
        forest = forest_of(passages, check_rows=np.vstack([c.features for c in lists[:200]]))
        info["importance_passages"] = importances(passages)
    if not args.keep_rankers or args.refit_evidence:
        sentences = fit_sentence_ranker(groups)
        sentence_forest = forest_of(sentences, check_rows=np.vstack([g.features for g in groups[:200]]))
        info["importance_sentences"] = importances(sentences)
        if args.keep_rankers:
            info["evidence_refitted"] = True
    model = RankerModel(PASSAGE_FEATURES, forest, SENTENCE_FEATURES, sentence_forest, calibration,
                        ANSWERABLE_FEATURES, answerable, dict(embedder.fingerprint), info)
    model.save(out)
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(info["importance_passages"].items())[:6])
    log(f"Wrote {out} in {time.perf_counter() - started:.0f} s. Most useful features: {top}.\n"
        f"Out of fold, a no-answer threshold of {no_answer['threshold']:.3f} (QA_NO_ANSWER_THRESHOLD) flags 5% "
        f"of answerable questions and catches, of the unanswerable ones: "
        + ", ".join(f"{kind} {share:.0%}" for kind, share in no_answer["unanswerable_caught"].items()) + ".")
    return 0


@dataclass
class KeptRankers:
    passages: Forest
    sentences: Forest
    calibration: Calibration
    info: dict


def kept_rankers(path: Path, fingerprint: dict, with_sentences: bool = True) -> KeptRankers:
    """The passage and sentence rankers and the confidence calibration of an existing model file
    (format 3 or later), checked to use today's features and embedder (the sentence features only
    when its sentence ranker is kept: `with_sentences`)."""
    import json

    from index.rank.features import PASSAGE_FEATURES, SENTENCE_FEATURES
    from index.rank.model import RankerModelError, embedder_identity

    payload = json.loads(path.read_text(encoding="utf-8"))
    sentences_differ = with_sentences and tuple(payload["sentence_features"]) != SENTENCE_FEATURES
    if tuple(payload["passage_features"]) != PASSAGE_FEATURES or sentences_differ:
        raise RankerModelError(f"{path} was trained with another feature list: retrain without --keep-rankers")
    if embedder_identity(payload["embedder"]) != embedder_identity(fingerprint):
        raise RankerModelError(f"{path} was trained for another embedder: retrain without --keep-rankers")

    return KeptRankers(Forest.from_json(payload["passage_trees"]), Forest.from_json(payload["sentence_trees"]),
                       Calibration.from_json(payload["calibration"]), payload["info"])


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("train-ranker", help="train the reranking model on CMRC 2018 and DRCD",
                       description="Build candidate lists for the training part of CMRC 2018 dev and DRCD test "
                       "(two thirds of their articles; the rest is held out for qa eval), fit the LightGBM "
                       "rerankers and the confidence calibration, and write the model file.")
    p.add_argument("--out", metavar="FILE", help="where to write the model (default: index/rank/reranker.json)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N training questions per benchmark (quick runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--keep-rankers", metavar="FILE",
                   help="take the passage and sentence rankers and the confidence calibration from this model "
                   "file and fit only the no-answer model (a retrain moves held-out figures by about a point "
                   "either way, as rebuilt indexes differ slightly)")
    p.add_argument("--refit-evidence", action="store_true",
                   help="with --keep-rankers: fit the evidence-sentence ranker anew too (after changing its features)")
    p.add_argument("--candidates-cache", metavar="FILE",
                   help="save the collected candidate lists here, or reuse them if the file exists "
                   "(to refit quickly; stale once features or data change)")
    p.set_defaults(handler=cmd_train)

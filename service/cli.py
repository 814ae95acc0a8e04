"""The `qa` command: build an index, search it, serve it, evaluate it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from eval.bench.cli import register as register_bench
from eval.cli import register as register_eval
from eval.train.cli import register as register_train
from eval.train_reader.cli import register as register_train_reader
from index.console import log
from index.settings import MODES, REPO_ROOT, Settings, get_settings
from service.documents_cli import DocumentsCliError
from service.documents_cli import register as register_documents
from service.serve_cli import register as register_serve

EXIT_OK, EXIT_ERROR = 0, 1


class CliError(Exception):
    """An error to print as one line, without a traceback."""



# --- qa index --------------------------------------------------------------

def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import build_index
    from index.encoder.embedder import load_embedder
    from index.store import check_replaceable

    corpus = Path(args.corpus) if args.corpus else settings.corpus_path
    index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir_for(corpus)
    check_replaceable(index_dir)  # before the model loads: a folder we must not replace is refused at once
    backend = args.backend or settings.index_backend
    if backend == "milvus":
        from index.retrieve.backends.milvus import check_uri, connect, is_server

        check_uri(settings.milvus_uri)
        if is_server(settings.milvus_uri):
            connect(settings.milvus_uri, settings)  # an unreachable server is reported before the model loads
        from index.retrieve.backends.milvus_write import build_milvus_index as build_index
    embedder = load_embedder(settings, log=log)
    where = "" if backend == "local" else f" (Milvus: {settings.milvus_uri or 'Milvus Lite, a file in the folder'})"
    log(f"Indexing {corpus} into {index_dir}{where} ...")
    report = build_index(corpus, index_dir, settings, embedder, progress=not args.quiet, resume=args.resume)
    for problem in report.problems:
        log(f"warning: {problem}")
    stages = ", ".join(f"{name} {sec:.2f} s" for name, sec in report.seconds.items() if name != "total")
    log(
        f"Indexed {report.documents} documents, {report.passages} passages in "
        f"{report.seconds['total']:.1f} s ({report.passages_per_second:.1f} passages/s; {stages})"
        + (f"; {report.reused_passages} passages reused from the interrupted build" if report.reused_passages else "")
        + ".\n"
        f"Index: {index_dir}"
        + ("" if index_dir == settings.index_dir else f"\nSearch it with: qa search QUESTION --index-dir {index_dir}")
    )
    return EXIT_OK


# --- qa search -------------------------------------------------------------

def _highlight(text: str, start: int, end: int, tty: bool) -> str:
    before, marked, after = text[:start], text[start:end], text[end:]
    return f"{before}\033[1;4m{marked}\033[0m{after}" if tty else f"{before}【{marked}】{after}"


def _bold(text: str, tty: bool) -> str:
    return f"\033[1m{text}\033[0m" if tty else text


NO_ANSWER_NOTICE = "没有找到可靠的答案 (no reliable answer found): the passages below may not answer the question."


def print_readable(response: dict, tty: bool) -> None:
    results = response["results"]
    how = response["mode"] + "".join(f", {stage}" for stage in ("reranked", "read") if response.get(stage))
    print(f"{response['query']}  ({how}, {len(results)} results, {response['took_ms']:.0f} ms)")
    if not results:
        print("No passage matched.")
    elif response.get("no_answer"):
        print(NO_ANSWER_NOTICE)
    for r in results:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in r["scores"].items() if v is not None)
        confidence = "" if r.get("confidence") is None else f"confidence {r['confidence']:.0%}, "
        print(f"\n{r['rank']}. {r['title']}")
        print(f"   [{r['doc_id']} {r['start']}-{r['end']}]  {confidence}score {r['score']:.4f} ({scores})")
        answer = r.get("answer")
        if answer:  # the reader's span, on a line of its own, above the passage that holds it
            shown = answer["text"].replace("\n", " ")
            print(f"   答案: {_bold(shown, tty)}  (score {answer['score']:.2f})")
        evidence = r["evidence"]
        text = _highlight(r["text"], evidence["start"] - r["start"], evidence["end"] - r["start"], tty)
        print("   " + text.replace("\n", "\n   "))


def _read_queries(path: Path) -> list[tuple[int, dict | str]]:
    """(line number, record or error message) for each non-blank line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read queries file {path}: {exc}") from exc
    rows: list[tuple[int, dict | str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, f"invalid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or "question" not in record:
            rows.append((number, 'expected an object with "id" and "question"'))
            continue
        rows.append((number, record))
    return rows


def _json_line(record: dict) -> str:
    """One JSON line; if it echoes text UTF-8 cannot hold (a lone surrogate), that text is \\u-escaped."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line


def _search_batch(searcher, path: Path, k: int, mode: str, rerank: bool | None, read: bool,
                  filter: dict | None = None, min_confidence: float | None = None) -> int:
    from index.query import QueryError

    failures = 0
    for number, row in _read_queries(path):
        if isinstance(row, str):
            log(f"{path}:{number}: {row}")
            out = {"id": None, "question": None, "results": [], "error": {"code": "invalid_line", "message": row}}
            failures += 1
        else:
            out = {"id": row.get("id"), "question": row["question"]}
            try:
                line_filter = row.get("filter", filter)  # a line's own filter wins
                response = searcher.search(row["question"], k, mode, rerank=rerank, read=read,
                                           filter=line_filter, min_confidence=min_confidence).to_dict()
                out.update(read=response["read"], no_answer=response["no_answer"], results=response["results"])
            except Exception as exc:  # any failure is this line's alone: the batch goes on
                code, message = (exc.code, exc.message) if isinstance(exc, QueryError) else (
                    "search_failed", f"the search failed ({type(exc).__name__}: {exc})")
                log(f"{path}:{number}: {message}")
                out.update(results=[], error={"code": code, "message": message})
                failures += 1
        print(_json_line(out), flush=True)
    if failures:
        log(f"{failures} queries could not be searched (see above)")
    return EXIT_ERROR if failures else EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from index.query import parse_min_confidence, validate_request
    from index.retrieve.filters import parse_filter
    from index.search import Searcher
    from index.store import read_manifest

    if (args.question is None) == (args.queries is None):
        raise CliError("give either a QUESTION or --queries FILE.jsonl")
    # Fail fast, before the model loads: the request, filter and index folder can be checked now.
    validate_request(args.question if args.question is not None else "-", args.k, args.mode, settings)
    document_filter = parse_filter(args.filter)
    parse_min_confidence(args.min_confidence)
    index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir
    read_manifest(index_dir)
    read = args.reader == "on"
    settings = settings.model_copy(update={"reader": read})  # off: the reader is not even loaded
    searcher = Searcher.open(index_dir, settings, log=log, load_model=args.mode != "bm25")
    rerank = False if args.no_rerank else None
    if args.queries:
        return _search_batch(searcher, Path(args.queries), args.k, args.mode, rerank, read, document_filter,
                             args.min_confidence)
    response = searcher.search(args.question, args.k, args.mode, rerank=rerank, read=read,
                               filter=document_filter, min_confidence=args.min_confidence).to_dict()
    if args.json:
        print(json.dumps(response, ensure_ascii=False))
    else:
        print_readable(response, sys.stdout.isatty())
    return EXIT_OK


# --- qa mcp ----------------------------------------------------------------

def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from zhqa.adapters.mcp import run
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "mcp_types"):
            raise
        raise CliError("qa mcp needs the MCP SDK: pip install 'zhqa[mcp]'") from exc
    if args.url and args.index_dir:
        raise CliError("give either --index-dir or --url, not both")
    run(args.index_dir, args.url, args.timeout)
    return EXIT_OK


# --- the parser ------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Retrieval Q&A over Chinese articles: ask a question, get the passages "
        "that answer it, each cited to its article and character range.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    rel = lambda p: p.relative_to(REPO_ROOT) if p.is_relative_to(REPO_ROOT) else p  # noqa: E731

    p = sub.add_parser("index", help="build the search index from a corpus",
                       description="Clean, split, embed and index a corpus (a folder of .txt/.md "
                       "articles or a .jsonl file of {id, title, text} records).")
    p.add_argument("--corpus", metavar="PATH",
                   help=f"corpus folder or .jsonl file (default: {rel(settings.corpus_path)})")
    p.add_argument("--index-dir", metavar="DIR", help=f"where to write the index (default: {rel(settings.index_dir)} "
                   "for the bundled corpus, a sibling folder named after any other corpus)")
    p.add_argument("--backend", choices=("local", "milvus"),
                   help=f"where the index is stored (default {settings.index_backend}): local files (bm25s + "
                   "FAISS), or Milvus: a Milvus Lite file in the folder unless QA_MILVUS_URI names a server "
                   "(QA_MILVUS_TOKEN for a secured one); search, eval and serve read it from the manifest")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted build of the same corpus with the same model: reuse the "
                   f"embedding batches it saved (every {settings.build_checkpoint_passages} passages, in "
                   "<cache>/build-checkpoints; QA_BUILD_CHECKPOINT_PASSAGES) and embed only the rest; without "
                   "it a build starts afresh (either backend)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("search", help="search the index",
                       description="Search with a question, or a batch of questions from a JSONL file.")
    p.add_argument("question", nargs="?", metavar="QUESTION", help="the question, in Chinese")
    p.add_argument("--queries", metavar="FILE.jsonl",
                   help='batch: lines of {"id", "question"} (and "filter", which replaces --filter for '
                   'that line); prints one JSON line each')
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="only results whose confidence (calibrated probability that the result answers) is at "
                   "least P, 0 to 1 (hybrid mode; the other modes have no confidence, so nothing is kept)")
    p.add_argument("--filter", metavar="JSON",
                   help='only these documents: {"doc_id": [...], "metadata": {"key": value or [values]}, '
                   '"date": {"gte": "2025-01", "lte": "2026-12"}}, all parts ANDed (docs/documents.md)')
    p.add_argument("-k", type=_positive_int, default=settings.default_k,
                   help=f"results to return (default {settings.default_k}, at most {settings.max_k})")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retriever: hybrid (default), bm25 or dense")
    p.add_argument("--index-dir", metavar="DIR", help=f"index to search (default: {rel(settings.index_dir)})")
    p.add_argument("--no-rerank", action="store_true",
                   help="keep the fused order (hybrid mode): to see what the reranking stage adds")
    reader = "on" if settings.reader else "off"
    first = "result" if settings.reader_results == 1 else f"{settings.reader_results} results"
    p.add_argument("--reader", choices=("on", "off"), default=reader,
                   help=f"on: the reader reads the first {first} and marks the "
                   "answer span (shown as 答案 in the readable list, \"answer\" in JSON; not in --mode bm25, "
                   "which loads no model); off: skip the reader, to compare speed and results with the "
                   f"pipeline without reading (default {reader}; QA_READER)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a readable list")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("mcp", help="serve search to MCP clients (Claude Desktop, IDEs, agents) over stdio",
                       description="Run an MCP server on stdin/stdout with two tools: search (cited passages, "
                       "evidence, answer, no_answer) and get_document (the text citations point into). Loads the "
                       "index once, then serves until the client closes. Needs: pip install 'zhqa[mcp]'.")
    p.add_argument("--index-dir", metavar="DIR", help=f"index to search (default: {rel(settings.index_dir)})")
    p.add_argument("--url", metavar="URL", help="search a running qa serve instead (e.g. http://127.0.0.1:8000); "
                   "no model is loaded")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="with --url: seconds to wait for the server (default 30)")
    p.set_defaults(handler=cmd_mcp)

    for register in (register_documents, register_serve, register_eval, register_train, register_train_reader,
                     register_bench):
        register(sub, settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from index.encoder.model_convert import ModelConversionError
    from index.ingest.documents import CorpusError
    from index.live import IndexBusyError, UnknownDocumentError
    from index.query import QueryError
    from index.rank.model import RankerModelError
    from index.read.graph import ReaderFileError
    from index.retrieve.backends import BackendError
    from index.store import IndexLoadError, NotAnIndexError

    try:
        settings = get_settings()
    except ValidationError as exc:  # a bad QA_* value: one line per setting, not a traceback
        for error in exc.errors():
            name = "QA_" + "_".join(str(part) for part in error["loc"]).upper()
            log(f"qa: error: setting {name}: {error['msg']} (got {error.get('input')!r})")
        return EXIT_ERROR
    args = build_parser(settings).parse_args(argv)
    try:
        return args.handler(args, settings)
    except QueryError as exc:
        log(f"qa: error: {exc.message}")
    except (CliError, CorpusError, IndexLoadError, NotAnIndexError, ModelConversionError,
            RankerModelError, ReaderFileError, DocumentsCliError, UnknownDocumentError, IndexBusyError,
            BackendError) as exc:
        log(f"qa: error: {exc}")
    except KeyboardInterrupt:
        log("qa: interrupted")
        return 130
    except BrokenPipeError:  # e.g. `qa search ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return EXIT_OK
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

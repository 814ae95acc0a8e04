"""`qa add`, `qa remove`, `qa documents`: change and list what an index holds, in place.

A running `qa serve` on the same folder sees each change at its next search.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from index.console import log
from index.settings import Settings


class DocumentsCliError(Exception):
    """One line for the user; nothing was changed."""


def _index_dir(args: argparse.Namespace, settings: Settings) -> Path:
    from index.store import is_index_dir

    index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir
    if not is_index_dir(index_dir):  # never write into a folder that is not an index we built
        raise DocumentsCliError(f"{index_dir} holds no index built by qa index (no valid manifest.json); "
                                f"nothing was changed. Build one first: qa index --index-dir {index_dir}")
    return index_dir


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from index.encoder.embedder import load_embedder
    from index.ingest.documents import load_paths
    from index.live import add_documents

    index_dir = _index_dir(args, settings)
    loaded = load_paths([Path(p) for p in args.paths], args.id)
    for problem in loaded.problems:
        log(f"warning: {problem}")
    if not loaded.documents:
        raise DocumentsCliError("no document could be read from " + ", ".join(args.paths) + "; nothing was changed")
    embedder = load_embedder(settings, log=log)
    report = add_documents(index_dir, loaded.documents, settings, embedder, progress=not args.quiet)
    log(f"{index_dir}: {report.summary()}")
    return 1 if loaded.problems else 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from index.live import remove_documents

    report = remove_documents(_index_dir(args, settings), args.doc_ids, settings)
    log(f"{report.index_dir}: {report.summary()}")
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from index.store import document_listing, read_manifest

    index_dir = _index_dir(args, settings)
    manifest = read_manifest(index_dir)
    if manifest.get("backend") == "milvus":  # the documents live in Milvus, not in the folder
        from index.retrieve.backends.milvus import document_table

        rows = document_table(index_dir, manifest, settings)
    else:
        rows = [{"doc_id": d.doc_id, "title": d.title, "date": d.date or "", "chars": len(d.text),
                 "passages": n} for d, n in document_listing(index_dir)]
    if args.json:
        print(json.dumps({"index_dir": str(index_dir), "documents": rows}, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"{row['doc_id']}\t{row['title']}\t{row['date'] or '-'}\t{row['chars']} chars\t"
              f"{row['passages']} passages")
    print(f"{len(rows)} documents, {sum(r['passages'] for r in rows)} passages in {index_dir}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    where = "--index-dir", {"metavar": "DIR", "help": f"the index to change (default: {settings.index_dir})"}
    p = sub.add_parser("add", help="add or replace documents in an index",
                       description="Add files (.txt, .md, .html, .docx, .pdf with a text layer), folders of them, "
                       "or .jsonl records to an existing index. A file's id is its name without the suffix; an id "
                       "the index already holds is replaced. Only these documents are embedded.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or .jsonl record files")
    p.add_argument("--id", metavar="ID", help="the document id, when adding one document")
    p.add_argument(where[0], **where[1])
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("remove", help="remove documents from an index",
                       description="Remove documents by id. An unknown id is an error and removes nothing.")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="ids as qa documents lists them")
    p.add_argument(where[0], **where[1])
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("documents", help="list the documents an index holds",
                       description="List each document: id, title, date, characters, passages.")
    p.add_argument(where[0], **{**where[1], "help": f"the index (default: {settings.index_dir})"})
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=cmd_documents)

"""`qa serve`: load the model and the index once, then serve the API and the search page."""

from __future__ import annotations

import argparse
import errno
import logging
import resource
import socket
import sys
from pathlib import Path
from typing import Any

from index.console import log
from index.settings import Settings


class BindError(OSError):
    """The address to serve on cannot be taken; the message says why."""


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind (not yet listen) before anything slow, so a taken port is the only thing reported."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise BindError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = "; is another qa serve running? Choose another --port" if exc.errno == errno.EADDRINUSE else ""
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from exc
    return sock


def connection_cap(settings: Settings) -> int:
    """max_connections, but at most half the open-file limit: the rest is for the model, the index
    and the connections accepted in one burst before the oldest waiting ones are closed."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft // 2))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import build_index
    from index.encoder.embedder import load_embedder
    from index.search import Searcher
    from index.store import read_manifest
    from service.app import create_app

    settings = settings.model_copy(update={"reader": args.reader == "on"})  # what every request reads by default
    if args.collections:
        return _serve_collections(args, settings)
    index_dir = Path(args.index_dir) if args.index_dir else settings.index_dir
    # Only the default index folder, when absent or empty, is built from the bundled corpus.
    # Any other folder must already hold an index: an unknown folder (or an index that lost its
    # manifest) is an error, never a reason to build over what it holds.
    build_first = index_dir == settings.index_dir and (not index_dir.exists() or not any(index_dir.iterdir()))
    if not build_first:
        read_manifest(index_dir)  # fails fast, with how to rebuild, before the model loads
    try:
        sock = bind_socket(args.host, args.port)
    except BindError as exc:
        log(f"qa: error: {exc}")
        return 1
    embedder = load_embedder(settings, log=log)
    if build_first:
        log(f"No index at {index_dir}; building it from {settings.corpus_path} first ...")
        build_index(settings.corpus_path, index_dir, settings, embedder, progress=True)
    searcher = Searcher.open(index_dir, settings, embedder, log=log)
    searcher.search("预热")  # warm-up: the first model call is slower; users should not pay for it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    app = create_app(searcher, settings, index_dir)
    counts = searcher.index.manifest["counts"]
    _run(app, sock, settings, f"{counts['documents']} documents, {counts['passages']} passages")
    return 0


def _serve_collections(args: argparse.Namespace, settings: Settings) -> int:
    """qa serve --collections DIR: every index folder in DIR, one loaded model shared by all."""
    from index.collections import Collections, SharedModels, discover
    from index.encoder.embedder import load_embedder
    from index.live import FollowingSearcher
    from index.store import IndexLoadError
    from service.app import create_app

    root = Path(args.collections)
    if not root.is_dir():
        log(f"qa: error: --collections {root}: not a folder (make it, or name the folder holding the indexes)")
        return 1
    found = discover(root)
    try:
        sock = bind_socket(args.host, args.port)
    except BindError as exc:
        log(f"qa: error: {exc}")
        return 1
    embedder = load_embedder(settings, log=log)
    models = SharedModels.load(settings, embedder, log=log)
    live = {}
    for name, index_dir in found.items():
        try:
            live[name] = FollowingSearcher(models.open(index_dir, settings), index_dir)
        except IndexLoadError as exc:
            log(f"qa: error: collection {name!r}: {exc}")
            return 1
    if live:
        next(iter(live.values())).current().search("预热")  # warm-up: the first model call is slower
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    app = create_app(None, settings, collections=Collections(live, root, models, settings))
    default = "default" if "default" in live else "none: /api/search answers 404"
    _run(app, sock, settings, f"{len(live)} collections from {root} (default: {default})")
    return 0


def _run(app: Any, sock: socket.socket, settings: Settings, what: str) -> None:
    """Log what is served and where, then serve until stopped."""
    import uvicorn

    from service.http_protocol import Utf8RequestLineProtocol

    host, port = sock.getsockname()[:2]  # the real port when --port 0 asked for any free one
    host = f"[{host}]" if ":" in host else host
    log(f"Serving {what} on http://{host}:{port}  (API docs: /docs)")
    cap = connection_cap(settings)
    protocol = Utf8RequestLineProtocol.configured(settings.request_head_timeout, cap)
    # The backlog also bounds how many connections asyncio accepts at once, before the protocol
    # can close the excess: kept well under the cap so a burst never runs out of file descriptors.
    config = uvicorn.Config(app, http=protocol, backlog=max(16, cap // 4), access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def register(sub: argparse._SubParsersAction, settings: Settings) -> None:
    p = sub.add_parser("serve", help="serve the JSON API and the web search box",
                       description="Load the model and the index once (building the index of the "
                       "bundled corpus first if there is none), then serve over HTTP.")
    p.add_argument("--host", default=settings.host, help=f"address to listen on (default {settings.host})")
    p.add_argument("--port", type=int, default=settings.port, help=f"port (default {settings.port})")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index-dir", metavar="DIR", help="index to serve (default: the bundled corpus's); "
                       "it is the collection 'default'")
    where.add_argument("--collections", metavar="DIR", help="serve every index folder in DIR as a collection "
                       "named after its folder (/api/collections); /api/search searches the one named "
                       "'default', if any. The model is loaded once for all")
    reader = "on" if settings.reader else "off"
    p.add_argument("--reader", choices=("on", "off"), default=reader,
                   help="on: load the reader, which marks the answer span in the first result(s) of each search "
                   "(a request can still turn it off with reader=false); off: do not load it, every search "
                   f"is answered without reading and reader=true changes nothing (default {reader}; QA_READER)")
    p.set_defaults(handler=cmd_serve)

"""The adapters' sources: the session's searcher behind the zhqa API, and a real `qa serve` of the
seed index (started the way tests/service/conftest.py starts its own: its fixture is not visible here)."""

from __future__ import annotations

from pathlib import Path

import pytest

import zhqa
from eval.bench.server import ServerStartError, running_server
from index.search import Searcher


@pytest.fixture(scope="session")
def api(searcher: Searcher, seed_index_dir: Path) -> zhqa.Searcher:
    return zhqa.Searcher(searcher, seed_index_dir)


@pytest.fixture(scope="session")
def server_url(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_path = tmp_path_factory.mktemp("adapters-server") / "serve.log"
    try:
        with running_server(seed_index_dir, log_path) as server:
            yield server.url
    except ServerStartError as exc:
        pytest.fail(str(exc))

"""A real `qa serve` process on a free loopback port, shared by the tests that need one."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.bench.server import ServerStartError, running_server


@pytest.fixture(scope="session")
def live_server(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_path = tmp_path_factory.mktemp("server") / "serve.log"
    try:
        with running_server(seed_index_dir, log_path) as server:
            yield {"url": server.url, "port": server.port, "log": server.log}
    except ServerStartError as exc:
        pytest.fail(str(exc))

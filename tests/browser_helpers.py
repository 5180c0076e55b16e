"""Shared by tests/test_webapp.py and tests/test_browser.py: one real index and one
``Assistant`` per test session, a served app on a free port, and chromium's settings.

The index is built once per session (real corpus/, real default embedder) into a
temporary folder; set ``ASSISTANT_TEST_INDEX_DIR`` to reuse an index you built
yourself (``assistant index --index-dir /tmp/webidx``) and skip that minute.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

AWS_ARTICLE = "002_d468078014d47073"
FR_QUESTION = "Combien vaut l'accord entre OpenAI et AWS ?"
EN_QUESTION = "How much is the AWS deal worth?"
FR_FOLLOW_UP = "Et combien de temps dure-t-il ?"
EN_FOLLOW_UP = "And how long does it last?"
OFF_TOPIC_FR = "Quelle est la recette de la tarte tatin ?"


@functools.lru_cache(maxsize=None)
def shared_index_dir() -> Path:
    """An index of the real corpus with the real default embedder, built once per process."""
    from assistant import Assistant, Settings

    reuse = os.environ.get("ASSISTANT_TEST_INDEX_DIR")
    if reuse:
        return Path(reuse)
    tmp = Path(tempfile.mkdtemp(prefix="assistant-webidx-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    settings = Settings.load({"index_dir": str(tmp / "index"), "corpus_dir": str(CORPUS)}, env={})
    Assistant.build_index(settings)
    return tmp / "index"


@functools.lru_cache(maxsize=None)
def shared_assistant():
    """One loaded ``Assistant`` over ``shared_index_dir()`` (the model loads once)."""
    from assistant import Assistant, Settings

    index_dir = shared_index_dir()
    return Assistant.load(settings=Settings.load({"index_dir": str(index_dir),
                                                 "corpus_dir": str(CORPUS)}, env={}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(demo) -> Iterator[str]:
    """Serve a ``gr.Blocks`` on a free local port; yields its URL; closes it after."""
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def chromium_available() -> bool:
    return CHROMIUM.exists()


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.t0

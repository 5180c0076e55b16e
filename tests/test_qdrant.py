"""store = qdrant: the same chunk vectors served from Qdrant's local mode give FAISS's results."""

from __future__ import annotations

import logging
import shutil
import socket
import sys

import numpy as np
import pytest

from assistant import (
    Assistant,
    BackendUnavailableError,
    IndexMismatchError,
    Settings,
)
from assistant.index import load_index, resolve
from assistant.retrieve import dense_search

from conftest import CORPUS
from eval_sample import answers, eval_sample
from test_cli import run


def _copy(index_dir, dest):
    shutil.copytree(index_dir, dest, symlinks=True)
    return dest


def _settings(index_dir, **extra):
    return Settings.load({"index_dir": index_dir, "corpus_dir": CORPUS, **extra}, env={})


@pytest.fixture(scope="module")
def qdrant_index(index_dir, tmp_path_factory):
    """The session's FAISS index switched to Qdrant local mode (its vectors re-used, none re-embedded)."""
    path = _copy(index_dir, tmp_path_factory.mktemp("qdrant") / "index")
    settings = _settings(path, store="qdrant")
    report = Assistant.build_index(settings)
    return settings, report


def test_switching_to_qdrant_reuses_the_vectors(qdrant_index, index_dir):
    settings, report = qdrant_index
    assert report.embedded_texts == 0 and len(report.unchanged) == len(list(CORPUS.glob("*.md")))
    data = load_index(settings.index_dir, settings=settings)
    entry = data.manifest["store"]
    assert entry["kind"] == "qdrant" and entry["collection"].startswith("assistant-")
    assert data.vector_store.count() == len(data.chunks) == report.chunks
    assert not (resolve(settings.index_dir) / "faiss.index").exists()
    assert (settings.index_dir / "qdrant").is_dir()  # local mode's default folder
    np.testing.assert_array_equal(data.chunk_vectors, load_index(index_dir).chunk_vectors)


def test_qdrant_dense_search_ranks_like_faiss(qdrant_index, index_dir, embedder):
    settings, _ = qdrant_index
    faiss_data, qdrant_data = load_index(index_dir), load_index(settings.index_dir, settings=settings)
    for item in eval_sample():
        qvec = embedder.embed_queries([item["question"]])[0]
        want, got = dense_search(faiss_data, qvec, 10), dense_search(qdrant_data, qvec, 10)
        # the vectors are stored float16: scores agree to 1e-4, so chunks whose scores are
        # that close may swap places (or one may fall just outside the top 10)
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-4)
        got_score = dict(got)
        for rank, (i, score) in enumerate(want):
            tied = any(abs(score - other) < 1e-4 for j, (_, other) in enumerate(want) if j != rank)
            if not tied and not (rank == len(want) - 1):
                assert got[rank][0] == i, (item["id"], rank)
            elif i in got_score:
                assert abs(got_score[i] - score) < 1e-4, (item["id"], rank)


@pytest.mark.parametrize("candidates", [None, 5])
def test_qdrant_backed_ask_gives_the_faiss_answers(qdrant_index, index_dir, embedder, candidates):
    # with 5 candidates the pool the reranker sees is the store's top 5, not the whole small corpus
    settings, _ = qdrant_index
    items = eval_sample()
    faiss_qa = Assistant.load(settings=_settings(index_dir, candidates=candidates), embedder=embedder)
    qdrant_qa = Assistant.load(settings=settings.replace(candidates=candidates), embedder=embedder)
    expected = answers(faiss_qa, items)
    assert any(key[2] for key in expected.values())  # the comparison covers cited answers
    assert answers(qdrant_qa, items) == expected


def test_store_setting_must_match_the_index(qdrant_index, index_dir, embedder):
    settings, _ = qdrant_index
    with pytest.raises(IndexMismatchError, match="store qdrant.*ASSISTANT_STORE=qdrant"):
        Assistant.load(settings=settings.replace(store="faiss"), embedder=embedder)
    with pytest.raises(IndexMismatchError, match="store faiss"):
        Assistant.load(settings=_settings(index_dir, store="qdrant"), embedder=embedder)


def test_local_mode_is_one_process_at_a_time(qdrant_index):
    settings, _ = qdrant_index  # this process holds the local folder open
    out = run("ask", "Combien ?", "--store", "qdrant", "--index-dir", str(settings.index_dir))
    assert out.returncode == 1 and "in use by another process" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_each_build_keeps_its_collection_and_the_previous_one(index_dir, tmp_path):
    from assistant.store.qdrant import client

    settings = _settings(_copy(index_dir, tmp_path / "index"), store="qdrant")
    built = []
    for _ in range(3):
        Assistant.build_index(settings)
        built.append(load_index(settings.index_dir, settings=settings).manifest["store"]["collection"])
    names = sorted(c.name for c in client(settings).get_collections().collections)
    assert len(set(built)) == 3 and names == sorted(built[1:])


def test_server_errors_name_the_server_never_the_key(index_dir, tmp_path, monkeypatch, caplog):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "k-" + "7f3a9c1e5b2d4680"
    monkeypatch.setenv("TEST_QDRANT_KEY", secret)
    url = f"http://127.0.0.1:{port}"
    settings = _settings(_copy(index_dir, tmp_path / "index"), store="qdrant", qdrant_url=url,
                         qdrant_api_key_env="TEST_QDRANT_KEY")
    assert secret not in repr(settings)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BackendUnavailableError) as err:
        Assistant.build_index(settings)
    assert url in str(err.value) and secret not in str(err.value)
    assert secret not in caplog.text
    assert not (settings.index_dir / "current").resolve().joinpath("manifest.json").read_text().count("qdrant")


def test_missing_qdrant_is_one_clear_line(index_dir, tmp_path, monkeypatch):
    settings = _settings(_copy(index_dir, tmp_path / "index"), store="qdrant",
                         qdrant_path=tmp_path / "q")
    monkeypatch.setitem(sys.modules, "qdrant_client", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'assistant\[qdrant\]'"):
        Assistant.build_index(settings)

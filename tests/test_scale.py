"""The index at archive scale: compact memory-mapped vectors, resumable builds, IVF above a size.

The build mechanics are tested with a deterministic stand-in embedder (vectors seeded
by each text's hash) so that a build of a few hundred texts takes a second; the real
model's builds are in test_index.py and test_e2e.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from assistant import IndexMismatchError, Settings
from assistant import index as index_mod
from assistant.embed import LocalEmbedding
from assistant.index import (
    ArticleStore,
    BoundedCache,
    build_index,
    load_index,
)
from assistant.store.faiss import build_faiss, faiss_kind

from conftest import CORPUS, ROOT


class HashEmbedding(LocalEmbedding):
    """Deterministic unit vectors from each text's hash; counts what it embeds."""

    def __init__(self, fail_after_calls: int | None = None) -> None:
        super().__init__(model_name="hash", embedder_id="test:hash", dimension=48)
        self._calls = 0
        self._texts = 0
        self._fail_after = fail_after_calls

    @property
    def texts(self) -> int:
        return self._texts

    def _encode(self, texts, is_query):
        if self._fail_after is not None and self._calls >= self._fail_after:
            raise KeyboardInterrupt("killed mid-build")
        self._calls += 1
        self._texts += len(texts)
        rows = [np.random.default_rng(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16)).standard_normal(48)
                for t in texts]
        return np.asarray(rows, np.float32)


def clustered(n: int, dim: int = 64, clusters: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around random centres, and 50 queries drawn the same way."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    x = centres[rng.integers(0, clusters, n + 50)] + rng.standard_normal((n + 50, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return x[:n], x[n:]


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def settings_for(corpus, tmp_path, **extra) -> Settings:
    return Settings.load({"corpus_dir": corpus, "index_dir": tmp_path / "index", **extra}, env={})


def test_float16_vectors_keep_exact_recall():
    import faiss

    base, queries = clustered(5000)
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(queries, 10)
    half = base.astype(index_mod.VECTOR_DTYPE).astype(np.float32)
    found = np.argsort(-(queries @ half.T), axis=1)[:, :10]
    assert recall_at_10(found, truth) >= 0.98


def test_loaded_index_is_memory_mapped_and_reads_articles_on_demand(corpus, tmp_path):
    settings = settings_for(corpus, tmp_path)
    report = build_index(settings, embedder=HashEmbedding())
    data = load_index(settings.index_dir, "test:hash", settings)
    assert isinstance(data.chunk_vectors, np.memmap) and isinstance(data.sentence_vectors, np.memmap)
    assert data.chunk_vectors.dtype == np.float16 and data.chunk_vectors.shape == (report.chunks, 48)
    assert isinstance(data.articles, ArticleStore)
    # every chunk's text is its article's text at its offsets, read back from disk
    for c in data.chunks:
        assert data.articles[c.article_id].text[c.start:c.end] == c.text
    assert len(data.sentences) == report.sentences
    assert sum(len(r) for r in data.sentences_by_article.values()) == report.sentences
    assert report.disk_bytes == index_mod.disk_size(report.path) > 0


def test_loading_checks_offsets_without_reading_articles_into_memory(corpus, tmp_path):
    settings = settings_for(corpus, tmp_path)
    build_index(settings, embedder=HashEmbedding())
    data = load_index(settings.index_dir, "test:hash", settings)
    assert len(data.articles._cache) == 0  # the offsets check streamed the file instead
    first = next(iter(data.articles))
    data.articles[first]
    assert list(data.articles._cache) == [first]


def test_out_of_range_sentence_offsets_are_refused(corpus, tmp_path):
    from assistant.errors import IndexCorruptError

    settings = settings_for(corpus, tmp_path)
    report = build_index(settings, embedder=HashEmbedding())
    manifest = json.loads((report.path / "manifest.json").read_text())
    del manifest["files"]  # as an older version wrote it: only the value checks can catch damage
    (report.path / "manifest.json").write_text(json.dumps(manifest))
    rows = [json.loads(line) for line in (report.path / "sentences.jsonl").read_text().splitlines()]
    rows[2][2] = 10_000_000
    (report.path / "sentences.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(IndexCorruptError, match="sentence 2 has offsets"):
        load_index(settings.index_dir, "test:hash", settings)


def test_chunk_vectors_are_the_length_weighted_mean_of_their_sentences(corpus, tmp_path):
    settings = settings_for(corpus, tmp_path)
    build_index(settings, embedder=HashEmbedding())
    data = load_index(settings.index_dir, "test:hash", settings)
    for ci in range(len(data.chunks)):
        ids = data.sentences_in_chunk(ci)
        sent = np.asarray(data.sentence_vectors[ids], np.float32)
        lengths = np.array([data.sentences[i].end - data.sentences[i].start for i in ids], np.float32)
        mean = lengths @ sent
        np.testing.assert_allclose(data.chunk_vectors[ci], mean / np.linalg.norm(mean), atol=2e-3)


def test_bounded_caches_forget_the_least_recently_used():
    cache = BoundedCache(maxsize=3)
    for i in range(3):
        cache[i] = str(i)
    cache.get(0)  # 0 is now the most recently used
    cache[3] = "3"
    assert list(cache) == [2, 0, 3]


def test_index_cache_tables_are_bounded(corpus, tmp_path):
    settings = settings_for(corpus, tmp_path)
    build_index(settings, embedder=HashEmbedding())
    data = load_index(settings.index_dir, "test:hash", settings)
    table = data.cache.setdefault("sentence_facts", {})
    assert isinstance(table, BoundedCache)
    for i in range(table.maxsize + 10):
        table[i] = i
    assert len(table) == table.maxsize


def test_killed_build_resumes_from_its_checkpoints(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(index_mod, "CHECKPOINT_TEXTS", 40)
    settings = settings_for(corpus, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, embedder=HashEmbedding(fail_after_calls=3))
    saved = list((settings.index_dir / index_mod.WORK).rglob("*.npy"))
    assert saved, "embedded batches were checkpointed before the kill"

    resumed = HashEmbedding()
    report = build_index(settings, embedder=resumed)
    assert report.resumed_batches == len(saved)
    assert 0 < resumed.texts < report.sentences
    assert report.embedded_texts == resumed.texts
    assert not (settings.index_dir / index_mod.WORK).exists()

    clean_settings = settings.replace(index_dir=tmp_path / "clean")
    build_index(clean_settings, embedder=HashEmbedding())
    a = load_index(settings.index_dir, "test:hash", settings)
    b = load_index(clean_settings.index_dir, "test:hash", clean_settings)
    np.testing.assert_array_equal(a.sentence_vectors, b.sentence_vectors)
    np.testing.assert_array_equal(a.chunk_vectors, b.chunk_vectors)


def test_ivf_above_the_threshold_with_recall_against_exact(corpus, tmp_path):
    import faiss

    settings = settings_for(corpus, tmp_path, exact_search_max=10, ann_nprobe=4)
    build_index(settings, embedder=HashEmbedding())
    data = load_index(settings.index_dir, "test:hash", settings)
    kind = data.manifest["faiss"]
    assert kind["type"] == "IndexIVFScalarQuantizer" and kind["nprobe"] == min(4, kind["nlist"])
    assert faiss.extract_index_ivf(data.vector_store.client).nprobe == kind["nprobe"]
    assert data.vector_store.client.ntotal == len(data.chunks)

    # the same kind of index on a larger synthetic collection finds what exact search finds
    base, queries = clustered(20000)
    kind = faiss_kind(len(base), exact_max=1000, nprobe=settings.ann_nprobe * 4)
    assert kind["type"] == "IndexIVFScalarQuantizer"
    exact = build_faiss(base, faiss_kind(len(base), exact_max=len(base)))
    _, truth = exact.search(queries, 10)
    _, found = build_faiss(base, kind).search(queries, 10)
    assert recall_at_10(found, truth) >= 0.95
    assert faiss_kind(1000, exact_max=1000)["type"] == "IndexFlatIP"


def test_old_format_index_says_rebuild_and_index_rebuilds_it(corpus, tmp_path):
    settings = settings_for(corpus, tmp_path)
    build_index(settings, embedder=HashEmbedding())
    path = index_mod.resolve(settings.index_dir)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 3
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"format 3.*assistant index --rebuild"):
        load_index(settings.index_dir, "test:hash", settings)
    embedder = HashEmbedding()
    report = build_index(settings, embedder=embedder)
    assert len(report.added) == 5 and embedder.texts == report.sentences
    assert load_index(settings.index_dir, "test:hash", settings).manifest["format_version"] == \
        index_mod.FORMAT_VERSION


@pytest.mark.slow
def test_bench_script_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--sizes", "12", "--runs", "1",
         "--queries", "2", "--ann-vectors", "3000", "--ann-queries", "20", "--nprobe", "4,16",
         "--threads", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    (size,) = figures["sizes"]
    assert size["chunks"] >= 12 and size["serve"]["chunks"] == size["chunks"]
    assert len(size["serve"]["ask_s"]) == 2 and all(t > 0 for t in size["times"]["build"])
    assert [r["nprobe"] for r in figures["ann"]["rows"]] == [4, 16]
    assert all(0.0 <= r["recall_at_10"] <= 1.0 for r in figures["ann"]["rows"])
    assert "| chunks |" in proc.stdout and "recall@10" in proc.stdout


def test_faiss_search_runs_on_one_thread_and_restores_the_count(monkeypatch):
    import faiss

    from assistant.store.faiss import make_store

    vectors = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    store = make_store(vectors, faiss_kind(200, exact_max=1000))
    seen = []
    original = store.client.search
    monkeypatch.setattr(store.client, "search",
                        lambda *a, **kw: (seen.append(faiss.omp_get_max_threads()), original(*a, **kw))[1])
    faiss.omp_set_num_threads(2)
    hits = store.search(vectors[7], 3)
    assert seen == [1] and faiss.omp_get_max_threads() == 2
    assert hits[0][0] == int(np.argmax(vectors @ vectors[7]))

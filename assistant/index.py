"""Stage 4: the on-disk index (dense vectors in FAISS + BM25), built incrementally.

Layout of ``index/``::

    index/
      current -> v-20261121T220000-ab12cd   (symlink, swapped atomically)
      v-.../manifest.json                   format, embedder, chunking, per-article hashes,
                                            a sha256 of every other file (verified on load)
      v-.../articles.jsonl                  the cleaned texts every offset refers to
      v-.../articles.offsets.json           byte offset of each article's line, read on demand
      v-.../chunks.jsonl, chunk_vectors.npy
      v-.../sentences.jsonl, sentence_vectors.npy   (vectors float16, memory-mapped)
      v-.../faiss.index                     written by llama-index's FaissVectorStore (store/faiss.py)
      v-.../bm25/                           bm25s
      .work/                                embedded batches of a build in progress

What is embedded: every sentence, once, with its article's title; a chunk's vector is
the length-weighted mean of its sentences' vectors (sentences are what the reader ranks, and
embedding them costs less than embedding the chunks, whose overlap embeds text twice).
Batches are checkpointed in ``.work/`` so a killed build resumes where it stopped.

Loaded indexes stay off the heap: vectors are memory-mapped float16, article texts are
read from disk when asked for (a bounded cache keeps the recent ones), and chunks and
sentences are compact arrays that make their ``Chunk``/``Sentence`` values on access.

A build writes a new version folder and then replaces the ``current`` link in one
``rename``: a crash or Ctrl-C mid-build leaves the previous index in use. Articles
whose content hash is unchanged keep their vectors; only new or changed articles
are embedded again. A version whose files fail their checksums or hold impossible
values (NaN vectors, offsets outside the text, BM25 arrays that disagree) is refused
on load and never copied into the next build: that build embeds everything again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .chunk import chunk_article, embedding_text, sentences as article_sentences
from .embed import LocalEmbedding, load_embedder, spec_of
from .errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
from .ingest import load_corpus
from .safety import flag_warnings, flagged_articles
from .store import check_store, store_kind
from .store import faiss as faiss_store
from .store.faiss import FaissChunkStore, build_faiss, faiss_kind  # noqa: F401  (re-exported)
from .text import stems
from .types import Article, Chunk, Sentence

log = logging.getLogger(__name__)

#: 4: float16 memory-mapped vectors, chunk vectors derived from sentences, article offsets.
FORMAT_VERSION = 4
#: bump when ``text.stems`` changes: BM25 postings built with other tokens would not match.
TOKENIZER_VERSION = 2
CURRENT = "current"
WORK = ".work"
REBUILD_HINT = "run `assistant index --rebuild`"
#: how many articles, and derived per-sentence facts, a loaded index keeps in memory.
CACHE_ITEMS = 4096
#: texts per checkpointed batch: a kill mid-build loses at most one batch.
CHECKPOINT_TEXTS = 256
VECTOR_DTYPE = np.float16


@dataclass(frozen=True)
class BuildReport:
    """What ``build_index`` did, for the CLI and the closing notes."""

    path: Path
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    chunks: int
    sentences: int
    embedded_texts: int
    seconds: float
    #: batches taken from an interrupted build's checkpoints instead of embedded again
    resumed_batches: int = 0
    disk_bytes: int = 0
    #: what the build noticed and worked around (a damaged previous index, flagged articles)
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        resumed = f" ({self.resumed_batches} batches resumed)" if self.resumed_batches else ""
        line = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks} chunks and {self.sentences} sentences, "
            f"{self.embedded_texts} texts embedded{resumed} in {self.seconds:.1f}s -> {self.path} "
            f"({self.disk_bytes / 1e6:.1f} MB on disk)"
        )
        return "\n".join([line, *(f"warning: {w}" for w in self.warnings)])


class BoundedCache(OrderedDict):
    """A dict that forgets its least recently used entries beyond ``maxsize`` (thread-safe
    for ``get`` and item assignment, the two calls the answering stages make)."""

    def __init__(self, maxsize: int = CACHE_ITEMS) -> None:
        super().__init__()
        self.maxsize = maxsize
        self._guard = threading.Lock()

    def get(self, key, default=None):
        with self._guard:
            if key in self:
                self.move_to_end(key)
                return super().__getitem__(key)
            return default

    def __setitem__(self, key, value) -> None:
        with self._guard:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > self.maxsize:
                self.popitem(last=False)


class _Caches(dict):
    """``IndexData.cache``: a per-index memo whose per-item tables are bounded.

    Answering stages call ``cache.setdefault(name, {})`` for a per-sentence or
    per-article table; that table is a ``BoundedCache`` here, so a long-running
    server's memory does not grow with the number of sentences it has seen.
    """

    def setdefault(self, key, default=None):
        if key not in self and isinstance(default, dict) and not default:
            default = BoundedCache()
        return super().setdefault(key, default)


class ArticleStore(Mapping):
    """Articles by id, each read from ``articles.jsonl`` when first asked for."""

    def __init__(self, path: Path, offsets: dict[str, int], maxsize: int = CACHE_ITEMS) -> None:
        self._path = path
        self._offsets = offsets
        self._cache = BoundedCache(maxsize)
        self._lock = threading.Lock()

    def __getitem__(self, article_id: str) -> Article:
        with self._lock:
            article = self._cache.get(article_id)
            if article is None:
                offset = self._offsets[article_id]  # KeyError for an unknown id, as a dict
                with self._path.open("rb") as fh:
                    fh.seek(offset)
                    article = _article(json.loads(fh.readline()))
                self._cache[article_id] = article
            return article

    def text_lengths(self) -> dict[str, int]:
        """Article id -> length of its text, read in one pass without filling the cache."""
        out: dict[str, int] = {}
        with self._path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    out[r["id"]] = len(r["text"])
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._offsets


class ChunkTable(Sequence):
    """The chunks as arrays; ``table[i]`` is a ``Chunk`` whose text is read on demand."""

    def __init__(self, ids: list[str], article_ids: list[str], article_of: np.ndarray,
                 spans: np.ndarray, articles: Mapping[str, Article]) -> None:
        self.ids = ids
        self._article_ids = article_ids
        self._article_of = article_of
        self._spans = spans
        self._articles = articles

    def __len__(self) -> int:
        return len(self.ids)

    def span(self, i: int) -> tuple[int, int, int]:
        """(article position, start, end) of chunk ``i``, without reading the article's text."""
        return int(self._article_of[i]), int(self._spans[i, 0]), int(self._spans[i, 1])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        aid = self._article_ids[self._article_of[i]]
        start, end = int(self._spans[i, 0]), int(self._spans[i, 1])
        return Chunk(id=self.ids[i], article_id=aid, text=self._articles[aid].text[start:end],
                     start=start, end=end)


class SentenceTable(Sequence):
    """The sentences as arrays; ``table[i]`` is a ``Sentence``."""

    def __init__(self, article_ids: list[str], article_of: np.ndarray, spans: np.ndarray) -> None:
        self._article_ids = article_ids
        self._article_of = article_of
        self._spans = spans

    def __len__(self) -> int:
        return len(self._article_of)

    @property
    def spans(self) -> np.ndarray:
        """(start, end) of every sentence, one row each."""
        return self._spans

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Sentence(self._article_ids[self._article_of[i]], int(self._spans[i, 0]), int(self._spans[i, 1]))


def _ranges(article_ids: list[str], article_of: np.ndarray) -> dict[str, range]:
    """Article id -> the range of rows it owns (rows are grouped by article)."""
    out: dict[str, range] = {}
    if len(article_of):
        cuts = np.flatnonzero(np.diff(article_of)) + 1
        bounds = np.concatenate([[0], cuts, [len(article_of)]])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            out[article_ids[article_of[lo]]] = range(int(lo), int(hi))
    return out


@dataclass
class IndexData:
    """A loaded index: everything retrieval and answering read, nothing they write.

    ``articles`` is a mapping, ``chunks`` and ``sentences`` are sequences and the
    vectors are (memory-mapped) arrays; in a freshly built or loaded index all of them
    are the compact, on-demand kinds above.
    """

    path: Path
    manifest: dict[str, Any]
    articles: Mapping[str, Article]
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray
    vector_store: Any
    bm25: Any
    sentences_by_article: Mapping[str, Sequence[int]] = field(default_factory=dict)
    chunks_by_article: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sentences_by_article:
            by_article: dict[str, list[int]] = {}
            for i, s in enumerate(self.sentences):
                by_article.setdefault(s.article_id, []).append(i)
            self.sentences_by_article = by_article
        if not self.chunks_by_article:
            chunk_rows: dict[str, list[int]] = {}
            for i, c in enumerate(self.chunks):
                chunk_rows.setdefault(c.article_id, []).append(i)
            self.chunks_by_article = chunk_rows
        self._chunk_sentences: BoundedCache = BoundedCache()
        ids = self.chunks.ids if isinstance(self.chunks, ChunkTable) else [c.id for c in self.chunks]
        self.chunk_positions = {cid: i for i, cid in enumerate(ids)}
        #: derived per-sentence and per-token facts, filled on first use by the answering stages
        self.cache: dict[str, Any] = _Caches()

    def sentences_in_chunk(self, chunk_index: int) -> list[int]:
        """Indices (into ``sentences``) of the sentences inside one chunk, cached."""
        cached = self._chunk_sentences.get(chunk_index)
        if cached is None:
            c = self.chunks[chunk_index]
            rows = self.sentences_by_article.get(c.article_id, [])
            if isinstance(self.sentences, SentenceTable) and isinstance(rows, range):
                spans = self.sentences.spans[rows.start:rows.stop]
                inside = np.flatnonzero((spans[:, 0] >= c.start) & (spans[:, 1] <= c.end))
                cached = [rows.start + int(i) for i in inside]
            else:
                cached = [i for i in rows
                          if self.sentences[i].start >= c.start and self.sentences[i].end <= c.end]
            self._chunk_sentences[chunk_index] = cached
        return cached


# --- reading -----------------------------------------------------------------------


def resolve(index_dir: Path) -> Path:
    """The folder of the index version in use, or IndexNotFoundError."""
    index_dir = Path(index_dir)
    link = index_dir / CURRENT
    if not link.exists():
        if (index_dir / "manifest.json").is_file():
            return index_dir
        raise IndexNotFoundError(f"no index at {index_dir}; run `assistant index` to build it")
    return link.resolve()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = resolve(index_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest {path} is unreadable ({exc}); {REBUILD_HINT}") from None
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise IndexCorruptError(f"index manifest {path} is not an assistant manifest; {REBUILD_HINT}")
    return manifest


def check_compatible(manifest: dict[str, Any], embedder_id: str, settings=None) -> None:
    """Raise IndexMismatchError when the index cannot serve this configuration."""
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {version} is not the format this version reads ({FORMAT_VERSION}); {REBUILD_HINT}"
        )
    built_with = manifest.get("embedder", {}).get("id")
    if built_with != embedder_id:
        back = spec_of(str(built_with))
        raise IndexMismatchError(
            f"index built with embedder {built_with}, but {embedder_id} is configured; {REBUILD_HINT} "
            + (f"(or set ASSISTANT_EMBEDDER={back} to use it as it is)" if back else "(or set ASSISTANT_EMBEDDER back)")
        )
    tokenizer = manifest.get("bm25", {}).get("tokenizer_version")
    if tokenizer != TOKENIZER_VERSION:
        raise IndexMismatchError(
            f"index built with BM25 tokenizer v{tokenizer}, this version uses v{TOKENIZER_VERSION}; {REBUILD_HINT}"
        )
    if settings is not None:
        check_store(manifest, settings)
        chunking = manifest.get("chunking", {})
        wanted = {"max_tokens": settings.chunk_tokens, "overlap_tokens": settings.chunk_overlap_tokens}
        if chunking and {k: chunking.get(k) for k in wanted} != wanted:
            raise IndexMismatchError(
                f"index chunked with {chunking}, settings ask for {wanted}; {REBUILD_HINT}"
            )


def load_index(index_dir: Path, embedder_id: str | None = None, settings=None) -> IndexData:
    """Load and verify an index; every failure is an IndexError subclass with a next step."""
    path = resolve(index_dir)
    manifest = read_manifest(index_dir)
    if embedder_id is not None:
        check_compatible(manifest, embedder_id, settings)
    verify_checksums(path, manifest)
    try:
        articles, chunks, sents = _load_tables(path)
        chunk_vectors = np.load(path / "chunk_vectors.npy", mmap_mode="r", allow_pickle=False)
        sentence_vectors = np.load(path / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False)
        vector_store = (faiss_store.load_store(path, manifest.get("faiss", {}))
                        if store_kind(manifest) == "faiss" else None)
        bm25 = _load_bm25(path)
    except IndexCorruptError:
        raise
    except Exception as exc:  # any damaged file: say which index, and what to do
        raise IndexCorruptError(
            f"index at {path} is damaged ({type(exc).__name__}: {exc}); {REBUILD_HINT}"
        ) from None
    if vector_store is None:
        vector_store = _open_qdrant(manifest, path, index_dir, settings)
    dim = manifest.get("embedder", {}).get("dimension")
    problems = []
    if chunk_vectors.shape != (len(chunks), dim):
        problems.append(f"chunk vectors {chunk_vectors.shape} for {len(chunks)} chunks of dim {dim}")
    if sentence_vectors.shape != (len(sents), dim):
        problems.append(f"sentence vectors {sentence_vectors.shape} for {len(sents)} sentences")
    dense_total = vector_store.count()
    if dense_total != len(chunks):
        problems.append(f"{store_kind(manifest)} holds {dense_total} vectors for {len(chunks)} chunks")
    if set(manifest.get("articles", {})) != set(articles):
        problems.append("manifest and articles disagree")
    if not problems:
        problems = _value_problems(articles, chunks, sents, chunk_vectors, sentence_vectors, bm25)
    if problems:
        raise IndexCorruptError(f"index at {path} is inconsistent ({'; '.join(problems)}); {REBUILD_HINT}")
    return IndexData(path, manifest, articles, chunks, chunk_vectors, sents, sentence_vectors,
                     vector_store, bm25, sentences_by_article=_ranges(sents._article_ids, sents._article_of),
                     chunks_by_article=_ranges(chunks._article_ids, chunks._article_of))


def _article(r: dict[str, Any]) -> Article:
    return Article(id=r["id"], title=r["title"], text=r["text"],
                   path=Path(r["path"]) if r.get("path") else None,
                   language=r.get("language", "fr"), metadata=r.get("metadata", {}),
                   content_hash=r.get("content_hash", ""))


def _load_tables(path: Path) -> tuple[ArticleStore, ChunkTable, SentenceTable]:
    offsets = json.loads((path / "articles.offsets.json").read_text(encoding="utf-8"))
    articles = ArticleStore(path / "articles.jsonl", offsets)
    article_ids = list(offsets)
    position = {aid: i for i, aid in enumerate(article_ids)}
    chunk_ids, chunk_of, chunk_spans = [], [], []
    for r in _read_jsonl(path / "chunks.jsonl"):
        chunk_ids.append(r["id"])
        chunk_of.append(position[r["article_id"]])
        chunk_spans.append((r["start"], r["end"]))
    sent_of, sent_spans = [], []
    for r in _read_jsonl(path / "sentences.jsonl"):
        sent_of.append(position[r[0]])
        sent_spans.append((r[1], r[2]))
    spans = lambda rows: np.asarray(rows, dtype=np.int64).reshape(-1, 2)  # noqa: E731
    chunks = ChunkTable(chunk_ids, article_ids, np.asarray(chunk_of, np.int32), spans(chunk_spans), articles)
    sents = SentenceTable(article_ids, np.asarray(sent_of, np.int32), spans(sent_spans))
    return articles, chunks, sents


def file_checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file of an index version but its manifest, by relative path."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != "manifest.json":
            with open(f, "rb") as fh:
                out[f.relative_to(folder).as_posix()] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def verify_checksums(path: Path, manifest: dict[str, Any]) -> None:
    """Raise IndexCorruptError naming every file that is missing or not what was written."""
    expected = manifest.get("files")
    if not isinstance(expected, dict):
        log.info("index at %s has no file checksums (built by an older version): not verified", path)
        return
    try:
        actual = file_checksums(path)
    except OSError as exc:
        raise IndexCorruptError(f"index at {path} cannot be read ({exc.strerror}: {exc.filename})") from None
    bad = sorted(name for name, digest in expected.items() if actual.get(name) != digest)
    if bad:
        raise IndexCorruptError(
            f"index at {path} is damaged ({', '.join(bad)} {'differs' if len(bad) == 1 else 'differ'} "
            f"from what was written); {REBUILD_HINT}"
        )


def _value_problems(articles: dict[str, Article], chunks: list[Chunk], sents: list[Sentence],
                    chunk_vectors: np.ndarray, sentence_vectors: np.ndarray, bm25) -> list[str]:
    """Values no build writes: each would give a wrong answer or a traceback later."""
    problems = []
    for name, vectors in (("chunk", chunk_vectors), ("sentence", sentence_vectors)):
        bad = _non_finite_rows(vectors)
        if len(bad):
            problems.append(f"{len(bad)} {name} vectors hold NaN or infinite values (first: row {bad[0]})")
    if isinstance(articles, ArticleStore) and isinstance(chunks, ChunkTable) and isinstance(sents, SentenceTable):
        # the tables' arrays against each article's length: no Chunk objects, and the
        # article cache stays empty until a question needs an article
        lengths = articles.text_lengths()
        for name, table in (("chunk", chunks), ("sentence", sents)):
            limit = np.asarray([lengths.get(aid, -1) for aid in table._article_ids], np.int64)[table._article_of]
            starts, ends = table._spans[:, 0], table._spans[:, 1]
            bad = np.flatnonzero((starts < 0) | (starts >= ends) | (ends > limit))
            if len(bad):
                i = int(bad[0])
                problems.append(f"{name} {i} has offsets {starts[i]}:{ends[i]} outside its article")
        return problems + _bm25_problems(bm25, len(chunks))
    for name, spans in (("chunk", chunks), ("sentence", sents)):
        for i, span in enumerate(spans):
            text = articles[span.article_id].text if span.article_id in articles else None
            if text is None or not (isinstance(span.start, int) and isinstance(span.end, int)
                                    and 0 <= span.start < span.end <= len(text)):
                problems.append(f"{name} {i} has offsets {span.start}:{span.end} outside its article")
                break
    problems += _bm25_problems(bm25, len(chunks))
    return problems


def _non_finite_rows(vectors: np.ndarray, block: int = 65536) -> np.ndarray:
    """Rows holding NaN or inf, read a block at a time (a memory-mapped array stays on disk)."""
    bad = [start + np.flatnonzero(~np.isfinite(vectors[start:start + block]).all(axis=1))
           for start in range(0, len(vectors), block)]
    return np.concatenate(bad) if bad else np.zeros(0, np.int64)


def _bm25_problems(bm25, n_chunks: int) -> list[str]:
    """Is the BM25 matrix (bm25s' CSC arrays) consistent with itself and the chunks?"""
    try:
        scores = bm25.scores
        data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
        num_docs = int(scores["num_docs"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return [f"BM25 arrays are missing ({exc})"]
    if num_docs != n_chunks:
        return [f"BM25 holds {num_docs} documents for {n_chunks} chunks"]
    if data.ndim != 1 or indices.shape != data.shape or indptr.ndim != 1 or len(indptr) < 1:
        return [f"BM25 arrays have shapes {data.shape}, {indices.shape}, {indptr.shape}"]
    if indptr[0] != 0 or indptr[-1] != len(data) or np.any(np.diff(indptr) < 0):
        return ["BM25 pointer array is not a valid column index"]
    if len(indices) and (indices.min() < 0 or indices.max() >= num_docs):
        return ["BM25 document numbers fall outside the chunks"]
    if not np.isfinite(data).all():
        return ["BM25 scores hold NaN or infinite values"]
    ids = [j for tok, j in bm25.vocab_dict.items() if tok]
    if ids and (min(ids) < 0 or max(ids) >= len(indptr) - 1):
        return ["BM25 vocabulary points outside its arrays"]
    return []


def _read_jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _open_qdrant(manifest: dict[str, Any], path: Path, index_dir: Path, settings):
    from .config import Settings
    from .store.qdrant import open_collection

    settings = settings or Settings.load({"index_dir": index_dir})
    return open_collection(settings, manifest["store"], path)


def _load_bm25(path: Path):
    from .store.bm25 import BM25Postings  # numpy only: bm25s (and scipy) only where building

    return BM25Postings.load(path / "bm25")


# --- writing -------------------------------------------------------------------------


@contextlib.contextmanager
def _write_errors(index_dir: Path) -> Iterator[None]:
    """A full disk or a folder the process may not write: one line, the old index intact."""
    try:
        yield
    except OSError as exc:
        where = f"{exc.filename}" if exc.filename else str(index_dir)
        # numpy reports a write cut short by a full disk without an errno
        short_write = exc.errno is None and re.search(r"\d+ requested and \d+ written", str(exc))
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or short_write:
            raise IndexWriteError(
                f"no space left on the disk of {index_dir} while writing {where}; free some space and "
                "run `assistant index` again (the previous index is still in use)") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise IndexWriteError(
                f"cannot write to the index folder {index_dir} ({exc.strerror}: {where}); fix its "
                "permissions or set ASSISTANT_INDEX_DIR (the previous index is still in use)") from None
        raise IndexWriteError(
            f"writing the index at {index_dir} failed ({exc.strerror or exc}: {where}); "
            "the previous index is still in use") from None


@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"another process is building the index at {index_dir}; wait for it") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_index(
    settings,
    *,
    embedder: LocalEmbedding | None = None,
    rebuild: bool = False,
    progress: bool = False,
    ray_address: str | None = None,
) -> BuildReport:
    """Build or update the index at ``settings.index_dir`` from ``settings.corpus_dir``.

    Only new or changed articles are embedded; removed ones are dropped. With
    ``rebuild=True`` everything is embedded again (needed after changing embedder).
    ``ray_address`` (``""``: a local Ray) spreads the embedding over a Ray cluster.
    Embedded batches are checkpointed under ``index/.work/`` until the new version is
    in place, so a build killed midway resumes from them (``BuildReport.resumed_batches``).
    """
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    articles = load_corpus(Path(settings.corpus_dir))
    embedder = embedder or load_embedder(settings.embedder, settings.embed_threads)
    flagged = flagged_articles(articles)
    warnings: list[str] = flag_warnings(flagged)
    for w in warnings:
        log.warning("%s", w)
    with _write_errors(index_dir), _locked(index_dir):
        old: IndexData | None = None
        if not rebuild:
            try:
                # vectors do not depend on the store: switching store re-uses them
                built_for = settings.replace(store=store_kind(read_manifest(index_dir)))
                old = load_index(index_dir, embedder.embedder_id, built_for)
            except IndexNotFoundError:
                old = None
            except IndexMismatchError as exc:
                if "index format" not in str(exc):
                    raise
                log.info("index: %s; building it again in the new format", exc)
            except IndexCorruptError as exc:  # never copy damaged vectors into the new version
                warnings.append(f"the previous index was damaged, every article is embedded again ({exc})")
                log.warning("%s", warnings[-1])
                old = None
        old_hashes = old.manifest["articles"] if old else {}
        new_ids = {a.id for a in articles}
        report_sets: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": []}
        todo: list[Article] = []
        for a in articles:
            prev = old_hashes.get(a.id)
            if prev is None:
                report_sets["added"].append(a.id)
                todo.append(a)
            elif prev.get("hash") != a.content_hash:
                report_sets["changed"].append(a.id)
                todo.append(a)
            else:
                report_sets["unchanged"].append(a.id)
        removed = sorted(set(old_hashes) - new_ids)

        params = dict(max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens,
                      count_tokens=embedder.count_tokens)
        work = index_dir / WORK / _slug(embedder.embedder_id)
        if ray_address is None:
            fresh, embedded, resumed = _embed_articles(todo, embedder, params, progress, work)
        else:
            from .distributed import ray_encoder

            with ray_encoder(settings, embedder, ray_address) as encoder:
                fresh, embedded, resumed = _embed_articles(todo, encoder, params, progress, work)
        per_article: dict[str, tuple[list[Chunk], np.ndarray, list[Sentence], np.ndarray]] = dict(fresh)
        if old:
            for aid in report_sets["unchanged"]:
                per_article[aid] = _slice_old(old, aid)

        chunks: list[Chunk] = []
        sents: list[Sentence] = []
        cvecs, svecs = [], []
        for a in articles:
            c, cv, s, sv = per_article[a.id]
            chunks += c
            sents += s
            cvecs.append(cv)
            svecs.append(sv)
        dim = embedder.dimension
        chunk_vectors = np.vstack(cvecs) if cvecs else np.zeros((0, dim), np.float32)
        sentence_vectors = np.vstack(svecs) if svecs else np.zeros((0, dim), np.float32)
        kind = faiss_kind(len(chunks), settings.exact_search_max, settings.ann_nprobe)

        manifest = {
            "format_version": FORMAT_VERSION,
            "embedder": {"id": embedder.embedder_id, "dimension": dim},
            "chunking": {"max_tokens": settings.chunk_tokens, "overlap_tokens": settings.chunk_overlap_tokens,
                         "title_prefix": True, "unit": "sentence"},
            "vectors": {"dtype": np.dtype(VECTOR_DTYPE).name, "embedded": "sentences",
                        "chunk_vector": "length-weighted mean of its sentences, normalised"},
            "faiss": kind,
            "bm25": {"library": "bm25s", "tokens": "accent-folded French+English Snowball stems",
                     "tokenizer_version": TOKENIZER_VERSION},
            "articles": {a.id: {"hash": a.content_hash, "title": a.title, "chunks": len(per_article[a.id][0]),
                                **({"instructions": len(flagged[a.id])} if a.id in flagged else {})}
                         for a in articles},
            "counts": {"articles": len(articles), "chunks": len(chunks), "sentences": len(sents)},
            "corpus_dir": str(Path(settings.corpus_dir).resolve()),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if settings.store == "qdrant":
            from .store.qdrant import current_collection, retire_collections, write_collection

            previous = current_collection(index_dir)
            manifest["store"] = write_collection(settings, chunks, chunk_vectors, {a.id: a for a in articles})
        final = _write_version(index_dir, manifest, articles, chunks, chunk_vectors, sents,
                               sentence_vectors, kind)
        if settings.store == "qdrant":
            retire_collections(settings, keep={manifest["store"]["collection"], previous})
        shutil.rmtree(index_dir / WORK, ignore_errors=True)
    report = BuildReport(final, tuple(report_sets["added"]), tuple(report_sets["changed"]),
                         tuple(removed), tuple(report_sets["unchanged"]), len(chunks), len(sents),
                         embedded, time.perf_counter() - t0, resumed, disk_size(final),
                         tuple(warnings))
    log.info("index: %s", report.summary())
    return report


def disk_size(path: Path) -> int:
    """Bytes the files under ``path`` take."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def footprint(index_dir: Path) -> dict[str, float]:
    """Index size on disk and the RSS a fresh process gains by loading it, with both per
    1,000 articles (measured in a subprocess so this process's own memory does not count)."""
    import subprocess
    import sys

    path = resolve(index_dir)
    articles = max(1, int(read_manifest(index_dir).get("counts", {}).get("articles", 0)))
    code = "import json, sys; from assistant.index import _loading_rss_mb; print(json.dumps(_loading_rss_mb(sys.argv[1])))"
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env)
    rss = float(json.loads(proc.stdout.strip().splitlines()[-1])) if proc.returncode == 0 else float("nan")
    disk = disk_size(path) / 1e6
    return {"disk_mb": disk, "rss_mb": rss, "articles": articles,
            "disk_mb_per_1k_articles": disk / articles * 1000, "rss_mb_per_1k_articles": rss / articles * 1000}


def _loading_rss_mb(index_dir: str) -> float:
    import faiss  # noqa: F401  (the libraries are the process's cost, not the index's)


    def rss() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    before = rss()
    data = load_index(Path(index_dir))
    after = rss()
    del data
    return after - before


def _slug(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _batches(work: list[tuple[Article, list[Chunk], list[Sentence]]], size: int):
    """Whole articles grouped into batches of about ``size`` sentences."""
    batch: list[tuple[Article, list[Chunk], list[Sentence]]] = []
    n = 0
    for item in work:
        batch.append(item)
        n += len(item[2])
        if n >= size:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def _embed_articles(todo: list[Article], embedder: LocalEmbedding, params: dict, progress: bool,
                    work_dir: Path):
    """Chunks, chunk vectors, sentences and sentence vectors of each article in ``todo``.

    Returns (per article, texts embedded now, batches reused from ``work_dir``).
    """
    work = []
    for a in todo:
        work.append((a, chunk_article(a, **params), article_sentences(a)))
    total = sum(len(ss) for _, _, ss in work)
    bar = None
    if progress and total:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="embedding", unit="sentence")
    out: dict[str, tuple[list[Chunk], np.ndarray, list[Sentence], np.ndarray]] = {}
    embedded = resumed = 0
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        for batch in _batches(work, CHECKPOINT_TEXTS):
            texts = [embedding_text(a.title, a.text[s.start:s.end]) for a, _, ss in batch for s in ss]
            key = hashlib.sha1("\x00".join([embedder.embedder_id, *texts]).encode("utf-8")).hexdigest()
            saved = work_dir / f"{key}.npy"
            vectors = None
            if saved.is_file():
                with contextlib.suppress(ValueError, OSError):
                    vectors = np.load(saved, allow_pickle=False)
                if vectors is not None and vectors.shape != (len(texts), embedder.dimension):
                    vectors = None
            if vectors is None:
                vectors = embedder.embed_passages(texts, progress=bar.update if bar else None)
                tmp = work_dir / f".{key}.tmp.npy"
                np.save(tmp, vectors.astype(np.float32))
                os.replace(tmp, saved)
                embedded += len(texts)
            else:
                resumed += 1
                if bar:
                    bar.update(len(texts))
            i = 0
            for a, cs, ss in batch:
                sv = vectors[i:i + len(ss)]
                i += len(ss)
                out[a.id] = (cs, chunk_vectors_from(cs, ss, sv, embedder), ss, sv)
    finally:
        if bar:
            bar.close()
    return out, embedded, resumed


def chunk_vectors_from(chunks: list[Chunk], sents: list[Sentence], sentence_vectors: np.ndarray,
                       embedder: LocalEmbedding | None = None) -> np.ndarray:
    """Each chunk's vector: the mean of its sentences' vectors weighted by their length, normalised.

    Weighting by length keeps a short heading line from counting as much as a long
    sentence, as it would not in an embedding of the whole chunk (measured in the README).
    """
    dim = sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else (embedder.dimension if embedder else 0)
    out = np.zeros((len(chunks), dim), np.float32)
    starts = np.asarray([s.start for s in sents], np.int64)
    ends = np.asarray([s.end for s in sents], np.int64)
    lengths = (ends - starts).astype(np.float32)
    for k, c in enumerate(chunks):
        inside = (starts >= c.start) & (ends <= c.end)
        if inside.any():
            out[k] = lengths[inside] @ sentence_vectors[inside]
        elif embedder is not None:  # cannot happen with sentence-aligned chunks; kept safe
            out[k] = embedder.embed_passages([c.text])[0]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


def _slice_old(old: IndexData, aid: str):
    ci = list(old.chunks_by_article.get(aid, []))
    si = list(old.sentences_by_article.get(aid, []))
    return ([old.chunks[i] for i in ci], np.asarray(old.chunk_vectors[ci], np.float32),
            [old.sentences[i] for i in si], np.asarray(old.sentence_vectors[si], np.float32))


def _write_version(index_dir: Path, manifest, articles, chunks, chunk_vectors, sents,
                   sentence_vectors, kind) -> Path:
    import bm25s

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    name = f"v-{stamp}-{secrets.token_hex(3)}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        by_id = {a.id: a for a in articles}
        offsets: dict[str, int] = {}
        with (tmp / "articles.jsonl").open("wb") as fh:
            for a in articles:
                offsets[a.id] = fh.tell()
                fh.write((json.dumps({"id": a.id, "title": a.title, "text": a.text,
                                      "path": str(a.path) if a.path else None, "language": a.language,
                                      "metadata": dict(a.metadata), "content_hash": a.content_hash},
                                     ensure_ascii=False) + "\n").encode("utf-8"))
        (tmp / "articles.offsets.json").write_text(json.dumps(offsets, ensure_ascii=False), encoding="utf-8")
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps({"id": c.id, "article_id": c.article_id, "start": c.start, "end": c.end}) + "\n")
        with (tmp / "sentences.jsonl").open("w", encoding="utf-8") as fh:
            for s in sents:
                fh.write(json.dumps([s.article_id, s.start, s.end]) + "\n")
        np.save(tmp / "chunk_vectors.npy", chunk_vectors.astype(VECTOR_DTYPE))
        np.save(tmp / "sentence_vectors.npy", sentence_vectors.astype(VECTOR_DTYPE))
        if store_kind(manifest) == "faiss":
            store = faiss_store.make_store(chunk_vectors, kind)
            store.persist(persist_path=str(tmp / faiss_store.INDEX_FILE))
        bm25 = bm25s.BM25()
        bm25.index([stems(by_id[c.article_id].title + "\n" + c.text) or ["_"] for c in chunks],
                   show_progress=False)
        bm25.save(str(tmp / "bm25"), show_progress=False)
        manifest = {**manifest, "files": file_checksums(tmp)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        final = index_dir / name
        os.rename(tmp, final)
        _swap_current(index_dir, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_versions(index_dir, keep=name)
    return final


def _swap_current(index_dir: Path, name: str) -> None:
    link_tmp = index_dir / f".current-{secrets.token_hex(4)}"
    os.symlink(name, link_tmp)
    os.replace(link_tmp, index_dir / CURRENT)  # atomic on POSIX
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove_old_versions(index_dir: Path, keep: str) -> None:
    for p in index_dir.iterdir():
        if p.is_dir() and not p.is_symlink() and p.name != keep and (
            p.name.startswith("v-") or p.name.startswith(".tmp-v-")
        ):
            shutil.rmtree(p, ignore_errors=True)

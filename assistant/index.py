"""Stage 4: the on-disk index (dense vectors in FAISS + BM25), built incrementally.

Layout of ``index/``::

    index/
      current -> v-20261121T220000-ab12cd   (symlink, swapped atomically)
      v-.../manifest.json                   format, embedder, chunking, per-article hashes,
                                            a sha256 of every other file (verified on load)
      v-.../articles.jsonl                  the cleaned texts every offset refers to
      v-.../chunks.jsonl, chunk_vectors.npy
      v-.../sentences.jsonl, sentence_vectors.npy
      v-.../faiss.index                     via llama-index's FaissVectorStore
      v-.../bm25/                           bm25s

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
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .chunk import chunk_article, embedding_text, sentences as article_sentences
from .embed import LocalEmbedding, load_embedder
from .errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
from .ingest import load_corpus
from .safety import flag_warnings, flagged_articles
from .text import stems, words
from .types import Article, Chunk, Sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
#: bump when ``text.stems`` changes: BM25 postings built with other tokens would not match.
TOKENIZER_VERSION = 2
CURRENT = "current"
REBUILD_HINT = "run `assistant index --rebuild`"


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
    #: what the build noticed and worked around (a damaged previous index, flagged articles)
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        line = (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks} chunks and {self.sentences} sentences, "
            f"{self.embedded_texts} texts embedded in {self.seconds:.1f}s -> {self.path}"
        )
        return "\n".join([line, *(f"warning: {w}" for w in self.warnings)])


@dataclass
class IndexData:
    """A loaded index: everything retrieval and answering read, nothing they write."""

    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: list[Sentence]
    sentence_vectors: np.ndarray
    vector_store: Any
    bm25: Any
    sentences_by_article: dict[str, list[int]] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        by_article: dict[str, list[int]] = {}
        for i, s in enumerate(self.sentences):
            by_article.setdefault(s.article_id, []).append(i)
        self.sentences_by_article = by_article
        self.vocabulary = frozenset(w for a in self.articles.values() for w in words(a.title + " " + a.text))
        self._chunk_sentences: dict[int, list[int]] = {}
        self.chunk_positions = {c.id: i for i, c in enumerate(self.chunks)}
        #: derived per-sentence and per-token facts, filled on first use by the answering stages
        self.cache: dict[str, Any] = {}

    def sentences_in_chunk(self, chunk_index: int) -> list[int]:
        """Indices (into ``sentences``) of the sentences inside one chunk, cached."""
        cached = self._chunk_sentences.get(chunk_index)
        if cached is None:
            c = self.chunks[chunk_index]
            cached = [i for i in self.sentences_by_article.get(c.article_id, [])
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
        raise IndexMismatchError(
            f"index built with embedder {built_with}, but {embedder_id} is configured; "
            f"{REBUILD_HINT} (or set ASSISTANT_EMBEDDER back)"
        )
    tokenizer = manifest.get("bm25", {}).get("tokenizer_version")
    if tokenizer != TOKENIZER_VERSION:
        raise IndexMismatchError(
            f"index built with BM25 tokenizer v{tokenizer}, this version uses v{TOKENIZER_VERSION}; {REBUILD_HINT}"
        )
    if settings is not None:
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
        articles = {
            r["id"]: Article(
                id=r["id"], title=r["title"], text=r["text"],
                path=Path(r["path"]) if r.get("path") else None,
                language=r.get("language", "fr"), metadata=r.get("metadata", {}),
                content_hash=r.get("content_hash", ""),
            )
            for r in _read_jsonl(path / "articles.jsonl")
        }
        chunks = [
            Chunk(id=r["id"], article_id=r["article_id"], start=r["start"], end=r["end"],
                  text=articles[r["article_id"]].text[r["start"]:r["end"]])
            for r in _read_jsonl(path / "chunks.jsonl")
        ]
        sents = [Sentence(r[0], r[1], r[2]) for r in _read_jsonl(path / "sentences.jsonl")]
        chunk_vectors = np.load(path / "chunk_vectors.npy", allow_pickle=False)
        sentence_vectors = np.load(path / "sentence_vectors.npy", allow_pickle=False)
        vector_store = _load_vector_store(path)
        bm25 = _load_bm25(path)
    except IndexCorruptError:
        raise
    except Exception as exc:  # any damaged file: say which index, and what to do
        raise IndexCorruptError(
            f"index at {path} is damaged ({type(exc).__name__}: {exc}); {REBUILD_HINT}"
        ) from None
    dim = manifest.get("embedder", {}).get("dimension")
    problems = []
    if chunk_vectors.shape != (len(chunks), dim):
        problems.append(f"chunk vectors {chunk_vectors.shape} for {len(chunks)} chunks of dim {dim}")
    if sentence_vectors.shape != (len(sents), dim):
        problems.append(f"sentence vectors {sentence_vectors.shape} for {len(sents)} sentences")
    if vector_store.client.ntotal != len(chunks):
        problems.append(f"FAISS holds {vector_store.client.ntotal} vectors for {len(chunks)} chunks")
    if set(manifest.get("articles", {})) != set(articles):
        problems.append("manifest and articles disagree")
    if not problems:
        problems = _value_problems(articles, chunks, sents, chunk_vectors, sentence_vectors, bm25)
    if problems:
        raise IndexCorruptError(f"index at {path} is inconsistent ({'; '.join(problems)}); {REBUILD_HINT}")
    return IndexData(path, manifest, articles, chunks, chunk_vectors, sents, sentence_vectors,
                     vector_store, bm25)


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


def _load_vector_store(path: Path):
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore(faiss_index=faiss.read_index(str(path / "faiss.index")))
    hnsw = getattr(store.client, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = 128
    return store


def _load_bm25(path: Path):
    import bm25s

    return bm25s.BM25.load(str(path / "bm25"), load_corpus=False, show_progress=False)


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
) -> BuildReport:
    """Build or update the index at ``settings.index_dir`` from ``settings.corpus_dir``.

    Only new or changed articles are embedded; removed ones are dropped. With
    ``rebuild=True`` everything is embedded again (needed after changing embedder).
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
                old = load_index(index_dir, embedder.embedder_id, settings)
            except IndexNotFoundError:
                old = None
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
        fresh = _embed_articles(todo, embedder, params, progress)
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

        manifest = {
            "format_version": FORMAT_VERSION,
            "embedder": {"id": embedder.embedder_id, "dimension": dim},
            "chunking": {"max_tokens": settings.chunk_tokens, "overlap_tokens": settings.chunk_overlap_tokens,
                         "title_prefix": True, "unit": "sentence"},
            "faiss": _faiss_kind(len(chunks), settings.exact_search_max),
            "bm25": {"library": "bm25s", "tokens": "accent-folded French+English Snowball stems",
                     "tokenizer_version": TOKENIZER_VERSION},
            "articles": {a.id: {"hash": a.content_hash, "title": a.title, "chunks": len(per_article[a.id][0]),
                                **({"instructions": len(flagged[a.id])} if a.id in flagged else {})}
                         for a in articles},
            "counts": {"articles": len(articles), "chunks": len(chunks), "sentences": len(sents)},
            "corpus_dir": str(Path(settings.corpus_dir).resolve()),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        final = _write_version(index_dir, manifest, articles, chunks, chunk_vectors, sents,
                               sentence_vectors, settings.exact_search_max)
        embedded = sum(len(v[0]) + len(v[2]) for v in fresh.values())
    report = BuildReport(final, tuple(report_sets["added"]), tuple(report_sets["changed"]),
                         tuple(removed), tuple(report_sets["unchanged"]), len(chunks), len(sents),
                         embedded, time.perf_counter() - t0, tuple(warnings))
    log.info("index: %s", report.summary())
    return report


def _embed_articles(todo: list[Article], embedder: LocalEmbedding, params: dict, progress: bool):
    work = []
    for a in todo:
        chunks = chunk_article(a, **params)
        sents = article_sentences(a)
        work.append((a, chunks, sents))
    texts = [embedding_text(a.title, c.text) for a, cs, _ in work for c in cs]
    texts += [embedding_text(a.title, a.text[s.start:s.end]) for a, _, ss in work for s in ss]
    bar = None
    if progress and texts:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text")
    vectors = embedder.embed_passages(texts, progress=bar.update if bar else None)
    if bar:
        bar.close()
    out, i = {}, 0
    n_chunks = sum(len(cs) for _, cs, _ in work)
    j = n_chunks
    for a, cs, ss in work:
        out[a.id] = (cs, vectors[i:i + len(cs)], ss, vectors[j:j + len(ss)])
        i += len(cs)
        j += len(ss)
    return out


def _slice_old(old: IndexData, aid: str):
    ci = [i for i, c in enumerate(old.chunks) if c.article_id == aid]
    si = old.sentences_by_article.get(aid, [])
    return ([old.chunks[i] for i in ci], old.chunk_vectors[ci], [old.sentences[i] for i in si],
            old.sentence_vectors[si])


def _faiss_kind(n: int, exact_max: int) -> dict[str, Any]:
    if n <= exact_max:
        return {"type": "IndexFlatIP", "metric": "inner_product"}
    return {"type": "IndexHNSWFlat", "metric": "inner_product", "M": 32, "efConstruction": 200, "efSearch": 128}


def _make_vector_store(vectors: np.ndarray, chunks: list[Chunk], articles: dict[str, Article],
                       exact_max: int):
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    from .chunk import to_text_nodes

    dim = vectors.shape[1]
    if len(vectors) <= exact_max:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
    store = FaissVectorStore(faiss_index=index)
    nodes = []
    for chunk, vec in zip(chunks, vectors):
        node = to_text_nodes(articles[chunk.article_id], [chunk])[0]
        node.embedding = vec.tolist()
        nodes.append(node)
    store.add(nodes)
    return store


def _write_version(index_dir: Path, manifest, articles, chunks, chunk_vectors, sents,
                   sentence_vectors, exact_max) -> Path:
    import bm25s

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    name = f"v-{stamp}-{secrets.token_hex(3)}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        by_id = {a.id: a for a in articles}
        with (tmp / "articles.jsonl").open("w", encoding="utf-8") as fh:
            for a in articles:
                fh.write(json.dumps({"id": a.id, "title": a.title, "text": a.text,
                                     "path": str(a.path) if a.path else None, "language": a.language,
                                     "metadata": dict(a.metadata), "content_hash": a.content_hash},
                                    ensure_ascii=False) + "\n")
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps({"id": c.id, "article_id": c.article_id, "start": c.start, "end": c.end}) + "\n")
        with (tmp / "sentences.jsonl").open("w", encoding="utf-8") as fh:
            for s in sents:
                fh.write(json.dumps([s.article_id, s.start, s.end]) + "\n")
        np.save(tmp / "chunk_vectors.npy", chunk_vectors.astype(np.float32))
        np.save(tmp / "sentence_vectors.npy", sentence_vectors.astype(np.float32))
        store = _make_vector_store(chunk_vectors, chunks, by_id, exact_max)
        store.persist(persist_path=str(tmp / "faiss.index"))
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

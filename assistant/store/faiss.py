"""Chunk vectors in FAISS, the embedded default store.

The FAISS index of a version is ``faiss.index`` in its folder (written through
llama-index's ``FaissVectorStore``); FAISS ids are rows of ``IndexData.chunks``.
Which index serves ``n`` vectors is recorded in the manifest under ``"faiss"``
(``faiss_kind``): exact inner product up to ``exact_search_max`` chunks, IVF with
8-bit scalar-quantised lists above it.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import numpy as np

#: the file of a version folder holding its FAISS index
INDEX_FILE = "faiss.index"


class FaissChunkStore:
    """The FAISS index of the chunk vectors (row i is chunk i), searched directly.

    Answering a question is one FAISS search, and importing llama-index for it costs
    seconds; its ``FaissVectorStore`` over the same index is built on first use by
    ``as_llama_index()`` (persisting, llama-index consumers, ``query``).
    """

    def __init__(self, index: Any) -> None:
        #: the FAISS index (``FaissVectorStore.client`` names it so too)
        self.client = index
        self._llama_index: Any = None

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest chunk positions to ``vector`` and their inner products."""
        if k <= 0 or self.client.ntotal == 0:
            return []
        query = np.ascontiguousarray(np.asarray(vector, np.float32).reshape(1, -1))
        with _one_thread():
            scores, ids = self.client.search(query, int(k))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def count(self) -> int:
        """How many chunk vectors the store holds."""
        return int(self.client.ntotal)

    def as_llama_index(self):
        """llama-index's ``FaissVectorStore`` over this index (built once)."""
        if self._llama_index is None:
            from llama_index.vector_stores.faiss import FaissVectorStore

            self._llama_index = FaissVectorStore(faiss_index=self.client)
        return self._llama_index

    def query(self, query, **kwargs: Any):
        """llama-index's vector-store query (``VectorStoreQuery`` in, ``VectorStoreQueryResult`` out)."""
        return self.as_llama_index().query(query, **kwargs)

    def persist(self, persist_path: str) -> None:
        """Write the index to ``persist_path`` (llama-index's ``FaissVectorStore.persist``)."""
        self.as_llama_index().persist(persist_path=persist_path)


_THREADS_GUARD = threading.Lock()


@contextlib.contextmanager
def _one_thread():
    """Run one FAISS call on a single OpenMP thread, then restore the thread count.

    One query vector gains nothing from FAISS's threads, and right after the embedder
    (whose own OpenMP runtime has just used the same cores) they cost: a flat search over
    10k chunks took 11-13 ms with 2 threads against 1.0 ms with one (2 cores,
    ``scripts/bench.py``'s serving setup). Building (train, add) keeps every thread.
    """
    import faiss

    with _THREADS_GUARD:
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(previous)


def faiss_kind(n: int, exact_max: int, nprobe: int = 32) -> dict[str, Any]:
    """Which FAISS index serves ``n`` chunk vectors: exact up to ``exact_max``, else IVF.

    IVF with 8-bit scalar-quantised lists (a quarter of float32's memory), ~sqrt(n)
    lists, ``nprobe`` of them searched per query; the figures behind these choices are
    in the README (``scripts/bench.py``).
    """
    if n <= exact_max:
        return {"type": "IndexFlatIP", "metric": "inner_product"}
    nlist = max(1, int(round(np.sqrt(n))))
    return {"type": "IndexIVFScalarQuantizer", "metric": "inner_product", "quantizer": "SQ8",
            "nlist": nlist, "nprobe": min(nlist, int(nprobe))}


def build_faiss(vectors: np.ndarray, kind: dict[str, Any], seed: int = 0):
    """A FAISS index of ``kind`` (see ``faiss_kind``) holding ``vectors`` (rows in order)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind["type"] == "IndexFlatIP":
        index = faiss.IndexFlatIP(dim)
    elif kind["type"] == "IndexIVFScalarQuantizer":
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, int(kind["nlist"]),
                                              faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()
        index.cp.niter = 10
        sample = min(len(vectors), 64 * int(kind["nlist"]))
        rows = np.random.default_rng(seed).choice(len(vectors), size=sample, replace=False)
        index.train(vectors[np.sort(rows)])
        index.nprobe = int(kind["nprobe"])
    else:
        raise ValueError(f"unknown FAISS index type {kind['type']!r}")
    if len(vectors):
        index.add(vectors)
    return index


def make_store(vectors: np.ndarray, kind: dict[str, Any]) -> FaissChunkStore:
    """A store over ``vectors`` (row i is chunk i) in a FAISS index of ``kind``."""
    # FaissVectorStore.add() takes one node at a time; the index is filled directly
    # instead (row i is chunk i, which is what FaissVectorStore.query reports as ids).
    return FaissChunkStore(build_faiss(vectors, kind))


def load_store(path: Path, kind: dict[str, Any]) -> FaissChunkStore:
    """The store of the version folder ``path``, searched as its manifest's ``kind`` says."""
    import faiss

    index = faiss.read_index(str(Path(path) / INDEX_FILE))
    if "nprobe" in kind:
        faiss.extract_index_ivf(index).nprobe = int(kind["nprobe"])
    return FaissChunkStore(index)

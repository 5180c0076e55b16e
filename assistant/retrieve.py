"""Stage 5: hybrid retrieval: dense (FAISS via llama-index) + BM25, fused by RRF.

Dense search carries meaning across languages (an English question finds French
passages); BM25 carries exact names and numbers. Reciprocal rank fusion combines
the two rankings without calibrating their score scales against each other, and
overlapping chunks (the chunker's overlap) are collapsed to the best one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import IndexData
from .text import stems
from .types import Passage


@dataclass(frozen=True)
class Ranked:
    """Per-chunk scores from each retriever, before building Passages."""

    chunk_index: int
    fused: float
    dense: float | None
    lexical: float | None


def dense_search(index: IndexData, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    if not index.chunks:
        return []
    result = index.vector_store.query(
        VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=min(k, len(index.chunks)))
    )
    return [(int(i), float(s)) for i, s in zip(result.ids or [], result.similarities or [])]


def bm25_search(index: IndexData, question: str, k: int) -> list[tuple[int, float]]:
    vocab = index.bm25.vocab_dict
    tokens = [t for t in stems(question) if t in vocab]
    if not tokens or not index.chunks:
        return []
    scores = index.bm25.get_scores(tokens)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def fuse(dense: list[tuple[int, float]], lexical: list[tuple[int, float]], *, mode: str,
         rrf_k: int = 60) -> list[Ranked]:
    dense_map, lex_map = dict(dense), dict(lexical)
    fused: dict[int, float] = {}
    if mode in {"hybrid", "dense"}:
        for rank, (i, _) in enumerate(dense):
            fused[i] = fused.get(i, 0.0) + 1.0 / (rrf_k + rank + 1)
    if mode in {"hybrid", "bm25"}:
        for rank, (i, _) in enumerate(lexical):
            fused[i] = fused.get(i, 0.0) + 1.0 / (rrf_k + rank + 1)
    ranked = [Ranked(i, s, dense_map.get(i), lex_map.get(i)) for i, s in fused.items()]
    ranked.sort(key=lambda r: (-r.fused, r.chunk_index))
    return ranked


def collapse_overlaps(index: IndexData, ranked: list[Ranked], threshold: float = 0.5) -> list[Ranked]:
    """Drop a chunk that mostly overlaps a better-ranked chunk of the same article."""
    kept: list[Ranked] = []
    for r in ranked:
        c = index.chunks[r.chunk_index]
        duplicate = False
        for other in kept:
            o = index.chunks[other.chunk_index]
            if o.article_id != c.article_id:
                continue
            overlap = min(c.end, o.end) - max(c.start, o.start)
            if overlap > threshold * min(c.end - c.start, o.end - o.start):
                duplicate = True
                break
        if not duplicate:
            kept.append(r)
    return kept


def retrieve(index: IndexData, question: str, query_vector: np.ndarray | None, *, k: int,
             candidates: int, mode: str = "hybrid", rrf_k: int = 60) -> list[Passage]:
    """The ``k`` best passages for ``question`` (``query_vector`` unused in bm25 mode)."""
    dense = dense_search(index, query_vector, candidates) if mode != "bm25" and query_vector is not None else []
    lexical = bm25_search(index, question, candidates) if mode != "dense" else []
    ranked = collapse_overlaps(index, fuse(dense, lexical, mode=mode, rrf_k=rrf_k))[:k]
    out = []
    for r in ranked:
        c = index.chunks[r.chunk_index]
        out.append(Passage(article_id=c.article_id, title=index.articles[c.article_id].title,
                           text=c.text, start=c.start, end=c.end, score=round(r.fused, 6),
                           chunk_id=c.id, dense_score=r.dense, lexical_score=r.lexical))
    return out

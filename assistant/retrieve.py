"""Stage 5: hybrid retrieval: dense (FAISS, or Qdrant via llama-index) + BM25, fused by RRF.

Dense search carries meaning across languages (an English question finds French
passages); BM25 carries exact names and numbers. Reciprocal rank fusion combines
the two rankings without calibrating their score scales against each other, and
overlapping chunks (the chunker's overlap) are collapsed to the best one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .index import IndexData
from .text import MIN_SENTENCE_WORDS, is_fragment, stems
from .types import Passage


@dataclass(frozen=True)
class Ranked:
    """Per-chunk scores from each retriever, before building Passages."""

    chunk_index: int
    fused: float
    dense: float | None
    lexical: float | None


def dense_search(index: IndexData, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` chunk positions nearest ``query_vector`` in the index's dense store."""
    if not index.chunks:
        return []
    return index.vector_store.search(query_vector, min(k, len(index.chunks)))


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
         rrf_k: int = 60, lexical_weight: float = 1.0) -> list[Ranked]:
    """Reciprocal rank fusion; BM25's vote is scaled by ``lexical_weight`` (0..1)."""
    dense_map, lex_map = dict(dense), dict(lexical)
    fused: dict[int, float] = {}
    if mode in {"hybrid", "dense"}:
        for rank, (i, _) in enumerate(dense):
            fused[i] = fused.get(i, 0.0) + 1.0 / (rrf_k + rank + 1)
    if mode in {"hybrid", "bm25"}:
        w = 1.0 if mode == "bm25" else lexical_weight
        for rank, (i, _) in enumerate(lexical):
            fused[i] = fused.get(i, 0.0) + w / (rrf_k + rank + 1)
    ranked = [Ranked(i, s, dense_map.get(i), lex_map.get(i)) for i, s in fused.items()]
    ranked.sort(key=lambda r: (-r.fused, r.chunk_index))
    return ranked


def lexical_coverage(index: IndexData, question: str) -> float:
    """Share of the question's BM25 tokens that occur in the corpus at all.

    A French question about French articles is mostly visible to BM25; an English
    one shares only names and numbers with them, and its BM25 ranking is then mostly
    noise from those few shared tokens. Scaling BM25's vote by this share lets it
    help where it can see the question and stay quiet where it cannot.
    """
    tokens = stems(question)
    if not tokens:
        return 0.0
    vocab = index.bm25.vocab_dict
    return sum(t in vocab for t in tokens) / len(tokens)


def rerank_dense(index: IndexData, query_vector: np.ndarray, candidates: set[int]) -> list[tuple[int, float]]:
    """Dense score of each candidate chunk: its own similarity blended with its best sentence's.

    A chunk holds several facts; the one that answers is usually a single sentence,
    whose similarity a whole-chunk vector dilutes. Only candidates (FAISS's and
    BM25's top hits) are rescored, so this stays cheap on a large archive: two matrix
    products over the candidates and their sentences, not a loop of small ones.
    """
    if not candidates:
        return []
    q = np.asarray(query_vector, np.float32)
    ids = np.fromiter(candidates, np.int64, len(candidates))
    # plain views of the memory-mapped arrays: the same values, without np.memmap's overhead
    own = np.asarray(np.asarray(index.chunk_vectors)[ids], np.float32) @ q
    lists = [index.sentences_in_chunk(int(ci)) for ci in ids]
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    best = own.copy()
    if lengths.any():
        flat = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(lengths.sum()))
        sims = np.asarray(np.asarray(index.sentence_vectors)[flat], np.float32) @ q
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        best[lengths > 0] = np.maximum.reduceat(sims, starts[lengths > 0])
    scores = 0.5 * own.astype(np.float64) + 0.5 * best.astype(np.float64)
    out = list(zip(ids.tolist(), scores.tolist()))
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def sentence_is_fragment(index: IndexData, sentence: int, min_words: int = MIN_SENTENCE_WORDS) -> bool:
    """``text.is_fragment`` for one indexed sentence, cached per index."""
    cache = index.cache.setdefault("fragment", {})
    key = (sentence, min_words)
    found = cache.get(key)
    if found is None:
        s = index.sentences[sentence]
        found = cache[key] = is_fragment(index.articles[s.article_id].text, s.start, s.end, min_words)
    return found


def best_sentence(index: IndexData, chunk_index: int, query_vector: np.ndarray | None, *,
                  min_words: int = MIN_SENTENCE_WORDS) -> tuple[int, int] | None:
    """The (start, end) article span of the chunk's sentence most similar to the query.

    Related reading highlights this sentence rather than the whole chunk, so it should
    state something: headings, questions ending a line and sentences of fewer than
    ``min_words`` words (``text.is_fragment``) are passed over, unless the chunk holds
    nothing else (then the closest of them). ``None`` without a query vector (bm25
    mode) or when the chunk holds no indexed sentence.
    """
    sent_ids = index.sentences_in_chunk(chunk_index)
    if query_vector is None or not sent_ids:
        return None
    sims = np.asarray(np.asarray(index.sentence_vectors)[sent_ids], np.float32) @ np.asarray(query_vector, np.float32)
    informative = np.array([not sentence_is_fragment(index, i, min_words) for i in sent_ids])
    if informative.any():
        sims = np.where(informative, sims, -np.inf)
    s = index.sentences[sent_ids[int(np.argmax(sims))]]
    return s.start, s.end


def chunk_span(index: IndexData, chunk_index: int) -> tuple[object, int, int]:
    """(article key, start, end) of a chunk; a ``ChunkTable`` answers without reading text."""
    span = getattr(index.chunks, "span", None)
    if span is not None:
        return span(chunk_index)
    c = index.chunks[chunk_index]
    return c.article_id, c.start, c.end


def collapse_overlaps(index: IndexData, ranked: list[Ranked], threshold: float = 0.5,
                      limit: int | None = None) -> list[Ranked]:
    """Drop a chunk that mostly overlaps a better-ranked chunk of the same article.

    Greedy in rank order, so stopping at ``limit`` kept chunks gives the first ``limit``
    of the full result.
    """
    kept: list[Ranked] = []
    kept_spans: list[tuple[object, int, int]] = []
    for r in ranked:
        if limit is not None and len(kept) >= limit:
            break
        article, start, end = chunk_span(index, r.chunk_index)
        duplicate = False
        for o_article, o_start, o_end in kept_spans:
            if o_article != article:
                continue
            overlap = min(end, o_end) - max(start, o_start)
            if overlap > threshold * min(end - start, o_end - o_start):
                duplicate = True
                break
        if not duplicate:
            kept.append(r)
            kept_spans.append((article, start, end))
    return kept


def retrieve(index: IndexData, question: str, query_vector: np.ndarray | None, *, k: int,
             candidates: int, mode: str = "hybrid", rrf_k: int = 60,
             min_sentence_words: int = MIN_SENTENCE_WORDS) -> list[Passage]:
    """The ``k`` best passages for ``question`` (``query_vector`` unused in bm25 mode).

    Candidates come from FAISS and BM25 (``candidates`` each); dense ranks them by
    chunk-and-best-sentence similarity; RRF fuses that with BM25's ranking, BM25
    weighted by how much of the question it can see; overlapping chunks collapse. Each
    passage names its best sentence (``best_sentence``, fragments under
    ``min_sentence_words`` words passed over).
    """
    use_dense = mode != "bm25" and query_vector is not None
    lexical = bm25_search(index, question, candidates) if mode != "dense" else []
    dense: list[tuple[int, float]] = []
    if use_dense:
        pool = {i for i, _ in dense_search(index, query_vector, candidates)} | {i for i, _ in lexical}
        dense = rerank_dense(index, query_vector, pool)
    weight = lexical_coverage(index, question) if mode == "hybrid" else 1.0
    ranked = collapse_overlaps(index, fuse(dense, lexical, mode=mode, rrf_k=rrf_k,
                                           lexical_weight=weight), limit=k)
    out = []
    for r in ranked:
        c = index.chunks[r.chunk_index]
        best = best_sentence(index, r.chunk_index, query_vector if use_dense else None,
                             min_words=min_sentence_words)
        out.append(Passage(article_id=c.article_id, title=index.articles[c.article_id].title,
                           text=c.text, start=c.start, end=c.end, score=round(r.fused, 6),
                           chunk_id=c.id, dense_score=r.dense, lexical_score=r.lexical,
                           best_start=best[0] if best else None, best_end=best[1] if best else None))
    return out

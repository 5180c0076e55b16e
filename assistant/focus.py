"""A loaded index narrowed to some of its articles ("ask only these articles").

The narrowed index is a real ``IndexData`` (its own small FAISS over the chosen
articles' chunks, the same vectors, and the index's BM25 postings restricted to those
chunks: ``BM25Postings.restricted``, numpy only, whole-index IDF), so retrieval, reading
and composing work on it unchanged and can never return a passage from another article.
"""

from __future__ import annotations

from typing import Collection

import numpy as np

from .errors import InvalidQuestionError
from .index import IndexData
from .store.faiss import faiss_kind, make_store


def subset_index(index: IndexData, article_ids: Collection[str]) -> IndexData:
    """``index`` restricted to ``article_ids`` (unknown ids are an error, not ignored)."""
    wanted = set(article_ids)
    unknown = wanted - set(index.articles)
    if unknown:
        raise InvalidQuestionError(f"no article {sorted(unknown)[0]!r} in the index; "
                                   "pick articles from the index's list")
    if not wanted:
        raise InvalidQuestionError("no article chosen; choose at least one, or ask the whole corpus")
    articles = {aid: a for aid, a in index.articles.items() if aid in wanted}
    # rows of the chosen articles, in index order (rows are grouped by article)
    keep_chunks = sorted(i for aid in wanted for i in index.chunks_by_article.get(aid, ()))
    keep_sents = sorted(i for aid in wanted for i in index.sentences_by_article.get(aid, ()))
    chunks = [index.chunks[i] for i in keep_chunks]
    chunk_vectors = np.ascontiguousarray(index.chunk_vectors[keep_chunks])
    sentence_vectors = np.ascontiguousarray(index.sentence_vectors[keep_sents])
    store = make_store(chunk_vectors, faiss_kind(len(chunks), exact_max=len(chunks)))
    bm25 = index.bm25.restricted(keep_chunks)
    manifest = {**index.manifest, "articles": {k: v for k, v in index.manifest.get("articles", {}).items()
                                               if k in wanted}}
    return IndexData(index.path, manifest, articles, chunks, chunk_vectors,
                     [index.sentences[i] for i in keep_sents], sentence_vectors, store, bm25)

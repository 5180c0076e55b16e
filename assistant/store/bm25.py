"""The BM25 postings of an index version, read with numpy alone.

``bm25s`` builds and saves the lexical index (``index._write_version``); answering only
needs its saved arrays: a CSC matrix of per-(token, chunk) BM25 scores and the
vocabulary. Importing ``bm25s`` imports ``scipy.sparse`` (about half a second), so the
query side reads those files itself and scores a query the way ``bm25s.BM25.get_scores``
does (``tests/test_retrieve.py`` compares the two).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: bm25s' variants whose scores need the per-token non-occurrence term added back
_NEEDS_NONOCCURRENCE = {"bm25l", "bm25+"}


class BM25Postings:
    """Scores of every chunk for a tokenised query, from a folder ``bm25s`` saved.

    Offers what the answering stages read of a ``bm25s.BM25``: ``vocab_dict``,
    ``scores`` (``data``, ``indices``, ``indptr``, ``num_docs``) and ``get_scores``;
    ``restricted`` narrows it to some chunks ("ask only these articles").
    """

    def __init__(self, vocab: dict[str, int], scores: dict[str, Any], *, dtype: str = "float32",
                 nonoccurrence: np.ndarray | None = None) -> None:
        self.vocab_dict = vocab
        self.scores = scores
        self.dtype = np.dtype(dtype)
        self.nonoccurrence_array = nonoccurrence

    @classmethod
    def load(cls, folder: Path | str) -> "BM25Postings":
        """Read ``params.index.json``, ``vocab.index.json`` and the three ``*.csc.index.npy`` arrays."""
        folder = Path(folder)
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        scores: dict[str, Any] = {name: np.load(folder / f"{name}.csc.index.npy", allow_pickle=False)
                                  for name in ("data", "indices", "indptr")}
        scores["num_docs"] = params.get("num_docs")
        nonoccurrence = None
        if str(params.get("method", "")).lower() in _NEEDS_NONOCCURRENCE:
            nonoccurrence = np.load(folder / "nonoccurrence_array.index.npy", allow_pickle=False)
        return cls(vocab, scores, dtype=params.get("dtype", "float32"), nonoccurrence=nonoccurrence)

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """Each chunk's BM25 score for ``tokens`` (tokens outside the vocabulary count nothing)."""
        ids = np.asarray([self.vocab_dict[t] for t in tokens if t in self.vocab_dict], dtype=np.int64)
        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        out = np.zeros(int(self.scores["num_docs"]), dtype=self.dtype)
        if len(ids):
            # one column per query token, in query order (a repeated token counts again)
            cols = [np.arange(indptr[j], indptr[j + 1]) for j in ids]
            rows = np.concatenate(cols)
            np.add.at(out, indices[rows], data[rows])
            if self.nonoccurrence_array is not None:
                out += self.nonoccurrence_array[ids].sum()
        return out

    def restricted(self, docs: Sequence[int]) -> "BM25Postings":
        """The postings of the chunks ``docs`` only, renumbered ``0..len(docs)-1`` in that order.

        Tokens none of them holds leave the vocabulary, so ``vocab_dict`` and the per-token
        document counts (``indptr``) are those a BM25 built on these chunks alone would
        have. The scores are kept as they were: their IDF and average chunk length are the
        whole index's. A filter narrows where to look without changing what a word's rarity
        means (with one or two articles a subset IDF rates their own subject words as
        common and near worthless), and a focused ranking is then the whole index's ranking
        with the other articles left out. It is computed with numpy alone, at question time.
        """
        docs = np.asarray(docs, dtype=np.int64)
        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        n_docs, n_tokens = int(self.scores["num_docs"]), len(indptr) - 1
        if len(docs) and (docs.min() < 0 or docs.max() >= n_docs or len(np.unique(docs)) != len(docs)):
            raise ValueError("restricted() takes distinct chunk numbers of this index")
        new_doc = np.full(n_docs, -1, dtype=np.int64)
        new_doc[docs] = np.arange(len(docs))
        keep = new_doc[indices] >= 0
        token_of = np.repeat(np.arange(n_tokens), np.diff(indptr))
        counts = np.bincount(token_of[keep], minlength=n_tokens)
        tokens = np.flatnonzero(counts)
        new_token = np.full(n_tokens, -1, dtype=np.int64)
        new_token[tokens] = np.arange(len(tokens))
        scores: dict[str, Any] = {
            "data": data[keep],
            "indices": new_doc[indices[keep]].astype(indices.dtype),
            "indptr": np.concatenate([[0], np.cumsum(counts[tokens])]).astype(indptr.dtype),
            "num_docs": len(docs),
        }
        vocab = {tok: int(new_token[j]) for tok, j in self.vocab_dict.items()
                 if 0 <= j < n_tokens and new_token[j] >= 0}
        nonoccurrence = None if self.nonoccurrence_array is None else self.nonoccurrence_array[tokens]
        return BM25Postings(vocab, scores, dtype=self.dtype.name, nonoccurrence=nonoccurrence)

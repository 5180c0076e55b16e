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
from typing import Any

import numpy as np

#: bm25s' variants whose scores need the per-token non-occurrence term added back
_NEEDS_NONOCCURRENCE = {"bm25l", "bm25+"}


class BM25Postings:
    """Scores of every chunk for a tokenised query, from a folder ``bm25s`` saved.

    Offers what the answering stages read of a ``bm25s.BM25``: ``vocab_dict``,
    ``scores`` (``data``, ``indices``, ``indptr``, ``num_docs``) and ``get_scores``.
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

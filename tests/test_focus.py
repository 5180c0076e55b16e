""""Ask only these articles": the narrowed index and its BM25, on the real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["Combien vaut l'accord entre OpenAI et AWS ?", "How much power will the accelerators represent?",
           "Où se trouve le centre de données qu'OpenAI veut louer à Oracle ?", "OpenAI OpenAI Microsoft cloud"]


@pytest.fixture(scope="module")
def index(index_dir):
    from assistant.index import load_index

    return load_index(index_dir)


def _subsets(index) -> list[list[str]]:
    ids = sorted(index.articles)
    return [ids[:1], ids[1:3], ids[::2]]


def _rows(index, wanted) -> list[int]:
    return [i for i, c in enumerate(index.chunks) if c.article_id in wanted]


def test_restricted_postings_are_the_subsets_own_vocabulary_with_whole_index_scores(index, index_dir):
    """Against bm25s itself: the vocabulary, each token's document count and the matched
    chunks are those of a bm25s built on the subset; each score is the one bm25s gives
    that chunk over the whole index (whole-index IDF and average length)."""
    import bm25s

    from assistant.index import resolve
    from assistant.text import stems

    whole = bm25s.BM25.load(str(resolve(index_dir) / "bm25"), load_corpus=False, show_progress=False)
    for wanted in _subsets(index):
        rows = _rows(index, wanted)
        ours = index.bm25.restricted(rows)
        alone = bm25s.BM25()
        alone.index([stems(index.articles[index.chunks[i].article_id].title + "\n" + index.chunks[i].text) or ["_"]
                     for i in rows], show_progress=False)
        assert ours.scores["num_docs"] == len(rows) == alone.scores["num_docs"]
        assert set(ours.vocab_dict) == set(alone.vocab_dict) - {""}
        df_ours, df_alone = np.diff(ours.scores["indptr"]), np.diff(alone.scores["indptr"])
        assert all(df_ours[ours.vocab_dict[t]] == df_alone[alone.vocab_dict[t]] for t in ours.vocab_dict)
        for q in QUERIES:
            tokens = [t for t in stems(q) if t in ours.vocab_dict]
            if not tokens:
                continue
            got = ours.get_scores(tokens)
            assert got.dtype == np.float32 and got.shape == (len(rows),)
            np.testing.assert_array_equal(got > 0, alone.get_scores(tokens) > 0)
            np.testing.assert_allclose(got, whole.get_scores(tokens)[rows], rtol=1e-6, atol=1e-6)


def test_restricted_to_every_chunk_scores_as_the_whole_index(index):
    everything = index.bm25.restricted(range(len(index.chunks)))
    from assistant.text import stems

    for q in QUERIES:
        tokens = [t for t in stems(q) if t in index.bm25.vocab_dict]
        np.testing.assert_array_equal(everything.get_scores(tokens), index.bm25.get_scores(tokens))
    with pytest.raises(ValueError):
        index.bm25.restricted([0, 0])
    with pytest.raises(ValueError):
        index.bm25.restricted([len(index.chunks)])


def test_focused_passages_keep_the_whole_index_bm25_scores(qa, index):
    """A focused question's passages come from the chosen articles only, each with the
    lexical score the whole index gives its chunk: the filter narrows, it does not re-rate."""
    from assistant.text import stems

    for wanted in _subsets(index):
        focused = qa.focused(wanted)
        assert focused._index.bm25 is not index.bm25
        for q in QUERIES:
            tokens = [t for t in stems(q) if t in index.bm25.vocab_dict]
            whole = index.bm25.get_scores(tokens)
            passages = focused.retrieve(q, k=5)
            assert passages and {p.article_id for p in passages} <= set(wanted)
            for p in passages:
                if p.lexical_score is not None:
                    assert p.lexical_score == pytest.approx(float(whole[index.chunk_positions[p.chunk_id]]), rel=1e-6)


def test_focused_answering_imports_neither_bm25s_nor_scipy(index_dir):
    """Narrowing to some articles at question time reads the index's postings with numpy:
    bm25s and scipy (half a second of import) stay out of the asking process."""
    code = ("import json, sys\n"
            "from assistant import Assistant, Settings\n"
            f"qa = Assistant.load(settings=Settings.load({{'index_dir': {str(index_dir)!r}}}))\n"
            "chosen = sorted(a.id for a in qa.articles)[:2]\n"
            "answer = qa.focused(chosen).ask(\"Combien vaut l'accord entre OpenAI et AWS ?\")\n"
            "used = {c.article_id for c in answer.citations} | {p.article_id for p in answer.related}\n"
            "lexical = sorted(m for m in sys.modules if m.split('.')[0] in ('bm25s', 'scipy'))\n"
            "print(json.dumps([bool(used) and used <= set(chosen), lexical]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    inside, lexical = json.loads(out.stdout.strip().splitlines()[-1])
    assert inside is True and lexical == []

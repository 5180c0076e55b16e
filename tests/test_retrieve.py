"""Rank fusion and overlap collapsing on small hand-made inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from assistant.retrieve import Ranked, collapse_overlaps, fuse


def test_fuse_hybrid_adds_both_reciprocal_ranks():
    got = fuse([(7, 0.9), (3, 0.8)], [(3, 12.0), (5, 4.0)], mode="hybrid", rrf_k=0)
    assert [r.chunk_index for r in got] == [3, 7, 5]
    by_index = {r.chunk_index: r for r in got}
    assert by_index[3].fused == pytest.approx(1 / 2 + 1 / 1)
    assert by_index[7].fused == pytest.approx(1.0)
    assert by_index[5].fused == pytest.approx(1 / 2)
    assert (by_index[3].dense, by_index[3].lexical) == (0.8, 12.0)
    assert (by_index[7].dense, by_index[7].lexical) == (0.9, None)
    assert (by_index[5].dense, by_index[5].lexical) == (None, 4.0)


def test_fuse_scales_the_lexical_vote_in_hybrid_only():
    dense, lexical = [(1, 0.5)], [(2, 3.0)]
    hybrid = {r.chunk_index: r.fused for r in fuse(dense, lexical, mode="hybrid", rrf_k=0, lexical_weight=0.25)}
    assert hybrid == {1: pytest.approx(1.0), 2: pytest.approx(0.25)}
    bm25 = fuse(dense, lexical, mode="bm25", rrf_k=0, lexical_weight=0.25)
    assert [(r.chunk_index, r.fused) for r in bm25] == [(2, pytest.approx(1.0))]
    assert [r.chunk_index for r in fuse(dense, lexical, mode="dense")] == [1]


def test_fuse_breaks_ties_by_chunk_index():
    got = fuse([(9, 0.1)], [(4, 0.1)], mode="hybrid", rrf_k=60)
    assert [r.chunk_index for r in got] == [4, 9]


def _index(*spans: tuple[str, int, int]) -> SimpleNamespace:
    return SimpleNamespace(chunks=[SimpleNamespace(article_id=a, start=s, end=e) for a, s, e in spans])


def _ranked(*order: int) -> list[Ranked]:
    return [Ranked(i, 1.0 / (n + 1), None, None) for n, i in enumerate(order)]


def test_collapse_drops_a_mostly_overlapping_chunk_of_the_same_article():
    index = _index(("a", 0, 100), ("a", 40, 140), ("a", 90, 190), ("b", 0, 100))
    # chunk 1 overlaps chunk 0 by 60 of 100 characters; chunk 2 overlaps it by 10
    # and chunk 1 (dropped, so not compared) by 50; chunk 3 is another article
    kept = collapse_overlaps(index, _ranked(0, 1, 2, 3))
    assert [r.chunk_index for r in kept] == [0, 2, 3]


def test_collapse_keeps_the_better_ranked_chunk_and_respects_the_threshold():
    index = _index(("a", 0, 100), ("a", 40, 140))
    assert [r.chunk_index for r in collapse_overlaps(index, _ranked(1, 0))] == [1]
    assert [r.chunk_index for r in collapse_overlaps(index, _ranked(1, 0), threshold=0.6)] == [1, 0]


def test_each_passage_names_its_best_sentence_by_exact_span(qa, embedder):
    """The span is one of the article's sentences, inside the chunk, and the one a fresh
    embedding of the chunk's sentences ranks closest to the question."""
    from assistant.chunk import embedding_text
    from assistant.text import is_fragment, sentence_spans
    from dev_questions import ANSWERABLE

    shorter = 0
    for question, *_ in ANSWERABLE[:4]:
        passages = qa.retrieve(question, k=4)
        assert passages
        qvec = embedder.embed_queries([question])[0]
        for p in passages:
            article = qa.article(p.article_id)
            assert p.start <= p.best_start < p.best_end <= p.end
            inside = [(s, e) for s, e in sentence_spans(article.text) if s >= p.start and e <= p.end]
            assert (p.best_start, p.best_end) in inside
            vectors = embedder.embed_passages([embedding_text(article.title, article.text[s:e]) for s, e in inside])
            sims = vectors @ qvec
            statements = np.array([not is_fragment(article.text, s, e) for s, e in inside])
            if statements.any():  # headings and fragments are passed over while there is a statement
                sims = np.where(statements, sims, -np.inf)
            best = inside[int(np.argmax(sims))]
            # stored vectors are float16: accept the fresh argmax or a sentence within rounding of it
            chosen = sims[inside.index((p.best_start, p.best_end))]
            assert (p.best_start, p.best_end) == best or chosen >= sims.max() - 2e-3
            shorter += (p.best_end - p.best_start) < (p.end - p.start)
            assert p.to_dict()["best_start"] == p.best_start and p.to_dict()["best_end"] == p.best_end
    assert shorter > 0   # a sentence, not the whole chunk


def test_is_fragment_tells_headings_and_fragments_from_statements():
    from assistant.text import is_fragment, sentence_spans

    text = ("A quiet market\n\n"
            "Prices rose by a third in one year. Why now? Demand, mostly.\n\n"
            "What does it change for buyers?\n\n"
            "Three things matter here:\n\n"
            "- buyers wait longer for their orders\n"
            "- sellers raise their prices again\n\n"
            "Costs climb. Nobody, the analysts say, expected it to last this long!\n\n"
            "Who will pay for it? Nobody knows yet what the final bill will be\n\n"
            "« We did not see it coming at all », he said.")
    got = {text[s:e]: is_fragment(text, s, e) for s, e in sentence_spans(text)}
    assert got == {
        "A quiet market": True,                        # a line with no final punctuation: a heading
        "Prices rose by a third in one year.": False,
        "Why now?": True, "Demand, mostly.": True,      # under 4 words
        "What does it change for buyers?": True,       # a line ending with a question: a heading
        "Three things matter here:": True,             # a lead-in
        "buyers wait longer for their orders": False,  # list items keep their place
        "sellers raise their prices again": False,
        "Costs climb.": True,
        "Nobody, the analysts say, expected it to last this long!": False,
        "Who will pay for it?": False,                  # a question inside a longer line
        "Nobody knows yet what the final bill will be": True,
        "« We did not see it coming at all », he said.": False,
    }
    # the word count is the setting's
    assert not is_fragment("Costs climb.", 0, 12, min_words=2) and is_fragment("Costs climb.", 0, 12, min_words=3)


def _off_topic_questions():
    from dev_questions import UNANSWERABLE

    return ["Who won the 2018 football World Cup?", *(q for q, _ in UNANSWERABLE)]


def test_best_sentence_passes_over_headings_and_fragments(qa, index_dir):
    """On off-topic questions the sentence closest to the question is often a subheading
    (« Pourquoi Google Cloud ? »): each passage highlights its closest statement instead."""
    from assistant.index import load_index
    from assistant.retrieve import sentence_is_fragment
    from assistant.text import is_fragment

    index = load_index(index_dir)
    skipped = 0
    for question in _off_topic_questions():
        qvec = qa._embedder.embed_queries([question])[0]
        for p in qa.retrieve(question, k=5):
            text = qa.article(p.article_id).text
            assert not is_fragment(text, p.best_start, p.best_end)
            sent_ids = index.sentences_in_chunk(index.chunk_positions[p.chunk_id])
            sims = np.asarray(index.sentence_vectors[sent_ids], np.float32) @ qvec
            statements = [j for j, si in enumerate(sent_ids) if not sentence_is_fragment(index, si)]
            best = index.sentences[sent_ids[max(statements, key=lambda j: sims[j])]]
            assert (p.best_start, p.best_end) == (best.start, best.end)
            closest = index.sentences[sent_ids[int(np.argmax(sims))]]
            skipped += (closest.start, closest.end) != (p.best_start, p.best_end)
    assert skipped > 0   # the rule changed something on these questions: headings were the closest


def test_best_sentence_falls_back_to_the_closest_when_all_are_fragments(qa, index_dir):
    from assistant.index import load_index
    from assistant.retrieve import best_sentence

    index = load_index(index_dir)
    question = _off_topic_questions()[0]
    qvec = qa._embedder.embed_queries([question])[0]
    for p in qa.retrieve(question, k=5):
        ci = index.chunk_positions[p.chunk_id]
        sent_ids = index.sentences_in_chunk(ci)
        sims = np.asarray(index.sentence_vectors[sent_ids], np.float32) @ qvec
        closest = index.sentences[sent_ids[int(np.argmax(sims))]]
        # every sentence is a fragment under a huge word count: the closest one, as before
        assert best_sentence(index, ci, qvec, min_words=10_000) == (closest.start, closest.end)


def test_bm25_mode_has_no_best_sentence(qa):
    passages = qa.retrieve("OpenAI AWS", k=2, mode="bm25")
    assert passages
    assert all(p.best_start is None and p.highlight == (p.start, p.end) for p in passages)


def test_numpy_bm25_postings_score_as_bm25s_does(index_dir):
    """The query side's BM25 (numpy only) against bm25s itself, on the real index."""
    import bm25s

    from assistant.index import resolve
    from assistant.store.bm25 import BM25Postings
    from assistant.text import stems

    folder = resolve(index_dir) / "bm25"
    ours, ref = BM25Postings.load(folder), bm25s.BM25.load(str(folder), load_corpus=False, show_progress=False)
    assert ours.vocab_dict == ref.vocab_dict and ours.scores["num_docs"] == ref.scores["num_docs"]
    queries = ["Combien vaut l'accord entre OpenAI et AWS ?", "How much power will the accelerators represent?",
               "OpenAI OpenAI AMD", "zzzunknown OpenAI"]
    for q in queries:
        tokens = [t for t in stems(q) if t in ours.vocab_dict]
        assert tokens
        got, want = ours.get_scores(tokens), ref.get_scores(tokens)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        assert (got > 0).any()
    assert not ours.get_scores(["zzzunknown"]).any()

"""The reader (stage 6a) and the language packs: focused tests, then real behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.language import ANSWER_TYPES, pack, packs
from assistant.reader import (
    CARD_PATH, MODEL_PATH, QUESTION_FEATURES, SENTENCE_FEATURES, Reader, answer_type, build_candidates,
    prefixes,
)
from assistant.text import names, translation_stable_stems


# --- language packs -------------------------------------------------------------------


def test_every_pack_loads_and_has_the_framing_strings():
    keys = {"first", "first_unsure", "same", "other", "open", "close", "abstain", "abstain_empty", "about"}
    assert {"fr", "en"} <= set(packs())
    for code, p in packs().items():
        assert keys <= set(p.frames), code
        assert p.stopwords and p.question_words, code
        assert {t for t, _ in p.answer_types} <= set(ANSWER_TYPES)


@pytest.mark.parametrize("question, language, expected", [
    ("Qui a fondé la ville ?", "fr", "person"),
    ("En quelle année le traité fut-il signé ?", "fr", "date"),
    ("Combien d'habitants compte la commune ?", "fr", "number"),
    ("Où se trouve le siège ?", "fr", "place"),
    ("Who founded the city?", "en", "person"),
    ("When was the treaty signed?", "en", "date"),
    ("How many people live there?", "en", "number"),
    ("Where is the headquarters?", "en", "place"),
    ("Combien de temps a duré le siège ?", "fr", "duration"),
    ("For how many years did the war last?", "en", "duration"),
    ("Pourquoi le projet a-t-il échoué ?", "fr", None),
    # the question's language is read first, then the others (detection can be wrong)
    ("Who founded the city?", "fr", "person"),
])
def test_answer_types_come_from_the_language_data(question, language, expected):
    assert answer_type(question, language) == expected


def test_or_is_not_where():
    """French 'ou' (or) must not read as 'où' (where)."""
    assert pack("fr").answer_type("Le chat ou le chien ?") is None


def test_unknown_language_falls_back_to_english():
    assert pack("de").code == "en"


def test_names_are_capitalised_words_after_the_first():
    assert names("Quand Marie Curie a-t-elle rejoint la Sorbonne ?") == {"marie", "curie", "sorbonne"}
    assert "quand" not in names("Quand est-ce ?")


def test_what_survives_translation_is_names_and_numbers():
    kept = translation_stable_stems("How many stores did Carrefour open in 2019?")
    assert "2019" in kept and any(t.startswith("carrefour") for t in kept)
    assert not any(t.startswith(("store", "open")) for t in kept)


def test_prefixes_match_derived_forms_and_cognates():
    assert prefixes("La construction du barrage") == ["const", "barra"]
    assert set(prefixes("Qui a construit le barrage ?")) >= {"const", "barra"}
    assert "capac" in prefixes("capacité") and "capac" in prefixes("capacity")


# --- the shipped model --------------------------------------------------------------------


def test_the_shipped_model_is_small_and_documented():
    assert MODEL_PATH.stat().st_size < 3_000_000
    card = json.loads(CARD_PATH.read_text(encoding="utf-8"))
    assert "PIAF" in card["data"]["source"] and "MIT" in card["data"]["source"]
    assert 0.0 < card["threshold"] < 1.0
    assert card["model"]["sentence_features"] == list(SENTENCE_FEATURES)
    assert card["model"]["question_features"] == list(QUESTION_FEATURES)
    dev = card["figures"]["dev_at_threshold"]
    assert set(dev) == {"answer_hit", "false_refusals", "near_topic_abstention", "off_topic_abstention"}
    assert card["command"].startswith("python scripts/train_reader.py")


def test_reader_scores_are_probabilities_and_rank_by_logit():
    reader = Reader.load()
    rng = np.random.default_rng(0)
    n, dim = 7, reader.w["reference"].shape[1]
    from assistant.reader import Candidates

    qf = {k: 0.0 for k in QUESTION_FEATURES}
    c = Candidates(np.arange(n), np.zeros(n, np.int64),
                   rng.standard_normal((n, len(SENTENCE_FEATURES))).astype(np.float32),
                   rng.standard_normal((n, dim)).astype(np.float32) * 0.01, qf)
    r = reader.read(c)
    assert len(r.ids) == n and sorted(r.ids) == list(range(n))
    assert all(0.0 <= p <= 1.0 for p in r.probabilities)
    assert list(r.probabilities) == sorted(r.probabilities, reverse=True)
    assert 0.0 <= r.confidence <= 1.0


def test_a_damaged_model_is_a_config_error(tmp_path):
    from assistant.errors import ConfigError

    bad = tmp_path / "reader.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="train_reader"):
        Reader.load(bad)


# --- on the real index ------------------------------------------------------------------


def _candidates(qa, question, language):
    passages, qvec = qa._retrieve(question, 8, "hybrid")
    return build_candidates(qa._index, question, qvec, passages, language, qa._reference), passages


def test_features_are_finite_and_cover_every_sentence_of_the_passages(qa):
    c, passages = _candidates(qa, "Combien vaut l'accord entre OpenAI et AWS ?", "fr")
    assert c.hand.shape == (len(c.ids), len(SENTENCE_FEATURES))
    assert np.isfinite(c.hand).all() and np.isfinite(c.product).all()
    spans = [(p.article_id, p.start, p.end) for p in passages]
    for si in c.ids.tolist():
        s = qa._index.sentences[si]
        assert any(a == s.article_id and b <= s.start and s.end <= e for a, b, e in spans)
    assert set(c.question) >= {"top_dense", "top_ref_z", "question_visibility", "unknown_share"}


def test_headings_are_not_candidates(qa):
    c, _ = _candidates(qa, "Combien vaut l'accord entre OpenAI et AWS ?", "fr")
    titles = {a.title.strip() for a in qa.articles}
    for si in c.ids.tolist():
        s = qa._index.sentences[si]
        assert qa.article(s.article_id).text[s.start:s.end].strip() not in titles


def test_an_english_question_is_read_through_its_names_and_numbers(qa):
    """On French passages an English question's ordinary words are not lexical evidence."""
    c, _ = _candidates(qa, "How much is the AWS deal worth?", "en")
    assert c.question["same_language"] == 0.0
    j = SENTENCE_FEATURES.index("same_language")
    assert (c.hand[:, j] == 0).all()
    fr, _ = _candidates(qa, "Combien vaut l'accord avec AWS ?", "fr")
    assert fr.question["same_language"] == 1.0


def test_confidence_separates_an_answerable_question_from_an_off_topic_one(qa):
    yes = qa.ask("Quelle est la durée du contrat entre OpenAI et AWS ?")
    no = qa.ask("Quelle équipe a gagné le Tour de France 1998 ?")
    assert yes.confidence is not None and no.confidence is not None
    assert yes.confidence > qa._answer_cfg.threshold > no.confidence
    assert not yes.abstained and no.abstained


def _train_reader():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_reader

    return train_reader


class _LogitsAreTheCandidates:
    """A reader whose logits are given as the examples' candidates."""

    def sentence_logits(self, c):
        return np.asarray(c, np.float64)


def test_the_keep_probability_is_chosen_by_what_quoting_gains_and_costs():
    T = _train_reader()
    # the reader's second choice (probability ~0.38) holds the answer when its first does not
    unsure = [T.Example(f"q{i}", "answerable", np.array([0.0, -0.5, -4.0]),
                        np.array([1, 0, 0] if i % 2 else [0, 1, 0], np.int8)) for i in range(20)]
    keep, curve = T.choose_keep_probability(_LogitsAreTheCandidates(), unsure, max_sentences=3)
    assert keep <= 0.35
    at = {round(r["keep_probability"], 2): r for r in curve}
    assert at[0.3]["answer_hit"] == 1.0 and at[0.5]["answer_hit"] == 0.5
    assert at[0.3]["sentences"] == 2.0 and at[0.5]["sentences"] == 1.0
    # a reader always right first time gains nothing from a second quote: keep it out
    sure = [T.Example(f"q{i}", "answerable", np.array([3.0, -0.5, -4.0]), np.array([1, 0, 0], np.int8))
            for i in range(20)]
    keep, _ = T.choose_keep_probability(_LogitsAreTheCandidates(), sure, max_sentences=3)
    assert keep > 0.4
    # unanswerable examples and those whose answer was not retrieved do not count
    other = [T.Example("n", "near", np.array([0.0, -0.5]), np.array([0, 0], np.int8)),
             T.Example("m", "answerable", np.array([0.0, -0.5]), np.array([0, 0], np.int8))]
    assert T.quoting(_LogitsAreTheCandidates(), sure + other, 0.5, 3)["answer_hit"] == 1.0


def test_the_shipped_keep_probability_is_the_one_learned_and_the_one_used(qa):
    card = json.loads(CARD_PATH.read_text(encoding="utf-8"))
    calib = card["quoting_curve"]["calib"]
    best = max(calib, key=lambda r: (r["answer_hit"] + r["precision"], r["keep_probability"]))
    assert card["keep_probability"] == best["keep_probability"]
    assert qa._answer_cfg.keep_probability == card["keep_probability"]


def _lists(T, rng, n, variant, top):
    """``n`` candidate lists of three sentences whose one feature is ``top`` for the first
    sentence (the gold one when the variant is answerable) and about 0 for the others."""

    out = []
    for i in range(n):
        hand = np.array([[top], [0.0], [0.0]], np.float32) + rng.normal(0, 0.2, (3, 1)).astype(np.float32)
        labels = np.array([1, 0, 0] if variant == "answerable" else [0, 0, 0], np.int8)
        out.append(T.Example(f"{variant}{i}", variant, SimpleNamespace(hand=hand, product=np.zeros((3, 2), np.float32)),
                             labels))
    return out


def test_the_selector_learns_from_unanswerable_candidates_only_when_asked_to():
    """Weight 0 is the shipped training (answerable lists only); a positive weight adds
    the candidates of questions whose answer was left out as negatives, which lowers the
    probability of a sentence that only resembles an answer, not the gold one's rank."""
    T = _train_reader()
    rng = np.random.default_rng(0)
    examples = _lists(T, rng, 60, "answerable", 2.0) + _lists(T, rng, 60, "near", 1.0)
    probe = np.array([[2.0], [1.0], [0.0]], np.float32)

    def probabilities(weight):
        chosen = [e for e in examples if e.variant == "answerable" or weight > 0]
        w = T.train_selector(chosen, hidden=4, epochs=400, seed=1, use_product=False, unanswerable_weight=weight)
        reader = T.Reader(w, {"threshold": 0.5})
        c = SimpleNamespace(hand=probe, product=np.zeros((3, 2), np.float32))
        return 1 / (1 + np.exp(-reader.sentence_logits(c)))

    without, with_negatives = probabilities(0.0), probabilities(3.0)
    assert with_negatives[1] < without[1] - 0.2
    assert with_negatives[0] > 0.5 and np.argmax(with_negatives) == 0


def test_merged_selectors_compute_the_mean_logit_of_their_members():
    """``--ensemble K`` ships K selectors as one wider network of the same format."""
    T = _train_reader()
    rng = np.random.default_rng(0)
    examples = _lists(T, rng, 60, "answerable", 2.0)
    members = [T.train_selector(examples, hidden=4, epochs=50, seed=k, use_product=False, unanswerable_weight=0.0)
               for k in range(3)]
    merged = T.merge_selectors(members)
    c = SimpleNamespace(hand=np.array([[2.0], [1.0], [-0.5]], np.float32), product=np.zeros((3, 2), np.float32))
    logits = [T.Reader(m, {"threshold": 0.5}).sentence_logits(c) for m in members]
    assert not np.allclose(logits[0], logits[1])
    assert merged["W1"].shape[1] == 3 * members[0]["W1"].shape[1]
    np.testing.assert_allclose(T.Reader(merged, {"threshold": 0.5}).sentence_logits(c),
                               np.mean(logits, axis=0), rtol=1e-5, atol=1e-5)


def test_a_simulated_deletion_reads_the_passage_as_the_index_would_rebuild_it(qa):
    """Training deletes a paragraph by leaving its sentences out (``removed``); a passage that
    loses some is scored by the vector the index would derive from the rest, and keeps its
    BM25 vote, so the deletion leaves no trace a model could learn instead of the content."""
    from assistant.index import chunk_vectors_from

    index = qa._index
    question = "Combien vaut l'accord entre OpenAI et AWS ?"
    passages, qvec = qa._retrieve(question, 8, "hybrid")
    cut = next(p for p in passages if len(index.sentences_in_chunk(index.chunk_positions[p.chunk_id])) >= 3)
    inside = index.sentences_in_chunk(index.chunk_positions[cut.chunk_id])
    removed = frozenset(inside[:1])
    c = build_candidates(index, question, qvec, passages, "fr", qa._reference, removed=removed)

    def derived(p):  # the vector the index would give the passage's chunk without ``removed``
        ci = index.chunk_positions[p.chunk_id]
        kept = [si for si in index.sentences_in_chunk(ci) if si not in removed]
        if len(kept) == len(index.sentences_in_chunk(ci)):
            return np.asarray(index.chunk_vectors[ci], np.float32)
        return chunk_vectors_from([index.chunks[ci]], [index.sentences[si] for si in kept],
                                  np.asarray(index.sentence_vectors[kept], np.float32))[0]

    first = {}
    for p in passages:  # a sentence is scored by the first passage that holds it
        for si in index.sentences_in_chunk(index.chunk_positions[p.chunk_id]):
            first.setdefault(si, p.chunk_id)
    rows = [k for k, si in enumerate(c.ids.tolist()) if first[si] == cut.chunk_id]
    assert rows and not set(c.ids.tolist()) & removed
    sims = [float(derived(p) @ qvec) for p in passages]
    sim = float(derived(cut) @ qvec)
    gap = c.hand[:, SENTENCE_FEATURES.index("chunk_dense_gap")]
    np.testing.assert_allclose(gap[rows], sim - max(sims), atol=1e-5)
    if cut.lexical_score:
        assert (c.hand[rows, SENTENCE_FEATURES.index("lexical_hit")] == 1.0).all()

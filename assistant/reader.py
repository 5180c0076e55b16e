"""Stage 6a: the reader: which retrieved sentences answer the question, and does any?

Two small models, trained on PIAF v1.1 (Etalab, French Wikipedia questions, MIT licence)
by ``scripts/train_reader.py`` and shipped as ``assistant/models/reader.npz`` with their
figures in ``assistant/models/reader.json``:

* the **selector** scores every sentence of the retrieved passages:
  P(this sentence holds the answer). Its inputs are what the pipeline already has:
  the e5 similarity of the sentence (raw, relative to the other candidates, and
  relative to a fixed reference set of sentences, so that a question whose
  similarities all sit lower, as an English question on French text does, is not
  penalised), its neighbours' and its passage's similarity, retrieval ranks, the
  question's words, numbers and names found in it (IDF-weighted), whether it holds the
  kind of answer the question asks for (a date, a number, a name: see
  ``assistant/language.py``; per type, and as one "any type matches" flag so that a
  type rare in the training data, such as durations, borrows what the common ones
  teach), its length and position, and the element-wise product of
  the question and sentence vectors;
* the **answerability** model turns the selector's output and a few question-level
  signals (how much of the question the corpus knows, names and numbers the corpus
  never mentions) into ``confidence``: the probability that the best sentence answers
  the question. One threshold, chosen on held-out PIAF articles, decides abstention.
  None of its inputs counts the candidates (the selector's mean probability, not its
  sum): a corpus cut into longer passages would otherwise read as more answerable.

Inference is numpy only (a one-hidden-layer network and a logistic regression).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ConfigError
from .index import IndexData, chunk_vectors_from
from .language import pack, packs, union
from .safety import safe_sentences
from .text import content_words, fold, names, numbers, stems, translation_stable_stems, words
from .types import Passage

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).parent / "models"
MODEL_PATH = MODEL_DIR / "reader.npz"
CARD_PATH = MODEL_DIR / "reader.json"

SENTENCE_FEATURES = (
    "dense", "dense_ref_z", "dense_gap", "dense_rank", "passage_rank", "chunk_dense_gap",
    "neighbour_dense_gap", "idf_overlap", "idf_overlap_context", "overlap_count",
    "number_overlap", "question_has_numbers", "name_overlap", "question_has_names",
    "wants_date", "wants_number", "wants_person", "wants_place", "wants_duration",
    "has_date", "has_new_number", "has_new_name", "has_duration",
    "date_match", "number_match", "person_match", "place_match", "duration_match",
    "log_tokens", "fragment", "position", "same_language", "question_visibility",
    "lexical_hit", "prefix_overlap", "bigram_overlap", "missing_idf", "type_match", "type_miss",
)
QUESTION_FEATURES = (
    "top_logit", "second_logit", "logit_gap", "mean_probability", "top_dense", "top_ref_z", "top_chunk_ref_z",
    "question_visibility", "unknown_share", "top_idf_overlap", "same_language",
    "max_idf_overlap", "unknown_terms", "unknown_terms_same_language", "top_name_overlap",
    "top_missing_idf", "min_missing_idf", "top_type_match",
)

_YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b")


@lru_cache(maxsize=None)
def _folded(attribute: str) -> frozenset[str]:
    """One folded word set (``date_words``, ``number_words`` ...) over every language pack."""
    return frozenset(fold(w) for w in union(attribute))


def answer_type(question: str, language: str) -> str | None:
    """The answer type asked for, read with the question's language first, then the others."""
    first = pack(language).answer_type(question)
    if first:
        return first
    for code, p in packs().items():
        if code != language[:2]:
            t = p.answer_type(question)
            if t:
                return t
    return None


# --- per-sentence facts, computed once per index -------------------------------------


@dataclass(frozen=True)
class SentenceFacts:
    stems: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]
    words: frozenset[str]
    has_date: bool
    has_duration: bool
    tokens: int
    fragment: bool
    position: int
    prefixes: frozenset[str]
    bigrams: frozenset[tuple[str, str]]


def sentence_facts(index: IndexData, i: int) -> SentenceFacts:
    cache = index.cache.setdefault("sentence_facts", {})
    facts = cache.get(i)
    if facts is None:
        s = index.sentences[i]
        article = index.articles[s.article_id]
        text = article.text[s.start:s.end]
        ws = words(text)
        first = index.sentences_by_article[s.article_id][0]
        pref = prefixes(text)
        facts = SentenceFacts(
            stems=frozenset(stems(text)), numbers=frozenset(numbers(text)),
            names=frozenset(names(text)), words=frozenset(ws),
            has_date=bool(_YEAR.search(text)) or any(w in _folded("date_words") for w in ws),
            has_duration=any(b in _folded("duration_units") and (a.isdigit() or a in _folded("number_words"))
                             for a, b in zip(ws, ws[1:])),
            tokens=len(ws),
            fragment=len(ws) < 4 or fold(text) == fold(article.title)
            or (not text.rstrip("»”\"')] ").endswith((".", "!", "?", "…")) and len(ws) < 12),
            position=i - first,
            prefixes=frozenset(pref), bigrams=frozenset(zip(pref, pref[1:])),
        )
        cache[i] = facts
    return facts


def prefixes(text: str, size: int = 5) -> list[str]:
    """The content words of ``text`` cut to their first ``size`` letters, in order.

    A crude stemmer shared by both languages: it matches derived forms a suffix stemmer
    keeps apart (construit / construction) and many French-English cognates.
    """
    return [w[:size] for w in content_words(text) if not w.isdigit()]


def document_frequency(index: IndexData) -> dict[str, int]:
    """BM25 token -> number of chunks holding it (read off the BM25 postings)."""
    cached = index.cache.get("df")
    if cached is None:
        df = np.diff(np.asarray(index.bm25.scores["indptr"]))
        cached = index.cache["df"] = {tok: int(df[j]) for tok, j in index.bm25.vocab_dict.items() if j < len(df)}
    return cached


def idf(index: IndexData) -> dict[str, float]:
    """BM25 token -> inverse document frequency over the chunks."""
    cached = index.cache.get("idf")
    if cached is None:
        n = max(len(index.chunks), 1)
        cached = index.cache["idf"] = {tok: float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
                                       for tok, df in document_frequency(index).items()}
    return cached


def title_facts(index: IndexData, article_id: str) -> tuple[frozenset[str], frozenset[str]]:
    """The stems and names of an article's title, cached."""
    cache = index.cache.setdefault("title_facts", {})
    if article_id not in cache:
        title = index.articles[article_id].title
        cache[article_id] = (frozenset(stems(title)), frozenset(names(" " + title)))
    return cache[article_id]


# --- features ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """The candidate sentences of one question and their features."""

    ids: np.ndarray            # sentence indices into IndexData.sentences
    passage_rank: np.ndarray
    hand: np.ndarray           # (n, len(SENTENCE_FEATURES))
    product: np.ndarray        # (n, dim): question vector * sentence vector
    question: dict[str, float]


def candidate_sentences(index: IndexData, passages: Sequence[Passage],
                        removed: frozenset[int] = frozenset()) -> tuple[list[int], list[int]]:
    """Sentence indices inside the passages (each once, with its best passage rank).

    Headings (the title repeated, a short line with no final punctuation) announce a
    subject and state no fact; they are left out unless nothing else is there.
    """
    seen: dict[int, int] = {}
    headings: dict[int, int] = {}
    for rank, p in enumerate(passages):
        for si in safe_sentences(index, index.sentences_in_chunk(index.chunk_positions[p.chunk_id])):
            if si not in removed:
                (headings if sentence_facts(index, si).fragment else seen).setdefault(si, rank)
    if not seen:
        seen = headings
    return list(seen), list(seen.values())


def build_candidates(index: IndexData, question: str, query_vector: np.ndarray,
                     passages: Sequence[Passage], language: str, reference: np.ndarray, *,
                     simulate_translation: bool = False, dense_shift: float = 0.0,
                     hidden: Mapping[str, int] | None = None,
                     removed: frozenset[int] = frozenset()) -> Candidates | None:
    """Features of every sentence in ``passages`` for ``question`` (None when there is none).

    ``simulate_translation`` (training only) keeps, of the question's words, only what
    survives translation (names and numbers), as for an English question on French text;
    ``dense_shift`` lowers every similarity as a cross-lingual pair does; ``hidden`` (BM25
    token -> chunks holding it) is text taken out of the corpus for the question, whose
    tokens then count as unknown when they occur nowhere else; ``removed`` (training
    only) are sentences read as if deleted from their article: never candidates, never
    neighbours, and a passage holding some is scored by what remains of it.
    """
    ids, ranks = candidate_sentences(index, passages, removed)
    if not ids:
        return None
    known = _known(index, hidden)
    ids_a = np.asarray(ids, dtype=np.int64)
    # a plain view of the memory-mapped vectors: the same values, without np.memmap's
    # overhead on each of the per-candidate lookups below
    sentence_vectors = np.asarray(index.sentence_vectors)
    svecs = np.asarray(sentence_vectors[ids_a], dtype=np.float32)
    q = np.asarray(query_vector, dtype=np.float32)
    dense = svecs @ q - dense_shift
    ref = np.asarray(reference, dtype=np.float32) @ q - dense_shift
    ref_mu, ref_sd = float(ref.mean()), float(ref.std() + 1e-6)
    order = np.argsort(-dense, kind="stable")
    dense_rank = np.empty(len(ids), np.float32)
    dense_rank[order] = np.arange(len(ids))
    dmax = float(dense.max())

    chunk_sim: dict[str, float] = {}
    sentence_chunk: dict[int, float] = {}      # sentence -> similarity of its first passage
    lexical_sentence: dict[int, float] = {}    # sentence -> did BM25 find its first passage
    for p in passages:
        ci = index.chunk_positions[p.chunk_id]
        inside = index.sentences_in_chunk(ci)
        kept = [si for si in inside if si not in removed]
        if not kept:
            continue
        if len(kept) == len(inside):
            vector = np.asarray(index.chunk_vectors[ci], np.float32)
        else:  # what the index would derive for the chunk without the removed text
            vector = chunk_vectors_from([index.chunks[ci]], [index.sentences[si] for si in kept],
                                        np.asarray(sentence_vectors[kept], np.float32))[0]
        sim = chunk_sim.setdefault(p.chunk_id, float(vector @ q) - dense_shift)
        for si in kept:
            sentence_chunk.setdefault(si, sim)
            lexical_sentence.setdefault(si, 1.0 if p.lexical_score else 0.0)
    chunk_max = max(chunk_sim.values())

    weights = idf(index)
    sentence_rows = [index.sentences[i] for i in ids]
    article_language: dict[str, str] = {}
    for row in sentence_rows:
        if row.article_id not in article_language:
            article_language[row.article_id] = index.articles[row.article_id].language[:2]
    languages = [article_language[row.article_id] for row in sentence_rows]
    corpus_language = max(set(languages), key=languages.count)
    # A question in another language than the passages shares only its names and numbers
    # with them: read it that way (training simulates it with ``simulate_translation``).
    simulate_translation = simulate_translation or corpus_language != language[:2]
    q_names = names(question)
    q_numbers = {n for n in numbers(question) if len(n) >= 2 or not simulate_translation}
    q_stems = list(dict.fromkeys(stems(question)))
    if simulate_translation:
        keep = set(translation_stable_stems(question))
        q_stems = [t for t in q_stems if t in keep]
    q_weight = {t: weights.get(t, 0.0) if known(t) else 0.0 for t in q_stems}
    q_total = sum(q_weight.values()) or 1.0
    q_words = set(words(question))
    q_all_numbers = numbers(question)
    q_folded_names = {fold(w) for w in q_words} | q_names
    all_stems = stems(question)
    if all_stems:
        visible = [t for t in all_stems if known(t)]
        if simulate_translation:
            visible = [t for t in visible if t in set(q_stems)]
        visibility = len(visible) / len(all_stems)
    else:
        visibility = 0.0
    wants = answer_type(question, language)
    same_language_default = not simulate_translation
    q_prefixes = [] if simulate_translation else list(dict.fromkeys(prefixes(question)))
    q_bigrams = set(zip(q_prefixes, q_prefixes[1:]))
    q_max_weight = max(q_weight.values(), default=0.0) or 1.0

    rows = []
    n_sent = len(index.sentences)
    for k, si in enumerate(ids):
        f = sentence_facts(index, si)
        s = sentence_rows[k]
        same_language = same_language_default and article_language[s.article_id] == language[:2]
        before, after = si - 1, si + 1
        while before in removed:
            before -= 1
        while after in removed:
            after += 1
        prev_ok = before >= 0 and index.sentences[before].article_id == s.article_id
        next_ok = after < n_sent and index.sentences[after].article_id == s.article_id
        neighbours = [j for j, ok in ((before, prev_ok), (after, next_ok)) if ok]
        if neighbours:
            nd = float((np.asarray(sentence_vectors[neighbours], np.float32) @ q).max()) - dense_shift
        else:
            nd = float(dense[k])
        t_stems, t_names = title_facts(index, s.article_id)
        context = f.stems | t_stems
        prev_facts = sentence_facts(index, before) if prev_ok else None
        if prev_facts is not None:
            context = context | prev_facts.stems
        found = sum(w for t, w in q_weight.items() if t in f.stems)
        found_ctx = sum(w for t, w in q_weight.items() if t in context)
        ctx_names = f.names | (prev_facts.names if prev_facts is not None else frozenset()) | t_names
        new_number = bool(f.numbers - q_all_numbers)
        new_name = bool(f.names - q_folded_names)
        has_date = f.has_date
        missing = max((w for t, w in q_weight.items() if t not in context), default=0.0)
        matches = (wants == "date" and has_date, wants == "number" and new_number,
                   wants in ("person", "place") and new_name, wants == "duration" and f.has_duration)
        rows.append((
            float(dense[k]),
            (float(dense[k]) - ref_mu) / ref_sd,
            float(dense[k]) - dmax,
            math.log1p(dense_rank[k]),
            math.log1p(ranks[k]),
            sentence_chunk[si] - chunk_max,
            nd - float(dense[k]),
            found / q_total,
            found_ctx / q_total,
            float(sum(t in f.stems for t in q_stems)),
            len(q_numbers & f.numbers) / len(q_numbers) if q_numbers else 0.0,
            1.0 if q_numbers else 0.0,
            len(q_names & ctx_names) / len(q_names) if q_names else 0.0,
            1.0 if q_names else 0.0,
            float(wants == "date"), float(wants == "number"), float(wants == "person"),
            float(wants == "place"), float(wants == "duration"),
            float(has_date), float(new_number), float(new_name), float(f.has_duration),
            float(matches[0]), float(matches[1]), float(wants == "person" and new_name),
            float(matches[2] and wants == "place"), float(matches[3]),
            math.log1p(f.tokens), float(f.fragment), math.log1p(f.position),
            float(same_language), visibility, lexical_sentence.get(si, 0.0),
            sum(p in f.prefixes for p in q_prefixes) / len(q_prefixes) if q_prefixes else 0.0,
            len(q_bigrams & f.bigrams) / len(q_bigrams) if q_bigrams else 0.0,
            missing / q_max_weight,
            float(any(matches)), float(wants is not None and not any(matches)),
        ))
    hand = np.asarray(rows, dtype=np.float32)
    unknown_terms = sum(not known(t) for t in q_stems) / len(q_stems) if q_stems else 0.0
    product = svecs * q[None, :]
    unknown = _unknown_share(question, known)
    qf = {
        "top_dense": dmax,
        "top_ref_z": (dmax - ref_mu) / ref_sd,
        "top_chunk_ref_z": (chunk_max - ref_mu) / ref_sd,
        "question_visibility": visibility,
        "unknown_share": unknown,
        "same_language": 0.0 if simulate_translation else 1.0,
        "max_idf_overlap": float(hand[:, SENTENCE_FEATURES.index("idf_overlap_context")].max()),
        "unknown_terms": unknown_terms,
        "unknown_terms_same_language": unknown_terms * (0.0 if simulate_translation else 1.0),
        "min_missing_idf": float(hand[:, SENTENCE_FEATURES.index("missing_idf")].min()),
    }
    return Candidates(ids_a, np.asarray(ranks, np.int64), hand, product, qf)


def _known(index: IndexData, hidden: Mapping[str, int] | None):
    """Is a BM25 token anywhere in the corpus (outside ``hidden``, when given)?"""
    if not hidden:
        vocab = index.bm25.vocab_dict
        return lambda t: t in vocab
    df = document_frequency(index)
    return lambda t: df.get(t, 0) - hidden.get(t, 0) > 0


def _unknown_share(question: str, known) -> float:
    """Share of the question's names and numbers that the corpus never mentions
    (these survive translation, so the share means the same in any language)."""
    terms = [n for n in names(question)] + [n for n in numbers(question) if len(n) >= 2]
    terms = list(dict.fromkeys(terms))
    if not terms:
        return 0.0
    missing = sum(not all(known(p) for p in (stems(t) or [t])) for t in terms)
    return missing / len(terms)


# --- the models ----------------------------------------------------------------------


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass(frozen=True)
class ReaderResult:
    """The reader's verdict on one question's candidates, best sentence first."""

    ids: tuple[int, ...]
    probabilities: tuple[float, ...]
    passage_ranks: tuple[int, ...]
    confidence: float


class Reader:
    """The shipped selector and answerability models (see the module docstring)."""

    def __init__(self, weights: Mapping[str, np.ndarray], card: Mapping[str, Any]) -> None:
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.card = dict(card)
        self.threshold = float(self.card["threshold"])
        self.keep_probability = float(self.card.get("keep_probability", 0.5))
        self.embedder_id = str(self.card.get("embedder", ""))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Reader":
        """The model at ``path`` (default: the one shipped in the package)."""
        path = Path(path) if path else MODEL_PATH
        card_path = path.with_suffix(".json")
        try:
            with np.load(path, allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files}
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"reader model {path} is unreadable ({exc}); "
                              "run `python scripts/train_reader.py` to train it") from None
        return cls(weights, card)

    def reference_for(self, embedder_id: str, index: IndexData) -> np.ndarray:
        """Reference sentence vectors for the similarity z-scores: the shipped ones when the
        embedder is the one the reader was trained with, else a sample of the index."""
        if embedder_id == self.embedder_id and "reference" in self.w:
            return self.w["reference"]
        cached = index.cache.get("reference")
        if cached is None:
            n = len(index.sentences)
            take = np.linspace(0, n - 1, num=min(n, 512)).astype(np.int64) if n else np.zeros(0, np.int64)
            cached = np.asarray(index.sentence_vectors[take], np.float32)
            index.cache["reference"] = cached
        return cached

    def sentence_logits(self, c: Candidates) -> np.ndarray:
        w = self.w
        x = (c.hand - w["hand_mean"]) / w["hand_std"]
        p = c.product * w["product_scale"]
        inputs = np.concatenate([x, p], axis=1)
        hidden = np.maximum(inputs @ w["W1"] + w["b1"], 0.0)
        return (hidden @ w["w2"] + inputs @ w["w_lin"] + w["b2"]).reshape(-1)

    def question_vector(self, c: Candidates, logits: np.ndarray) -> np.ndarray:
        srt = np.sort(logits)[::-1]
        top, second = float(srt[0]), float(srt[1]) if len(srt) > 1 else float(srt[0]) - 5.0
        best = int(np.argmax(logits))
        values = {
            **c.question,
            "top_logit": top, "second_logit": second, "logit_gap": top - second,
            "mean_probability": float(np.mean(_sigmoid(logits))),
            "top_idf_overlap": float(c.hand[best, SENTENCE_FEATURES.index("idf_overlap_context")]),
            "top_name_overlap": float(c.hand[best, SENTENCE_FEATURES.index("name_overlap")]),
            "top_missing_idf": float(c.hand[best, SENTENCE_FEATURES.index("missing_idf")]),
            "top_type_match": float(c.hand[best, SENTENCE_FEATURES.index("type_match")]),
        }
        return np.asarray([values[k] for k in QUESTION_FEATURES], dtype=np.float32)

    def answerability(self, c: Candidates, logits: np.ndarray) -> float:
        w = self.w
        v = (self.question_vector(c, logits) - w["q_mean"]) / w["q_std"]
        return float(_sigmoid(float(v @ w["q_w"] + w["q_b"][0])))

    def read(self, c: Candidates) -> ReaderResult:
        logits = self.sentence_logits(c)
        order = np.argsort(-logits, kind="stable")
        probs = _sigmoid(logits[order])
        return ReaderResult(tuple(int(c.ids[i]) for i in order), tuple(float(x) for x in probs),
                            tuple(int(c.passage_rank[i]) for i in order), self.answerability(c, logits))


@lru_cache(maxsize=4)
def shipped_reader(path: str | None = None) -> Reader:
    """The reader in the package, loaded once per process."""
    return Reader.load(path)

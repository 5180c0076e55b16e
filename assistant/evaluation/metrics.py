"""Ranking, abstention and latency metrics, and their aggregation over per-question records (pure)."""

from __future__ import annotations

import bisect
import math
from typing import Any, Iterable, Mapping, Sequence

from .dataset import GROUPS, KINDS
from .match import GoldSpan, covers


RETRIEVAL_K = 10
RECALL_KS = (1, 3, 5)


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


def confidence_auc(pairs: Iterable[tuple[bool, float | None]]) -> float | None:
    """From (answerable, confidence) pairs: the probability that an answerable question gets a
    higher confidence than an unanswerable one (ties count half). It does not depend on the
    threshold, so two readers compare on it even when one is calibrated to refuse more."""
    yes, no = [], []
    for is_answerable, confidence in pairs:
        if confidence is not None:
            (yes if is_answerable else no).append(float(confidence))
    if not yes or not no:
        return None
    no.sort()
    wins = 0.0
    for c in yes:
        below, not_above = bisect.bisect_left(no, c), bisect.bisect_right(no, c)
        wins += below + 0.5 * (not_above - below)
    return wins / (len(yes) * len(no))


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
    # answers that open by saying they may not answer exactly, among the answers given
    # (a good reader hedges most answers to unanswerable questions, few of the others)
    m["hedged_share"] = _mean([1.0 if r.get("answer", {}).get("hedged") else 0.0 for r in records
                               if not r["verdicts"]["abstention"]["abstained"]])
    m["answer_language"] = _mean([1.0 if r["verdicts"]["language"]["ok"] else 0.0 for r in records])
    m.update(abstention_metrics((r["answerable"], r["verdicts"]["abstention"]["abstained"]) for r in records))
    m["abstention_auc"] = confidence_auc((r["answerable"], r.get("answer", {}).get("confidence")) for r in records)
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
    """``aggregate`` for all records, each language group, each kind (``kind:fact`` ...) and,
    when questions come in both languages, each kind per language (``kind:fact · fr`` ...)."""
    out = {}
    for g in GROUPS:
        sub = [r for r in records if g in r["groups"]]
        if sub:
            out[g] = aggregate(sub)
    languages = [g for g in LANGUAGES if g in out]
    for k in KINDS:
        sub = [r for r in records if r["kind"] == k]
        if sub:
            out[f"kind:{k}"] = aggregate(sub)
            for g in languages if len(languages) > 1 else ():
                part = [r for r in sub if g in r["groups"]]
                if part:
                    out[kind_group(k, g)] = aggregate(part)
    return out


#: the question languages a kind is also reported in (the language groups of ``GROUPS``)
LANGUAGES = ("fr", "en")


def kind_group(kind: str, language: str) -> str:
    """The group name of one kind of question in one language."""
    return f"kind:{kind} · {language}"


def is_kind_group(name: str) -> bool:
    """``kind:<kind>`` or ``kind:<kind> · <fr|en>``."""
    if not name.startswith("kind:"):
        return False
    kind, _, language = name[5:].partition(" · ")
    return kind in KINDS and (not language or language in LANGUAGES)

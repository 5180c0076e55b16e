"""Judging one answer (pure: plain dicts in, a verdict record out)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .dataset import Item
from .match import GoldSpan, covers, framing_language, locate, match_fact, match_facts
from .metrics import RECALL_KS, RETRIEVAL_K, first_ranks, ndcg_at_k, ratio, recall_at_k, reciprocal_rank


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

#!/usr/bin/env python3
"""Validate eval/questions.jsonl (stdlib only).

Usage: python3 eval/validate_questions.py [path/to/questions.jsonl]

Checks the schema described in eval/README.md, unique ids, language balance,
minimum counts per kind, and that every gold span is an exact substring of its
article text. Article text is read from <repo>/corpus/<article_id>.* (the
corpus folder next to this eval/ folder) when it exists, falling back to
/work/shared/articles/<article_id>.txt if no file matches there. Prints a summary; exits 1 on any error.
"""
import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = HERE / "questions.jsonl"
CORPUS_DIR = HERE.parent / "corpus"  # this checkout's corpus, wherever it lives
SHARED_DIR = Path("/work/shared/articles")

KINDS = ("fact", "unanswerable", "followup", "multi_article")
LANGS = ("fr", "en")
REQUIRED = {
    "id": str,
    "language": str,
    "question": str,
    "answerable": bool,
    "gold_articles": list,
    "gold_spans": list,
    "facts": list,
    "kind": str,
}
OPTIONAL = {"history": list, "tags": list}
MIN_TOTAL = 70
MIN_FACT = 44
MIN_UNANSWERABLE = 14
MIN_FOLLOWUP = 8
MIN_MULTI = 8
MIN_SPAN_LEN = 15
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ARTICLE_ID_RE = re.compile(r"^\d{3}_[0-9a-f]{16}$")
# Lines of page furniture that must never serve as evidence.
BOILERPLATE_LINES = {
    "Getting your Trinity Audio player ready...",
    "Laisser un commentaire",
    "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *",
    "Total",
    "0",
    "Share",
    "Points clés :",
    "Points clés\u00a0:",
    "OpenAI, intelligence artificielle, IA",
}

_article_cache = {}


def article_text(article_id):
    """Return (text, path) for an article id, or (None, reason)."""
    if article_id in _article_cache:
        return _article_cache[article_id]
    result = (None, "not found")
    candidates = []
    if CORPUS_DIR.is_dir():
        candidates = sorted(p for p in CORPUS_DIR.glob(article_id + ".*") if p.is_file())
        # prefer plain text if several formats exist
        candidates.sort(key=lambda p: (p.suffix != ".txt", p.name))
    if not candidates:
        p = SHARED_DIR / (article_id + ".txt")
        if p.is_file():
            candidates = [p]
    if candidates:
        p = candidates[0]
        result = (p.read_text(encoding="utf-8"), str(p))
    _article_cache[article_id] = result
    return result


def line_of(text, span):
    """The full line of `text` containing the first occurrence of span."""
    i = text.find(span)
    start = text.rfind("\n", 0, i) + 1
    end = text.find("\n", i)
    return text[start:] if end == -1 else text[start:end]


def main(argv):
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_QUESTIONS
    errors = []
    warnings = []

    def err(item_id, msg):
        errors.append(f"[{item_id}] {msg}")

    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        print(f"ERROR: cannot read {path}: {e}")
        return 1
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: invalid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"line {n}: not a JSON object")
            continue
        items.append((n, obj))

    seen_ids = collections.Counter()
    used_sources = set()
    for n, it in items:
        iid = it.get("id", f"line{n}")
        # --- schema: keys and types
        for key, typ in REQUIRED.items():
            if key not in it:
                err(iid, f"missing key '{key}'")
            elif not isinstance(it[key], typ):
                err(iid, f"'{key}' must be {typ.__name__}")
        for key, typ in OPTIONAL.items():
            if key in it and not isinstance(it[key], typ):
                err(iid, f"'{key}' must be {typ.__name__}")
        for key in it:
            if key not in REQUIRED and key not in OPTIONAL:
                err(iid, f"unknown key '{key}'")
        if any(k in it and not isinstance(it[k], REQUIRED[k]) for k in REQUIRED if k in it):
            continue
        if any(k not in it for k in REQUIRED):
            continue

        seen_ids[iid] += 1
        if not ID_RE.match(iid):
            err(iid, "id must be lowercase letters, digits and dashes")
        lang, kind = it["language"], it["kind"]
        if lang not in LANGS:
            err(iid, f"language must be one of {LANGS}")
        if kind not in KINDS:
            err(iid, f"kind must be one of {KINDS}")
        q = it["question"].strip()
        if not q:
            err(iid, "empty question")
        elif not q.endswith("?"):
            warnings.append(f"[{iid}] question does not end with '?'")
        tags = it.get("tags", [])
        if not all(isinstance(t, str) and t for t in tags):
            err(iid, "tags must be non-empty strings")

        # --- history / followups
        hist = it.get("history")
        if kind == "followup":
            if not hist or not all(isinstance(h, str) and h.strip() for h in hist):
                err(iid, "followup needs a non-empty 'history' list of strings")
        elif hist:
            err(iid, "'history' is only allowed on kind 'followup'")

        ans = it["answerable"]
        gold_articles = it["gold_articles"]
        spans = it["gold_spans"]
        facts = it["facts"]

        # --- answerability consistency
        if kind == "unanswerable" or not ans:
            if kind != "unanswerable" or ans:
                err(iid, "answerable=false iff kind='unanswerable'")
            if gold_articles or spans or facts:
                err(iid, "unanswerable items need empty gold_articles, gold_spans and facts")
            if not ({"near-topic", "off-topic"} & set(tags)):
                err(iid, "unanswerable items need tag 'near-topic' or 'off-topic'")
            continue

        if lang == "en" and "cross-lingual" not in tags:
            err(iid, "English answerable items must carry tag 'cross-lingual'")
        if not gold_articles:
            err(iid, "answerable item without gold_articles")
        if len(set(gold_articles)) != len(gold_articles):
            err(iid, "duplicate gold_articles")
        expected_n = 2 if kind == "multi_article" else 1
        if kind == "multi_article" and len(gold_articles) < 2:
            err(iid, "multi_article needs at least 2 gold_articles")
        elif kind != "multi_article" and len(gold_articles) != expected_n:
            err(iid, f"kind '{kind}' needs exactly 1 gold article")
        for aid in gold_articles:
            if not isinstance(aid, str) or not ARTICLE_ID_RE.match(aid):
                err(iid, f"bad article id {aid!r}")
            elif article_text(aid)[0] is None:
                err(iid, f"article {aid} not found")

        # --- spans
        span_text_by_article = collections.defaultdict(list)
        if not spans:
            err(iid, "answerable item without gold_spans")
        for s in spans:
            if not isinstance(s, dict) or set(s) != {"article_id", "text"}:
                err(iid, f"gold span must be {{article_id, text}}: {s!r}")
                continue
            aid, txt = s["article_id"], s["text"]
            if aid not in gold_articles:
                err(iid, f"span article {aid} not in gold_articles")
            if not isinstance(txt, str) or len(txt.strip()) < MIN_SPAN_LEN:
                err(iid, f"span too short: {txt!r}")
                continue
            if "\n" in txt or "\r" in txt:
                err(iid, f"span crosses a line break: {txt[:40]!r}")
                continue
            text, src = article_text(aid)
            if text is None:
                continue
            used_sources.add(src)
            if txt not in text:
                err(iid, f"span not an exact substring of {src}: {txt[:70]!r}")
                continue
            if line_of(text, txt).strip() in BOILERPLATE_LINES:
                err(iid, f"span comes from a boilerplate line: {txt!r}")
            span_text_by_article[aid].append(txt)
        for aid in gold_articles:
            if aid not in span_text_by_article:
                err(iid, f"no valid gold span for gold article {aid}")

        # --- facts
        if not facts:
            err(iid, "answerable item without facts")
        all_spans = " ".join(t for ts in span_text_by_article.values() for t in ts).casefold()
        fact_hit_articles = set()
        for group in facts:
            if not isinstance(group, list) or not group or not all(
                isinstance(v, str) and v.strip() for v in group
            ):
                err(iid, f"fact must be a non-empty list of non-empty strings: {group!r}")
                continue
            if len({v.casefold() for v in group}) != len(group):
                warnings.append(f"[{iid}] duplicate variants in fact {group!r}")
            # at least one variant must literally appear in the gold evidence
            if not any(v.casefold() in all_spans for v in group):
                err(iid, f"no variant of fact {group!r} occurs in the gold spans")
            for aid, ts in span_text_by_article.items():
                joined = " ".join(ts).casefold()
                if any(v.casefold() in joined for v in group):
                    fact_hit_articles.add(aid)
        if kind == "multi_article":
            missing = set(gold_articles) - fact_hit_articles
            if missing:
                err(iid, f"multi_article facts not supported by article(s) {sorted(missing)}")

    for iid, c in seen_ids.items():
        if c > 1:
            errors.append(f"[{iid}] duplicate id ({c} times)")

    # --- global counts
    valid = [it for _, it in items if isinstance(it.get("kind"), str)]
    by_kind_lang = collections.Counter((it.get("kind"), it.get("language")) for it in valid)
    by_lang = collections.Counter(it.get("language") for it in valid)
    by_kind = collections.Counter(it.get("kind") for it in valid)
    fact_per_article = collections.Counter(
        a for it in valid if it.get("kind") == "fact" for a in it.get("gold_articles", [])
    )
    all_per_article = collections.Counter(
        a for it in valid for a in it.get("gold_articles", [])
    )
    tag_counts = collections.Counter(t for it in valid for t in it.get("tags", []))

    total = len(valid)
    if total < MIN_TOTAL:
        errors.append(f"only {total} items (< {MIN_TOTAL})")
    if by_lang["fr"] != by_lang["en"]:
        errors.append(f"language imbalance: fr={by_lang['fr']} en={by_lang['en']}")
    for kind, minimum in (("fact", MIN_FACT), ("unanswerable", MIN_UNANSWERABLE),
                          ("followup", MIN_FOLLOWUP), ("multi_article", MIN_MULTI)):
        if by_kind[kind] < minimum:
            errors.append(f"only {by_kind[kind]} '{kind}' items (< {minimum})")
    if by_kind_lang[("unanswerable", "fr")] != by_kind_lang[("unanswerable", "en")]:
        errors.append("unanswerable items must be half French, half English")
    for kind in ("followup", "multi_article"):
        for lang in LANGS:
            if by_kind_lang[(kind, lang)] == 0:
                errors.append(f"no '{kind}' item in language '{lang}'")
    for tag in ("near-topic", "off-topic"):
        if tag_counts[tag] == 0:
            errors.append(f"no unanswerable item tagged '{tag}'")
    # every article referenced by the corpus must be covered fairly evenly
    article_ids = sorted(
        {p.stem for p in SHARED_DIR.glob("*.txt")} | set(all_per_article)
    )
    if article_ids:
        counts = [fact_per_article[a] for a in article_ids]
        if min(counts) == 0:
            errors.append("some article has no single-article fact question")
        elif max(counts) > 2 * min(counts):
            errors.append(f"fact questions unevenly spread over articles: {dict(zip(article_ids, counts))}")

    # --- summary
    print(f"questions file : {path}")
    print(f"article source : {', '.join(sorted({str(Path(s).parent) for s in used_sources})) or '-'}")
    print(f"items          : {total}  (fr={by_lang['fr']}, en={by_lang['en']})")
    print(f"{'kind':<15}{'fr':>5}{'en':>5}{'total':>7}")
    for kind in KINDS:
        fr, en = by_kind_lang[(kind, "fr")], by_kind_lang[(kind, "en")]
        print(f"{kind:<15}{fr:>5}{en:>5}{fr + en:>7}")
    print("per article    : (single-article fact questions / all items citing it)")
    for a in article_ids:
        print(f"  {a}  {fact_per_article[a]:>3} / {all_per_article[a]:>3}")
    print("tags           : " + ", ".join(f"{t}={c}" for t, c in sorted(tag_counts.items())))
    for w in warnings:
        print("WARNING: " + w)
    if errors:
        for e in errors:
            print("ERROR: " + e)
        print(f"FAILED with {len(errors)} error(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The question sets: the suites, the JSONL schema read into ``Item``s, the selection and the language groups."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..errors import AssistantError


DEFAULT_QUESTIONS = Path("eval/questions.jsonl")
#: question sets run side by side: name -> (questions, corpus; None: the configured corpus).
#: ``piaf`` is the dev split of PIAF v1.1 (Etalab, MIT licence) made by scripts/train_reader.py;
#: ``seed-en`` the seed questions on an English translation of the seed corpus (English text);
#: ``piaf-compound`` two piaf questions about different articles asked as one (both answers due);
#: ``piaf-large`` the piaf questions on a corpus ten times larger (train and calib articles added).
SUITES = {
    "seed": (DEFAULT_QUESTIONS, None),
    "piaf": (Path("eval/piaf/questions.jsonl"), Path("eval/piaf/corpus")),
    "seed-en": (Path("eval/seed-en/questions.jsonl"), Path("eval/seed-en/corpus")),
    # two PIAF questions about different articles asked as one, on the PIAF suite's corpus
    "piaf-compound": (Path("eval/piaf-compound/questions.jsonl"), Path("eval/piaf/corpus")),
    # the PIAF questions on their corpus plus 316 other PIAF articles (10x): not run by default
    "piaf-large": (Path("eval/piaf/questions.jsonl"), Path("eval/piaf-large/corpus")),
}
DEFAULT_SUITES = "seed,piaf,seed-en,piaf-compound"
DEFAULT_OUT = Path("eval/results")


GROUPS = ("all", "fr", "en", "en-on-fr")
GROUP_LABELS = {
    "all": "all questions",
    "fr": "French questions",
    "en": "English questions",
    "en-on-fr": "English question, French article",
}
KINDS = ("fact", "followup", "multi_article", "unanswerable", "near_topic", "off_topic")


class EvaluationError(AssistantError):
    """The question file or the evaluation options cannot be used."""

    exit_code = 2


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

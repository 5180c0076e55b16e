"""Running: every configuration asks every question through the public API, and each answer is judged."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import Assistant, AssistantError, IndexCorruptError, IndexMismatchError, Settings
from .configs import RunConfig, config_settings, index_slug, needs_own_index
from .dataset import Item, groups_of
from .judge import gold_spans, judge
from .match import GoldSpan
from .metrics import RETRIEVAL_K, aggregate_groups


WARM_UP_QUESTION = "warm-up"


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
        "confidence": answer_d.get("confidence"),
        "hedged": bool(answer_d.get("hedged")),
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

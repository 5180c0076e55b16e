"""A handful of real questions from eval/questions.jsonl, and answer comparison, for store/backend parity tests."""

from __future__ import annotations

import json

from conftest import ROOT


def eval_sample() -> list[dict]:
    """The first question of each (language, kind) in the evaluation set: facts, follow-ups
    (with their history), two-article and unanswerable questions, in French and English."""
    picked: dict[tuple[str, str], dict] = {}
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            picked.setdefault((item["language"], item["kind"]), item)
    return list(picked.values())


def answer_key(answer) -> tuple:
    """What a user sees of an answer: its text, whether it abstained, and each exact citation."""
    return (answer.text, answer.abstained,
            tuple((c.number, c.article_id, c.start, c.end, c.quote) for c in answer.citations))


def answers(qa, items) -> dict[str, tuple]:
    return {it["id"]: answer_key(qa.ask(it["question"], history=it.get("history"))) for it in items}

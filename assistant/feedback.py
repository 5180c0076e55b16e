"""The web chat's thumbs up/down turned into draft evaluation items.

The chat appends one JSON Lines record per vote (``id``, ``liked``, ``question``,
``answer``, ``copy``, ``conversation``, ``time``) and one per optional comment
(``ref``: the vote's id, ``comment``) to ``Settings.feedback_file``. Each vote on a
question becomes an item in the format of ``eval/questions.jsonl`` (see
``eval/README.md``) with what a reviewer needs: the answer that was judged, the
comment, and tags ``feedback`` plus ``liked`` or ``disliked``/``needs-review``.
Gold articles, spans and facts are left empty: only a person reading the articles
can write them, and ``eval/validate_questions.py`` refuses the item until they do.
Thumbs-down items come first; a question voted on several times is kept once, with
its latest vote.
"""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from .evaluation import EvaluationError


def _records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with Path(path).open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise EvaluationError(f"{path}, line {n}: not JSON; is it the chat's feedback file?") from None
                if isinstance(record, dict):
                    yield record
    except OSError as exc:
        raise EvaluationError(f"cannot read the feedback file {path} ({exc.strerror or exc})") from None


def feedback_items(path: Path) -> list[dict[str, Any]]:
    """Draft evaluation items from the feedback file at ``path`` (thumbs-down first)."""
    from .text import detect_language

    votes: dict[str, dict[str, Any]] = {}
    comments: dict[str, list[str]] = {}
    for r in _records(path):
        if "ref" in r:
            if str(r.get("comment") or "").strip():
                comments.setdefault(str(r["ref"]), []).append(" ".join(str(r["comment"]).split()))
        elif str(r.get("question") or "").strip() and r.get("id"):
            votes[str(r["id"])] = r
    latest: dict[str, dict[str, Any]] = {}
    for r in sorted(votes.values(), key=lambda r: float(r.get("time") or 0)):
        latest[" ".join(str(r["question"]).split()).casefold()] = r
    items = []
    for r in latest.values():
        question = " ".join(str(r["question"]).split())
        liked = r.get("liked") is True
        notes = comments.get(str(r["id"]), [])
        items.append({
            "id": f"feedback-{r['id']}",
            "language": detect_language(question),
            "kind": "fact",
            "question": question,
            "answerable": True,
            "gold_articles": [],
            "gold_spans": [],
            "facts": [],
            "tags": ["feedback", "liked"] if liked else ["feedback", "disliked", "needs-review"],
            "feedback": {"liked": liked, "answer": r.get("answer"), "comments": notes,
                         "conversation": r.get("conversation"), "time": r.get("time")},
        })
    items.sort(key=lambda it: (it["feedback"]["liked"], -float(it["feedback"]["time"] or 0)))
    return items

"""Reporting: the metrics tables, the worst questions and ``report.md``."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..config import Settings
from .dataset import GROUP_LABELS, GROUPS
from .runner import ConfigRun


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
    ("abstention_auc", "AUC"),
    ("hedged_share", "hedged"),
    ("generated_share", "gen"),
    ("verified_sentence_share", "verified"),
    ("p50_total_s", "p50 s"),
    ("p95_total_s", "p95 s"),
)


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
             "facts: answerable; abst.P/abst.R/false.ref: refusals; AUC: how often an answerable question gets a "
             "higher confidence than an unanswerable one (threshold-free); hedged: share of the answers given that "
             "open by saying they may not answer exactly (per kind: few for facts, most for unanswerable); p50/p95: `Answer.timings['total_s']`.")
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

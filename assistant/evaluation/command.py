"""``assistant eval``: its flags and the run of every suite (the CLI hands it the parsed arguments)."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Mapping

from .. import Settings
from .chart import write_chart
from .configs import DEFAULT_CONFIGS, EMBEDDER_ALIASES, _configs_arg, parse_configs, resolve_configs
from .dataset import DEFAULT_OUT, DEFAULT_SUITES, GROUPS, KINDS, SUITES, EvaluationError, load_items, select_items
from .gate import GATE_METRICS, check_gate, thresholds_from_args
from .report import _git_state, _json_default, _out_dir, _settings_dict, metrics_table, worst_questions, write_report
from .runner import _plural, run_all


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
    fallback = Path(__file__).resolve().parents[2] / path
    return fallback if fallback.exists() else path


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run every suite; 0 when done (and the gate, if any, passes), 1 when the gate fails."""
    quiet = bool(getattr(args, "quiet", False))
    if getattr(args, "feedback", None):
        from ..feedback import feedback_items

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

    from .. import __version__

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
        "git": _git_state(Path(__file__).resolve().parents[2]),
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

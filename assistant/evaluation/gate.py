"""The quality gate: thresholds from a TOML file and flags, checked against aggregated metrics."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any, Mapping

from .dataset import GROUPS, KINDS, SUITES, EvaluationError
from .metrics import is_kind_group


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
    ("abstention_auc", "min", "how often an answerable question gets a higher confidence than an unanswerable one"),
    ("p95_retrieve_s", "max", "p95 retrieval latency, seconds"),
    ("p95_answer_s", "max", "p95 answering latency, seconds"),
    ("p95_total_s", "max", "p95 total latency, seconds"),
)


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
                    if group not in GROUPS and not is_kind_group(group):
                        raise EvaluationError(f"gate file {path}: unknown group [{name}.{group}]")
                    take(f"{name}/{group}", sub)
            continue
        if isinstance(table, dict):
            if name not in GROUPS and not is_kind_group(name):
                raise EvaluationError(f"gate file {path}: unknown group [{name}] "
                                      f"(known: {', '.join(GROUPS)}, kind:<{'|'.join(KINDS)}>, kind:<kind> · <fr|en>)")
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

"""``assistant eval``: score the assistant on a fixed question set, through the public API only.

The harness knows nothing about the questions it is given: it reads them from a JSONL
file (``eval/questions.jsonl`` by default, schema in ``eval/README.md``), asks them with
``Assistant.ask`` under several configurations, and writes::

    <out>/<timestamp>/report.md       tables by configuration, by language and by kind
    <out>/<timestamp>/metrics.json    every figure, plus the settings and the gate result
    <out>/<timestamp>/results.jsonl   one line per (configuration, question): the answer,
                                      its citations and the verdict of every metric, with why
    <out>/<timestamp>/chart.png       configurations compared (matplotlib, if installed)

Metrics (``aggregate``), each for all questions and per language group
(``fr``, ``en``, and ``en-on-fr``: English questions about French articles):

* retrieval, on answerable questions, from ``Assistant.retrieve(k=10)`` with the question
  as the assistant understood it (``Answer.understood_question`` for follow-ups): a passage
  is relevant when its character offsets overlap a gold span (located in
  ``Assistant.article(id).text``). Recall@k is the share of gold spans overlapped by the top
  k passages; MRR uses the first relevant passage in the top 10; nDCG@10 credits each gold
  span once, at the first rank that covers it (ideal: one span per rank, capped at 1).
* fact accuracy: every fact group has a variant in the answer text (see ``match_fact``);
* citation precision: share of citations (answerable questions) whose quote overlaps a gold
  span or contains an expected fact; citation integrity: share of all citations whose quote
  equals the article text at its offsets;
* answer language: the answer is declared in the question's language and its own words
  (quotes and titles removed) do not read as the other language;
* abstention: precision and recall of refusing, with unanswerable questions as positives,
  and the false-refusal rate on answerable ones;
* latency: p50 and p95 of ``Answer.timings`` (retrieve, answer, total), after one
  warm-up question per configuration.

Configurations are ``[EMBEDDER-]MODE[+setting=value...]``: ``hybrid``, ``dense``, ``bm25``
use the configured embedder; ``use-hybrid`` builds a second index with the USE embedder in
a temporary folder; ``hybrid+abstain_threshold=0.55`` changes one setting. The first
configuration equal to the settings (embedder and retrieval mode, nothing overridden) is
the primary one: ``--min-*``/``--max-*`` thresholds apply to it and make the run exit 1.

The package, one module per concern (every public name is re-exported here):

    dataset   suites, the question schema (``Item``), selection, language groups
    match     fact matching, gold-span location, overlaps, the framing's language
    metrics   ranking / abstention / latency metrics and their aggregation
    judge     every verdict for one answer
    gate      thresholds (TOML file and flags) and their check
    configs   the configuration grammar and the settings each configuration runs with
    runner    asking every question under every configuration
    report    tables, worst questions, report.md
    chart     chart.png
    command   the ``assistant eval`` flags and ``main``
"""

from __future__ import annotations

from .dataset import (
    DEFAULT_OUT,
    DEFAULT_QUESTIONS,
    DEFAULT_SUITES,
    GROUP_LABELS,
    GROUPS,
    KINDS,
    SUITES,
    EvaluationError,
    groups_of,
    Item,
    load_items,
    parse_items,
    select_items,
)
from .match import (
    contains_variant,
    covers,
    framing_language,
    GoldSpan,
    locate,
    match_fact,
    match_facts,
    normalize,
    overlaps,
)
from .metrics import (
    RECALL_KS,
    RETRIEVAL_K,
    abstention_metrics,
    confidence_auc,
    aggregate,
    aggregate_groups,
    first_ranks,
    ndcg_at_k,
    percentile,
    ratio,
    recall_at_k,
    reciprocal_rank,
)
from .judge import (
    gold_spans,
    judge,
    question_score,
)
from .gate import (
    GATE_METRICS,
    check_gate,
    gate_failures,
    read_gate_file,
    thresholds_from_args,
)
from .configs import (
    DEFAULT_CONFIGS,
    EMBEDDER_ALIASES,
    FIXED_SETTINGS,
    INDEX_SETTINGS,
    MODES,
    config_settings,
    index_slug,
    needs_own_index,
    parse_config,
    parse_configs,
    resolve_configs,
    RunConfig,
)
from .runner import (
    WARM_UP_QUESTION,
    ConfigRun,
    run_all,
    run_item,
)
from .report import (
    TABLE_COLUMNS,
    fmt,
    metrics_table,
    worst_questions,
    write_report,
)
from .chart import (
    CHART_METRICS,
    write_chart,
)
from .command import (
    add_arguments,
    main,
)

__all__ = [
    "DEFAULT_OUT",
    "DEFAULT_QUESTIONS",
    "DEFAULT_SUITES",
    "GROUP_LABELS",
    "GROUPS",
    "KINDS",
    "SUITES",
    "EvaluationError",
    "groups_of",
    "Item",
    "load_items",
    "parse_items",
    "select_items",
    "contains_variant",
    "covers",
    "framing_language",
    "GoldSpan",
    "locate",
    "match_fact",
    "match_facts",
    "normalize",
    "overlaps",
    "RECALL_KS",
    "RETRIEVAL_K",
    "abstention_metrics",
    "confidence_auc",
    "aggregate",
    "aggregate_groups",
    "first_ranks",
    "ndcg_at_k",
    "percentile",
    "ratio",
    "recall_at_k",
    "reciprocal_rank",
    "gold_spans",
    "judge",
    "question_score",
    "GATE_METRICS",
    "check_gate",
    "gate_failures",
    "read_gate_file",
    "thresholds_from_args",
    "DEFAULT_CONFIGS",
    "EMBEDDER_ALIASES",
    "FIXED_SETTINGS",
    "INDEX_SETTINGS",
    "MODES",
    "config_settings",
    "index_slug",
    "needs_own_index",
    "parse_config",
    "parse_configs",
    "resolve_configs",
    "RunConfig",
    "WARM_UP_QUESTION",
    "ConfigRun",
    "run_all",
    "run_item",
    "TABLE_COLUMNS",
    "fmt",
    "metrics_table",
    "worst_questions",
    "write_report",
    "CHART_METRICS",
    "write_chart",
    "add_arguments",
    "main",
]

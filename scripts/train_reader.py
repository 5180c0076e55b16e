#!/usr/bin/env python
"""Train the reader (answer-sentence selector + answerability) on PIAF v1.1 and ship it.

    .venv/bin/python scripts/train_reader.py [--piaf ../shared/piaf] [--work .cache/reader]

Data: PIAF v1.1 (Etalab/DINUM, 2020; native French extractive QA on French Wikipedia
paragraphs; MIT licence, the paragraphs CC BY-SA). Articles (``doc_id``) are split by a
hash of their id into train (70 %), calib (15 %) and dev (15 %):

* train: the selector is fitted on its questions;
* calib: the answerability model and its one threshold are fitted on its questions;
* dev:   nothing is fitted on it. Its figures are reported in ``assistant/models/reader.json``
  and it becomes the evaluation suite ``eval/piaf/`` (corpus + questions, with real
  deletions: some articles left out of the corpus, some paragraphs cut out of articles).

The PIAF suite's answerable questions are also paired, two about different articles asked as one
(``eval/piaf-compound/``), and its questions asked of ten times the text (``eval/piaf-large/``).

calib and dev questions are also asked of their articles plus the train articles (7x the
sentences; ``calib+train`` and ``dev+train`` in the card): how abstention holds as a corpus grows.

Every question is asked three ways, SQuAD 2.0-style: as is (answerable), with its gold
paragraph out of the corpus while the rest of its article stays (near-topic), and with its
whole article out (off-topic). Questions translated into English by hand (``scripts/piaf_en/``:
480 of train, 240 of calib) are asked in English, as a user would ask them of French text.
Writes ``assistant/models/reader.npz`` (weights, a few hundred kB), ``reader.json`` (card: data,
split, figures, PR curve, command) and ``reader.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.config import Settings  # noqa: E402
from assistant.embed import load_embedder  # noqa: E402
from assistant.errors import IndexMismatchError  # noqa: E402
from assistant.index import build_index, load_index  # noqa: E402
from assistant.reader import (  # noqa: E402
    MODEL_DIR, QUESTION_FEATURES, SENTENCE_FEATURES, Reader, build_candidates,
)
from assistant.retrieve import retrieve  # noqa: E402
import assistant.reader as reader_module  # noqa: E402
from assistant.text import fold, sentence_spans, stems  # noqa: E402

SPLITS = {"train": (0.0, 0.70), "calib": (0.70, 0.85), "dev": (0.85, 1.0)}
PASSAGES = 8          # what Assistant.ask reads: max(top_k, 8)
CANDIDATES = 100      # Settings.candidates
SOURCE = ("PIAF v1.1, Etalab (DINUM), 2020: native French extractive question answering on French "
          "Wikipedia paragraphs; MIT licence (paragraphs from French Wikipedia, CC BY-SA)")


def article_position(doc_id: str) -> float:
    """Where an article falls in [0, 1): the splits are ranges of it."""
    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) / 16 ** 8


def split_of(doc_id: str) -> str:
    u = article_position(doc_id)
    return next(name for name, (lo, hi) in SPLITS.items() if lo <= u < hi)


# --- PIAF as articles ----------------------------------------------------------------


@dataclass
class PiafArticle:
    doc_id: str
    title: str
    paragraphs: list[tuple[str, str]] = field(default_factory=list)  # (context_id, text)


def read_piaf(folder: Path) -> tuple[dict[str, PiafArticle], list[dict]]:
    articles: dict[str, PiafArticle] = {}
    context_doc = {}
    with open(folder / "contexts.jsonl", encoding="utf-8") as fh:
        for line in fh:
            c = json.loads(line)
            a = articles.setdefault(c["doc_id"], PiafArticle(c["doc_id"], c["title"]))
            a.paragraphs.append((c["context_id"], c["text"]))
            context_doc[c["context_id"]] = c["doc_id"]
    for a in articles.values():
        a.paragraphs.sort()
    questions = []
    with open(folder / "questions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            q["doc_id"] = context_doc[q["context_id"]]
            questions.append(q)
    return articles, questions


def write_corpus(folder: Path, articles: list[PiafArticle], drop_paragraphs: set[str] = frozenset()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for a in articles:
        body = "\n\n".join(" ".join(t.split()) for cid, t in a.paragraphs if cid not in drop_paragraphs)
        if body:
            title = a.title.replace('"', "'")
            (folder / f"{a.doc_id}.md").write_text(
                f'---\ntitle: "{title}"\nlanguage: fr\nsource: PIAF v1.1 (Etalab, MIT licence)\n---\n\n{body}\n',
                encoding="utf-8")


def build(folder: Path, articles: list[PiafArticle], settings: Settings, embedder,
          start_from: Path | None = None) -> "object":
    """The index of ``articles`` in ``folder``; ``start_from``: the folder of an index of some of
    them, copied first so that only the others are embedded."""
    if start_from is not None and not (folder / "index").exists() and (start_from / "index").is_dir():
        shutil.copytree(start_from / "index", folder / "index", symlinks=True,
                        ignore=shutil.ignore_patterns(".lock"))
    write_corpus(folder / "corpus", articles)
    s = settings.replace(corpus_dir=folder / "corpus", index_dir=folder / "index")
    try:
        report = build_index(s, embedder=embedder, progress=sys.stderr.isatty())
    except IndexMismatchError:  # built with another embedder: embed everything again
        report = build_index(s, embedder=embedder, progress=sys.stderr.isatty(), rebuild=True)
    print(f"  {folder.name}: {report.summary()}", file=sys.stderr)
    return load_index(s.index_dir, embedder.embedder_id, s)


# --- examples ------------------------------------------------------------------------


@dataclass
class Example:
    qid: str
    variant: str          # answerable | near | off
    cands: object         # reader.Candidates
    labels: np.ndarray    # 1: holds the answer; 0: not; -1: ambiguous (left out)
    translated: bool = False


def locate_paragraphs(index, art: PiafArticle) -> dict[str, tuple[int, int]]:
    text = index.articles[art.doc_id].text
    out, pos = {}, 0
    for cid, ptext in art.paragraphs:
        p = " ".join(ptext.split())
        at = text.find(p, pos)
        if at >= 0:
            out[cid] = (at, at + len(p))
            pos = at + len(p)
    return out


def embed_questions(embedder, texts: list[str], work: Path | None) -> np.ndarray:
    """Query vectors of ``texts``, kept in ``work`` by content so a rerun skips the embedder."""
    key = hashlib.sha256("\n".join([embedder.embedder_id, *texts]).encode()).hexdigest()[:16]
    path = work / f"questions-{key}.npy" if work else None
    if path and path.is_file():
        return np.load(path)
    t0 = time.perf_counter()
    vecs = np.asarray(embedder.embed_queries(texts), np.float32)
    print(f"  {len(texts)} questions embedded in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
    return vecs


def make_examples(index, embedder, articles: dict[str, PiafArticle], questions: list[dict], *,
                  rng: random.Random, translate_share: float, variants=("answerable", "near", "off"),
                  work: Path | None = None, english: dict[str, str] | None = None) -> list[Example]:
    """Each question asked as is, with its paragraph left out (near) and with its article left
    out (off). A question with a hand translation in ``english`` is asked in English (as a user
    would ask it of French text); of the others, ``translate_share`` are read as if translated
    (names and numbers only, similarities lowered)."""
    english = english or {}
    spans = {}
    for doc_id in {q["doc_id"] for q in questions}:
        spans.update(locate_paragraphs(index, articles[doc_id]))
    usable = [q for q in questions if q["context_id"] in spans]
    asked = [english.get(q["id"], q["q"]) for q in usable]
    qvecs = embed_questions(embedder, asked, work)
    # a fixed reference, as the shipped reader uses: a sample of the train index's sentences
    reference = REFERENCE if REFERENCE is not None else index.sentence_vectors[:512]
    out: list[Example] = []
    for q, question, qvec in zip(usable, asked, qvecs):
        p_start, p_end = spans[q["context_id"]]
        ans_spans = [(p_start + s, p_start + s + len(a)) for a, s in zip(q["answers"], q["answer_start"])]
        answers = [fold(a) for a in q["answers"] if len(a) >= 4]
        pool = retrieve(index, question, qvec, k=3 * PASSAGES, candidates=CANDIDATES)
        in_english = q["id"] in english
        translate = not in_english and rng.random() < translate_share
        shift = rng.uniform(0.03, 0.09) if translate else 0.0
        for variant in variants:
            removed: frozenset[int] = frozenset()
            if variant == "answerable":
                passages = pool[:PASSAGES]
            elif variant == "near":
                # the paragraph is deleted, its neighbours stay: what a real deletion leaves
                removed = frozenset(
                    si for si in index.sentences_by_article[q["doc_id"]]
                    if index.sentences[si].start < p_end and index.sentences[si].end > p_start)
                passages = [p for p in pool if not (p.article_id == q["doc_id"] and p_start <= p.start
                                                    and p.end <= p_end)][:PASSAGES]
            else:
                passages = [p for p in pool if p.article_id != q["doc_id"]][:PASSAGES]
            if not passages:
                continue
            hidden = None
            if variant != "answerable":  # what leaving the text out would take from BM25's vocabulary
                hidden = {}
                text = index.articles[q["doc_id"]].text
                title = index.articles[q["doc_id"]].title
                for ch in index.chunks:
                    if ch.article_id != q["doc_id"]:
                        continue
                    if variant == "off":
                        gone = set(stems(title + "\n" + ch.text) or ["_"])
                    elif ch.start < p_end and ch.end > p_start:  # only what the paragraph alone held
                        cut_a, cut_b = max(ch.start, p_start), min(ch.end, p_end)
                        rest = text[ch.start:cut_a] + "\n" + text[cut_b:ch.end]
                        gone = set(stems(text[cut_a:cut_b])) - set(stems(title + "\n" + rest))
                    else:
                        continue
                    for tok in gone:
                        hidden[tok] = hidden.get(tok, 0) + 1
            c = build_candidates(index, question, qvec, passages, "en" if in_english else "fr", reference,
                                 simulate_translation=translate, dense_shift=shift, hidden=hidden,
                                 removed=removed)
            if c is None:
                continue
            labels = np.zeros(len(c.ids), np.int8)
            for k, si in enumerate(c.ids.tolist()):
                s = index.sentences[si]
                text = fold(index.articles[s.article_id].text[s.start:s.end])
                gold = s.article_id == q["doc_id"] and any(s.start < e and s.end > b for b, e in ans_spans)
                if variant == "answerable" and gold:
                    labels[k] = 1
                elif any(a in text for a in answers):
                    labels[k] = -1  # the answer's words are here too: neither a clean positive nor negative
            out.append(Example(q["id"], variant, c, labels, translate or in_english))
    return out


def real_near_examples(folder: Path, articles: list[PiafArticle], questions: list[dict], settings: Settings,
                       embedder, *, rng: random.Random, translate_share: float, work: Path | None,
                       rounds: int = 3) -> list[Example]:
    """Near-topic questions as a real deletion leaves them: round r indexes the articles with
    their r-th paragraph cut (articles of two or more), and the questions on the cut
    paragraphs are asked of that index as it is (no simulated deletion)."""
    out: list[Example] = []
    reference = REFERENCE
    for r in range(rounds):
        cut = {a.paragraphs[r][0] for a in articles if len(a.paragraphs) >= 2 and len(a.paragraphs) > r}
        if not cut:
            break
        write_corpus(folder / f"cut{r}" / "corpus", articles, drop_paragraphs=cut)
        s = settings.replace(corpus_dir=folder / f"cut{r}" / "corpus", index_dir=folder / f"cut{r}" / "index")
        report = build_index(s, embedder=embedder, progress=sys.stderr.isatty())
        print(f"  {folder.name} cut {r}: {report.summary()}", file=sys.stderr)
        index = load_index(s.index_dir, embedder.embedder_id, s)
        asked = [q for q in questions if q["context_id"] in cut]
        qvecs = embed_questions(embedder, [q["q"] for q in asked], work)
        for q, qvec in zip(asked, qvecs):
            translate = rng.random() < translate_share
            shift = rng.uniform(0.03, 0.09) if translate else 0.0
            passages = retrieve(index, q["q"], qvec, k=PASSAGES, candidates=CANDIDATES)
            c = build_candidates(index, q["q"], qvec, passages, "fr", reference,
                                 simulate_translation=translate, dense_shift=shift) if passages else None
            if c is not None:
                out.append(Example(q["id"], "near", c, np.zeros(len(c.ids), np.int8), translate))
    return out


REFERENCE: np.ndarray | None = None


# --- the selector: a one-hidden-layer network, BCE + listwise softmax ------------------


def stack(examples: list[Example]):
    hand = np.concatenate([e.cands.hand for e in examples])
    prod = np.concatenate([e.cands.product for e in examples])
    labels = np.concatenate([e.labels for e in examples]).astype(np.float32)
    groups = np.concatenate([np.full(len(e.labels), i) for i, e in enumerate(examples)])
    return hand, prod, labels, groups


def train_selector(examples: list[Example], *, hidden: int, epochs: int, seed: int, use_product: bool,
                   unanswerable_weight: float = 1.0):
    hand, prod, labels, groups = stack(examples)
    row_weight = np.concatenate([np.full(len(e.labels), 1.0 if e.variant == "answerable" else unanswerable_weight)
                                 for e in examples]).astype(np.float32)
    mean = hand.mean(0)
    std = hand.std(0) + 1e-6
    scale = np.float32(1.0 / (prod.std() + 1e-9)) if use_product else np.float32(0.0)
    X = np.concatenate([(hand - mean) / std, prod * scale], axis=1).astype(np.float32)
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    params = {
        "W1": (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.standard_normal((hidden, 1)) * 0.01).astype(np.float32),
        "w_lin": np.zeros((d, 1), np.float32),
        "b2": np.zeros(1, np.float32),
    }
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    lr, l2, beta1, beta2 = 2e-3, 1e-4, 0.9, 0.999
    step = 0
    mask_all = labels >= 0
    bounds = np.flatnonzero(np.diff(groups)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(groups)]])
    order = np.arange(len(examples))
    for epoch in range(epochs):
        rng.shuffle(order)
        for b in range(0, len(order), 64):
            rows = np.concatenate([np.arange(starts[g], ends[g]) for g in order[b:b + 64]])
            x, y, mask, grp = X[rows], labels[rows], mask_all[rows], groups[rows]
            h = np.maximum(x @ params["W1"] + params["b1"], 0)
            z = (h @ params["w2"] + x @ params["w_lin"] + params["b2"]).reshape(-1)
            p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
            dz = np.where(mask, p - np.clip(y, 0, 1), 0.0) * row_weight[rows]
            # listwise: softmax over each question's candidates against its positives
            _, inv = np.unique(grp, return_inverse=True)
            zm = np.where(mask, z, -np.inf)
            gmax = np.full(inv.max() + 1, -np.inf)
            np.maximum.at(gmax, inv, zm)
            ez = np.where(mask, np.exp(zm - gmax[inv]), 0.0)
            gsum = np.zeros(inv.max() + 1)
            np.add.at(gsum, inv, ez)
            pos = np.zeros(inv.max() + 1)
            np.add.at(pos, inv, np.where(mask, np.clip(y, 0, 1), 0.0))
            target = np.where(mask, np.clip(y, 0, 1), 0.0) / np.maximum(pos[inv], 1)
            dz = dz + np.where(pos[inv] > 0, ez / np.maximum(gsum[inv], 1e-12) - target, 0.0)
            dz = (dz / len(np.unique(grp))).astype(np.float32)[:, None]
            grads = {
                "w2": h.T @ dz,
                "b2": dz.sum(0),
                "w_lin": x.T @ dz + l2 * params["w_lin"],
            }
            dh = (dz @ params["w2"].T) * (h > 0)
            grads["W1"] = x.T @ dh + l2 * params["W1"]
            grads["b1"] = dh.sum(0)
            step += 1
            for k in params:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
                mh = m[k] / (1 - beta1 ** step)
                vh = v[k] / (1 - beta2 ** step)
                params[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
    return {"hand_mean": mean.astype(np.float32), "hand_std": std.astype(np.float32),
            "product_scale": np.asarray(scale, np.float32), **params}


def merge_selectors(members: list[dict]) -> dict:
    """One network computing the mean logit of ``members`` (trained on the same inputs).

    The mean of K networks ``relu(x W1_k + b1_k) w2_k + x w_lin_k + b2_k`` is one network whose
    hidden layer is theirs side by side and whose output weights are divided by K, so an
    ensemble ships in the same format and runs through the same inference code.
    """
    first, k = members[0], len(members)
    return {**{name: first[name] for name in ("hand_mean", "hand_std", "product_scale")},
            "W1": np.concatenate([m["W1"] for m in members], axis=1),
            "b1": np.concatenate([m["b1"] for m in members]),
            "w2": np.concatenate([m["w2"] for m in members], axis=0) / np.float32(k),
            "w_lin": np.mean([m["w_lin"] for m in members], axis=0).astype(np.float32),
            "b2": np.mean([m["b2"] for m in members], axis=0).astype(np.float32)}


def top1_hits(reader: Reader, examples: list[Example]) -> float:
    hits = [e.labels[int(np.argmax(reader.sentence_logits(e.cands)))] == 1 for e in examples
            if e.variant == "answerable" and (e.labels == 1).any()]
    return float(np.mean(hits)) if hits else float("nan")


def baseline_top1(examples: list[Example]) -> float:
    j = SENTENCE_FEATURES.index("dense")
    hits = [e.labels[int(np.argmax(e.cands.hand[:, j]))] == 1 for e in examples
            if e.variant == "answerable" and (e.labels == 1).any()]
    return float(np.mean(hits)) if hits else float("nan")


# --- answerability: logistic regression on question-level features ---------------------


def question_rows(reader: Reader, examples: list[Example]):
    """Question-level features, whether the best sentence answers (y), and the variant."""
    X, y, kinds = [], [], []
    for e in examples:
        logits = reader.sentence_logits(e.cands)
        X.append(reader.question_vector(e.cands, logits))
        y.append(1.0 if e.variant == "answerable" and e.labels[int(np.argmax(logits))] == 1 else 0.0)
        kinds.append(e.variant)
    return np.asarray(X, np.float32), np.asarray(y, np.float32), kinds


LABELS = {"correct": "the best sentence holds the answer",
          "answerable": "the corpus holds the answer (the question was asked as is)"}


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50):
    mean, std = X.mean(0), X.std(0) + 1e-6
    Z = np.concatenate([(X - mean) / std, np.ones((len(X), 1))], axis=1).astype(np.float64)
    w = np.zeros(Z.shape[1])
    for _ in range(iters):  # Newton / IRLS
        p = 1 / (1 + np.exp(-np.clip(Z @ w, -30, 30)))
        g = Z.T @ (p - y) + l2 * np.r_[w[:-1], 0]
        H = (Z * (p * (1 - p))[:, None]).T @ Z + l2 * np.eye(len(w))
        w -= np.linalg.solve(H, g)
    return {"q_mean": mean.astype(np.float32), "q_std": std.astype(np.float32),
            "q_w": w[:-1].astype(np.float32), "q_b": np.asarray([w[-1]], np.float32)}


def figures(conf: np.ndarray, y: np.ndarray, kinds: list[str], t: float) -> dict[str, float]:
    kinds_a = np.asarray(kinds)
    ans = kinds_a == "answerable"
    out = {
        "answer_hit": float(np.mean((conf[ans] >= t) & (y[ans] == 1))) if ans.any() else float("nan"),
        "false_refusals": float(np.mean(conf[ans] < t)) if ans.any() else float("nan"),
        "near_topic_abstention": float(np.mean(conf[kinds_a == "near"] < t)) if (kinds_a == "near").any() else float("nan"),
        "off_topic_abstention": float(np.mean(conf[kinds_a == "off"] < t)) if (kinds_a == "off").any() else float("nan"),
    }
    return out


def pr_curve(conf: np.ndarray, kinds: list[str]) -> list[dict[str, float]]:
    """Abstention as the positive class: precision and recall at each threshold."""
    unans = np.asarray([k != "answerable" for k in kinds])
    rows = []
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        refuse = conf < t
        tp = float(np.sum(refuse & unans))
        rows.append({"threshold": float(t),
                     "precision": tp / max(float(refuse.sum()), 1.0),
                     "recall": tp / max(float(unans.sum()), 1.0)})
    return rows


def choose_threshold(conf: np.ndarray, y: np.ndarray, kinds: list[str], max_false_refusals: float) -> float:
    best, best_score = 0.05, -1.0
    for t in np.round(np.arange(0.02, 0.96, 0.01), 2):
        f = figures(conf, y, kinds, float(t))
        if f["false_refusals"] > max_false_refusals:
            continue
        score = f["answer_hit"] + 0.5 * (f["near_topic_abstention"] + f["off_topic_abstention"])
        if score > best_score:
            best, best_score = float(t), score
    return best


def quoting(reader: Reader, examples: list[Example], keep: float, max_sentences: int) -> dict[str, float]:
    """What the answer quotes at ``keep`` (the best sentence, then each further one at least
    that likely, up to ``max_sentences``), over answerable questions whose gold sentence was
    retrieved: how often a quoted sentence holds the answer, and the share of quoted ones that do."""
    hit, precision, quoted, n = 0.0, 0.0, 0.0, 0
    for e in examples:
        if e.variant != "answerable" or not (e.labels == 1).any():
            continue
        logits = reader.sentence_logits(e.cands)
        order = np.argsort(-logits, kind="stable")
        probs = 1.0 / (1.0 + np.exp(-logits[order]))
        chosen = [order[0]] + [order[i] for i in range(1, min(max_sentences, len(order))) if probs[i] >= keep]
        gold = e.labels[chosen] == 1
        hit, precision, quoted, n = hit + bool(gold.any()), precision + float(gold.mean()), quoted + len(chosen), n + 1
    n = max(n, 1)
    return {"keep_probability": keep, "answer_hit": hit / n, "precision": precision / n, "sentences": quoted / n}


def choose_keep_probability(reader: Reader, examples: list[Example], max_sentences: int):
    """The keep probability with the best answer hit + quote precision (equal weights: a
    missed answer and a quoted sentence that does not answer cost the same), and the curve."""
    curve = [quoting(reader, examples, float(k), max_sentences) for k in np.round(np.arange(0.05, 0.96, 0.05), 2)]
    best = max(curve, key=lambda r: (r["answer_hit"] + r["precision"], r["keep_probability"]))
    return best["keep_probability"], curve


# --- the evaluation suite from dev -----------------------------------------------------


def export_eval_suite(out: Path, articles: dict[str, PiafArticle], questions: list[dict], *,
                      seed: int, n_answerable: int, n_near: int, n_off: int) -> dict[str, int]:
    """eval/piaf/: dev articles as a corpus with real deletions, and questions in eval's schema."""
    rng = random.Random(seed)
    dev_ids = sorted(a for a in articles if split_of(a) == "dev")
    rng.shuffle(dev_ids)
    n_removed = max(1, len(dev_ids) // 5)
    removed, kept = set(dev_ids[:n_removed]), sorted(dev_ids[n_removed:])
    cut: set[str] = set()
    for doc in kept:
        paras = [cid for cid, _ in articles[doc].paragraphs]
        if len(paras) >= 2:
            cut.add(rng.choice(paras))
    write_corpus(out / "corpus", [articles[d] for d in kept], drop_paragraphs=cut)
    by_kind: dict[str, list[dict]] = {"fact": [], "near_topic": [], "off_topic": []}
    texts = {cid: " ".join(t.split()) for a in articles.values() for cid, t in a.paragraphs}
    for q in questions:
        if q["doc_id"] not in dev_ids:
            continue
        kind = ("off_topic" if q["doc_id"] in removed else
                "near_topic" if q["context_id"] in cut else "fact")
        item = {"id": f"piaf-{q['id']}", "language": "fr", "kind": kind, "question": q["q"],
                "answerable": kind == "fact", "gold_articles": [q["doc_id"]] if kind == "fact" else [],
                "gold_spans": [], "facts": [], "tags": ["piaf"]}
        if kind == "fact":
            para = texts[q["context_id"]]
            original = next(t for cid, t in articles[q["doc_id"]].paragraphs if cid == q["context_id"])
            spans = []
            for a, s in zip(q["answers"], q["answer_start"]):
                # the answer's offset in the whitespace-normalised paragraph
                at = len(" ".join(original[:s].split())) + (1 if s and original[s - 1].isspace() else 0)
                if para[at:at + len(a)] != " ".join(a.split()):
                    at = para.find(" ".join(a.split()))
                if at < 0:
                    continue
                for b, e in sentence_spans(para):
                    if b <= at < e and para[b:e] not in spans:
                        spans.append(para[b:e])
            if not spans:
                continue
            item["gold_spans"] = [{"article_id": q["doc_id"], "text": s} for s in spans]
            item["facts"] = [sorted({" ".join(a.split()) for a in q["answers"]})]
        by_kind[kind].append(item)
    wanted = {"fact": n_answerable, "near_topic": n_near, "off_topic": n_off}
    lines = []
    for kind, items in by_kind.items():
        rng.shuffle(items)
        lines += items[:wanted[kind]]
    english = english_copies(out / TRANSLATIONS, lines)
    lines += english
    with open(out / "questions.jsonl", "w", encoding="utf-8") as fh:
        for item in lines:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    counts = {k: min(len(v), wanted[k]) for k, v in by_kind.items()}
    (out / "README.md").write_text(
        "# PIAF dev suite\n\n"
        f"Source: {SOURCE}.\n\n"
        "Made by `scripts/train_reader.py` from the **dev** articles of its split (a hash of the article id; "
        "the reader never trains on them). `corpus/` holds the dev articles minus a fifth of them, left out "
        "whole (their questions are the *off-topic* items), and minus one paragraph of each remaining article "
        "with two or more (its questions are the *near-topic* items); the other questions are *answerable*, "
        "their gold spans the sentences holding a reference answer, their fact the reference answers.\n\n"
        f"Questions: {counts['fact']} answerable (kind `fact`), {counts['near_topic']} near-topic "
        f"(`near_topic`), {counts['off_topic']} off-topic (`off_topic`); {len(kept)} articles in the corpus.\n\n"
        f"English: {len(english)} of them are asked a second time in English (id suffix `-en`, tag "
        f"`translated`), from `{TRANSLATIONS}`: each French question translated by hand (by an LLM "
        "session of this project, 2026-12-05, word for word where the French is vague or broken), so "
        "that English questions on French text are measured on the same answers. A translation whose "
        "`fr` no longer matches the exported question is left out.\n", encoding="utf-8")
    return counts


def export_large_suite(out: Path, suite: Path, articles: dict[str, PiafArticle]) -> int:
    """eval/piaf-large/: the PIAF suite's corpus plus every train and calib article (its
    questions stay eval/piaf/questions.jsonl): the same questions on a corpus 10x larger."""
    others = [articles[a] for a in sorted(articles) if split_of(a) in ("train", "calib")]
    write_corpus(out / "corpus", others)
    for path in sorted((suite / "corpus").glob("*.md")):
        shutil.copyfile(path, out / "corpus" / path.name)
    n = len(list((out / "corpus").glob("*.md")))
    (out / "README.md").write_text(
        "# PIAF suite on a larger corpus\n\n"
        f"Source: {SOURCE}.\n\n"
        "Made by `scripts/train_reader.py`: `corpus/` is the PIAF dev suite's corpus (`eval/piaf/corpus`, "
        f"{len(list((suite / 'corpus').glob('*.md')))} articles) plus the {len(others)} train and calib "
        f"articles of the split, {n} articles in all; the questions are the PIAF suite's "
        "(`eval/piaf/questions.jsonl`). The answerable questions keep their answer; the near- and "
        "off-topic ones stay unanswerable (their paragraph or article is still out), but now face ten "
        "times the text: how answers and abstention hold as a corpus grows. "
        "Run it with `assistant eval --suites piaf-large` (not a default suite: its index takes a few "
        "minutes to build).\n", encoding="utf-8")
    return n


JOINS = {"fr": ("{0} {1}", "{0}, et {1}"), "en": ("{0} {1}", "{0}, and {1}")}


def compound_question(first: str, second: str, language: str, form: int) -> str:
    """Two questions asked at once: one after the other, or joined by "and" (``form`` 0 or 1)."""
    first, second = " ".join(first.split()), " ".join(second.split())
    if form == 0:
        return JOINS[language][0].format(first if first.endswith("?") else first + " ?", second)
    return JOINS[language][1].format(first.rstrip(" ?"), second[:1].lower() + second[1:])


def export_compound_suite(out: Path, suite: Path, n_pairs: int = 40) -> int:
    """eval/piaf-compound/: two answerable questions of the PIAF suite about different
    articles asked as one (in French, and in English where both have a translation), on the
    PIAF suite's corpus. Both answers must be quoted."""
    with open(suite / "questions.jsonl", encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    by_id = {it["id"]: it for it in items}
    facts = [it for it in items if it["kind"] == "fact" and it["language"] == "fr"]
    pairs, used = [], set()
    for a in facts:
        if len(pairs) >= n_pairs or a["id"] in used:
            continue
        b = next((b for b in facts if b["id"] not in used and b["id"] != a["id"]
                  and b["gold_articles"] != a["gold_articles"]), None)
        if b is not None:
            used |= {a["id"], b["id"]}
            pairs.append((a, b))
    lines = []
    for i, (a, b) in enumerate(pairs):
        for x, y in ((a, b), (by_id.get(a["id"] + "-en"), by_id.get(b["id"] + "-en"))):
            if x is None or y is None:
                continue
            lines.append({
                "id": f"{x['id']}+{y['id']}", "language": x["language"], "kind": "multi_article",
                "question": compound_question(x["question"], y["question"], x["language"], i % 2),
                "answerable": True, "gold_articles": x["gold_articles"] + y["gold_articles"],
                "gold_spans": x["gold_spans"] + y["gold_spans"], "facts": x["facts"] + y["facts"],
                "tags": sorted(set(x["tags"]) | set(y["tags"]) | {"compound"})})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "questions.jsonl", "w", encoding="utf-8") as fh:
        for item in lines:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    n_en = sum(it["language"] == "en" for it in lines)
    (out / "README.md").write_text(
        "# PIAF compound questions\n\n"
        f"Source: {SOURCE}.\n\n"
        "Made by `scripts/train_reader.py` from the PIAF dev suite (`eval/piaf/`, whose corpus it is asked "
        f"of): {len(pairs)} pairs of its answerable questions about two different articles, each pair asked "
        "as one question, either one after the other (\"Q1 ? Q2 ?\") or joined by \"et\"/\"and\" "
        f"(\"Q1, et q2 ?\"): {len(lines) - n_en} in French and {n_en} in English (where both questions "
        "have their hand translation). Kind `multi_article`: the answer must quote both reference answers. "
        "It measures what a user asking two things at once gets, on a corpus nothing was fitted on.\n",
        encoding="utf-8")
    return len(lines)


TRANSLATIONS = "translations.en.jsonl"
ENGLISH_SOURCE = ("scripts/piaf_en/: PIAF questions of the train and calib articles translated into English by "
                  "hand (by an LLM session of this project, 2026-12-05), asked of the French articles as an "
                  "English-speaking user would; same licence as PIAF")


def translation_rows(path: Path) -> dict[str, dict]:
    """Question id -> its row in a JSONL file of hand translations (``id``, ``fr``, ``en``)."""
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {row["id"]: row for row in rows}


def read_translations(path: Path) -> dict[str, str]:
    """PIAF question id -> its English translation."""
    return {qid: row["en"] for qid, row in translation_rows(path).items()}


def english_copies(path: Path, items: list[dict]) -> list[dict]:
    """English copies of ``items`` from a file of hand translations (``id``, ``fr``, ``en``)."""
    if not path.is_file():
        return []
    table = translation_rows(path)
    out = []
    for item in items:
        row = table.get(item["id"])
        if row and row["fr"] == item["question"] and row["en"].strip():
            out.append({**item, "id": item["id"] + "-en", "language": "en", "question": row["en"],
                        "tags": [*item["tags"], "translated", "cross-lingual"]})
    return out


# --- main ------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf", type=Path, default=ROOT.parent / "shared" / "piaf")
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "reader")
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--eval-out", type=Path, default=ROOT / "eval" / "piaf")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--ensemble", type=int, default=1,
                    help="train this many selectors from different initial weights and ship their mean "
                         "(measured with 5: dev top-1 .702 vs .710 for one, near-topic .568 vs .553; not the default)")
    ap.add_argument("--translate-share", type=float, default=0.4,
                    help="share of training questions asked as if translated (names and numbers only)")
    ap.add_argument("--product", action="store_true",
                    help="also feed the question*sentence vector (overfits PIAF: dev top-1 0.70 vs 0.72 without)")
    ap.add_argument("--max-false-refusals", type=float, default=0.10,
                    help="the threshold is the best one on calib with at most this false-refusal rate")
    ap.add_argument("--unanswerable-weight", type=float, default=0.0,
                    help="also train the selector on train questions asked with their paragraph or article "
                         "left out (every candidate a negative, so that its probabilities stay low when "
                         "nothing answers), with this weight in its loss; 0 (default) leaves them out. "
                         "Weight 3 was the best on calib (threshold score 1.312 against 1.287) and on dev "
                         "(near-topic .561 against .521) but worse on the real-deletion suite eval/piaf "
                         "(facts .707 against .780, near-topic .367 against .383), so it is not the default")
    ap.add_argument("--answerability-split", choices=("train", "calib"), default="calib",
                    help="the examples the answerability model is fitted on (the threshold is always "
                         "chosen on calib). Measured 2026-12-04: fitted on train it is no better on dev "
                         "(near-topic .512 vs .553 with the same answer hit), also with every feature "
                         "of the best sentence among its inputs (.561 vs .565 once deletions were "
                         "simulated faithfully; the PIAF suite's false refusals .067 -> .107)")
    ap.add_argument("--grown", action=argparse.BooleanOptionalAction, default=True,
                    help="also ask calib's and dev's questions of their articles plus the train articles "
                         "(7x the sentences; same deletions) and report the figures at both sizes "
                         "(calib+train, dev+train): how abstention holds as a corpus grows")
    ap.add_argument("--fit-grown", action="store_true",
                    help="fit the answerability model and choose its threshold on calib at both sizes. "
                         "Measured 2026-12-05, not the default: it moves the threshold, not the curve "
                         "(dev AUC .904 and dev+train .871 either way; false refusals dev .108 -> .136, "
                         "dev+train .080 -> .102; off-topic abstention dev .859 -> .899, dev+train "
                         ".636 -> .690). Neither a log corpus size input nor how the passages concentrate "
                         "in one article changed that")
    ap.add_argument("--real-deletions", action="store_true",
                    help="calib's near-topic questions from indexes with their paragraph really cut "
                         "(as the PIAF suite is made) instead of simulated deletions. Measured 2026-12-04: "
                         "real deletions are harder (calib near-topic abstention .463 at the threshold "
                         "chosen on them, 0.25, against .598 for simulated ones at 0.21); that threshold moves the PIAF suite along the "
                         "same curve (near-topic .433 -> .500, false refusals .067 -> .093, AUC .820 -> "
                         ".813), so it is not the default")
    ap.add_argument("--english", default=str(ROOT / "scripts" / "piaf_en"),
                    help="folder of hand translations of PIAF questions (train.jsonl, calib.jsonl; JSONL: id, fr, "
                         "en): those questions are asked in English, the others as they are (train: a share of "
                         "them read as if translated, see --translate-share); '' to simulate translation only")
    ap.add_argument("--label", choices=sorted(LABELS), default="answerable",
                    help="what the answerability model predicts (default: answerable)")
    ap.add_argument("--limit", type=int, help="at most N questions per split (quick runs)")
    ap.add_argument("--selector-from", type=float, default=0.0,
                    help="train the selector only on train articles at or above this position (those the "
                         "embedder was not tuned on: finetune_e5.py --train-below)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--reuse", action="store_true",
                    help="keep the examples (features) in --work and reuse them (when only the models change)")
    args = ap.parse_args(argv)
    global REFERENCE

    t_start = time.perf_counter()
    articles, questions = read_piaf(args.piaf)
    rng = random.Random(args.seed)
    by_split = {name: [a for a in sorted(articles) if split_of(a) == name] for name in SPLITS}
    print({k: len(v) for k, v in by_split.items()}, file=sys.stderr)
    settings = Settings.load()
    embedder = load_embedder(settings.embedder, settings.embed_threads)
    indexes = {name: build(args.work / name, [articles[a] for a in ids], settings, embedder)
               for name, ids in by_split.items()}
    if args.grown:  # the calib and dev articles among the train ones: 7x the sentences
        for name in ("calib", "dev"):
            indexes[f"{name}+train"] = build(args.work / f"{name}+train",
                                             [articles[a] for a in by_split[name] + by_split["train"]],
                                             settings, embedder, start_from=args.work / "train")
    train_index = indexes["train"]
    take = np.linspace(0, len(train_index.sentences) - 1, num=512).astype(np.int64)
    REFERENCE = np.asarray(train_index.sentence_vectors[take], np.float32)

    examples = {}
    # the examples depend on the feature code and on how they are made: key them by both
    # (not by the whole script, so changing how models are fitted or reported reuses them)
    english = {name: read_translations(Path(args.english) / f"{name}.jsonl")
               for name in ("train", "calib") if args.english and (Path(args.english) / f"{name}.jsonl").is_file()}
    features = hashlib.sha256(inspect.getsource(make_examples).encode()
                              + Path(reader_module.__file__).read_bytes()
                              + json.dumps(english, sort_keys=True).encode()
                              + embedder.embedder_id.encode()).hexdigest()[:8]
    cache = args.work / f"examples-{args.limit or 'all'}-{args.translate_share}-{args.seed}-{features}.pkl"
    reused = args.reuse and cache.is_file()
    if reused:
        import pickle

        examples = pickle.loads(cache.read_bytes())
    for name, ids in by_split.items():
        if name in examples:
            continue
        qs = [q for q in questions if q["doc_id"] in set(ids)]
        rng.shuffle(qs)
        if args.limit:
            qs = qs[:args.limit]
        # questions translated by hand are asked in English (train: the selector learns from
        # them; calib: the answerability model and its threshold are fitted on them); of the
        # others, train and dev read a share as if translated (simulated), calib none
        examples[name] = make_examples(indexes[name], embedder, articles, qs, rng=rng,
                                       translate_share=0.0 if name == "calib" and name in english
                                       else args.translate_share,
                                       work=args.work if args.reuse else None,
                                       english=english.get(name))
        print(f"  {name}: {len(examples[name])} examples", file=sys.stderr)
    for i, name in enumerate(n for n in indexes if "+" in n):
        if name in examples:
            continue
        base = name.split("+")[0]  # the same questions, asked of the grown corpus
        asked = {e.qid for e in examples[base]}
        qs = sorted((q for q in questions if q["id"] in asked), key=lambda q: q["id"])
        examples[name] = make_examples(indexes[name], embedder, articles, qs, rng=random.Random(args.seed + 1 + i),
                                       translate_share=0.0 if base == "calib" and base in english
                                       else args.translate_share,
                                       work=args.work if args.reuse else None, english=english.get(base))
        print(f"  {name}: {len(examples[name])} examples", file=sys.stderr)
    if args.reuse:
        import pickle

        cache.write_bytes(pickle.dumps(examples))

    train_sel = [e for e in examples["train"] if (e.variant == "answerable" and (e.labels == 1).any())
                 or (args.unanswerable_weight > 0 and e.variant != "answerable")]
    if args.selector_from:  # the train articles the embedder was not tuned on (finetune_e5.py --train-below)
        doc_of = {q["id"]: q["doc_id"] for q in questions}
        train_sel = [e for e in train_sel if article_position(doc_of[e.qid]) >= args.selector_from]
        print(f"  selector: {len(train_sel)} examples from train articles at or above {args.selector_from}",
              file=sys.stderr)
    weights = merge_selectors([
        train_selector(train_sel, hidden=args.hidden, epochs=args.epochs, seed=args.seed + member,
                       use_product=args.product, unanswerable_weight=args.unanswerable_weight)
        for member in range(args.ensemble)])
    card = {"embedder": embedder.embedder_id, "threshold": 0.5, "keep_probability": 0.5}
    reader = Reader(weights, card)

    if args.real_deletions:
        real = real_near_examples(args.work / "calib-real", [articles[a] for a in by_split["calib"]],
                                  [q for q in questions if split_of(q["doc_id"]) == "calib"], settings, embedder,
                                  rng=random.Random(args.seed), translate_share=args.translate_share,
                                  work=args.work if args.reuse else None)
        print(f"  calib: {len(real)} near-topic questions from real deletions", file=sys.stderr)
        examples["calib"] = [e for e in examples["calib"] if e.variant != "near"] + real
    def asked_of(split: str) -> list[Example]:  # of the split's articles (and of the grown corpus)
        return examples[split] + (examples.get(f"{split}+train", []) if args.fit_grown else [])

    Xa, ya, ka = question_rows(reader, asked_of(args.answerability_split))
    target = ya if args.label == "correct" else np.asarray([k == "answerable" for k in ka], np.float32)
    weights.update(fit_logistic(Xa, target))
    reader = Reader(weights, card)

    def scored(split_examples: list[Example]):
        _, y, kinds = question_rows(reader, split_examples)
        conf = np.asarray([reader.answerability(e.cands, reader.sentence_logits(e.cands)) for e in split_examples])
        return conf, y, kinds

    conf_c, yc, kc = scored(asked_of("calib"))
    threshold = choose_threshold(conf_c, yc, kc, args.max_false_refusals)
    max_sentences = settings.max_answer_sentences
    keep, keep_curve_calib = choose_keep_probability(reader, examples["calib"], max_sentences)
    card["keep_probability"] = keep
    keep_curve_dev = [quoting(reader, examples["dev"], r["keep_probability"], max_sentences)
                      for r in keep_curve_calib]
    at_threshold = {}
    for name in (n for n in examples if n != "train"):
        conf, y, kinds = scored(examples[name])
        at_threshold[f"{name}_at_threshold"] = figures(conf, y, kinds, threshold)
        if name == "dev":
            conf_d, yd, kd = conf, y, kinds
        if name == "dev+train":
            at_threshold["pr_curve_dev+train"] = pr_curve(conf, kinds)

    retrieval_recall = {
        name: float(np.mean([(e.labels == 1).any() for e in ex if e.variant == "answerable"]))
        for name, ex in examples.items()}
    card.update({
        "threshold": threshold,
        "model": {"selector": f"one hidden layer ({args.hidden} ReLU) + linear skip, BCE + listwise softmax, "
                              + (f"BCE also on unanswerable questions' candidates (weight {args.unanswerable_weight}), "
                                 if args.unanswerable_weight > 0 else "")
                              + f"{args.epochs} epochs, Adam", "answerability": f"logistic regression (IRLS) on {args.answerability_split}"
                              + (" asked of its articles and of them plus the train articles" if args.fit_grown else ""),
                  "answerability_label": LABELS[args.label],
                  "sentence_features": list(SENTENCE_FEATURES), "question_features": list(QUESTION_FEATURES),
                  "product": args.product, "translate_share": args.translate_share,
                  "unanswerable_weight": args.unanswerable_weight},
        "data": {"source": SOURCE, "split": "sha256(doc_id): train < 0.70 <= calib < 0.85 <= dev",
                 "articles": {k: len(v) for k, v in by_split.items()},
                 "english": {"questions": {k: len(v) for k, v in english.items()}, "source": ENGLISH_SOURCE},
                 "examples": {k: {v: sum(e.variant == v for e in ex) for v in ("answerable", "near", "off")}
                              for k, ex in examples.items()}},
        "figures": {
            "selector_top1_given_retrieved": {k: top1_hits(reader, ex) for k, ex in examples.items()},
            "selector_top1_as_asked": {k: top1_hits(reader, [e for e in ex if not e.translated])
                                       for k, ex in examples.items()},
            "selector_top1_as_translated": {k: top1_hits(reader, [e for e in ex if e.translated])
                                            for k, ex in examples.items()},
            "dense_only_top1_given_retrieved": {k: baseline_top1(ex) for k, ex in examples.items()},
            "gold_sentence_retrieved": retrieval_recall,
            **{k: v for k, v in at_threshold.items() if k.endswith("_at_threshold")},
            "dev_as_asked_at_threshold": figures(
                conf_d[~np.asarray([e.translated for e in examples["dev"]])],
                yd[~np.asarray([e.translated for e in examples["dev"]])],
                [k for k, e in zip(kd, examples["dev"]) if not e.translated], threshold),
        },
        "pr_curve_dev": pr_curve(conf_d, kd),
        **({"pr_curve_dev+train": at_threshold["pr_curve_dev+train"]} if "pr_curve_dev+train" in at_threshold else {}),
        "quoting_curve": {"calib": keep_curve_calib, "dev": keep_curve_dev,
                          "max_sentences": max_sentences},
        "command": "python scripts/train_reader.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seconds": round(time.perf_counter() - t_start),
        "reused_examples": bool(reused),
    })
    args.out.mkdir(parents=True, exist_ok=True)
    weights["reference"] = REFERENCE.astype(np.float16)
    np.savez_compressed(args.out / "reader.npz", **weights)
    (args.out / "reader.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    counts = export_eval_suite(args.eval_out, articles, questions, seed=args.seed,
                               n_answerable=150, n_near=60, n_off=60)
    export_large_suite(args.eval_out.parent / "piaf-large", args.eval_out, articles)  # beside the suite
    export_compound_suite(args.eval_out.parent / "piaf-compound", args.eval_out)
    write_model_card(args.out / "reader.md", card, counts)
    print(json.dumps(card["figures"], indent=2), file=sys.stderr)
    return 0


def write_model_card(path: Path, card: dict, counts: dict) -> None:
    f = card["figures"]
    lines = [
        "# The reader: answer-sentence selector and answerability",
        "",
        f"Trained on {card['data']['source']}.",
        "",
        f"Reproduce: `{card['command'].strip()}` ({card['seconds']} s on 2 cores"
        + (", reusing the indexes and examples kept in `--work`: from nothing it took 412 s on 2026-12-05, "
           "before the grown corpora, which add about 150 s"
           if card.get("reused_examples") else "") + "). Split: "
        f"{card['data']['split']}; articles {card['data']['articles']}.",
        "",
        f"English questions: {card['data']['english']['questions']} ({card['data']['english']['source']}); "
        "the other train and dev questions are read as if translated in part (names and numbers only, "
        "similarities lowered).",
        "",
        f"Embedder: `{card['embedder']}`. Abstention threshold on `confidence`: **{card['threshold']}** "
        "(chosen on calib, the best trade-off with at most the set false-refusal rate).",
        "",
        "| split | gold retrieved | selector top-1 | e5-only top-1 |",
        "|---|---|---|---|",
    ]
    for k in ("train", "calib", "dev"):
        lines.append(f"| {k} | {f['gold_sentence_retrieved'][k]:.3f} | {f['selector_top1_given_retrieved'][k]:.3f} "
                     f"| {f['dense_only_top1_given_retrieved'][k]:.3f} |")
    lines += ["", "At the threshold (questions asked as is, with their paragraph removed, with their article removed;"
              " part of them asked as if translated; `+train`: the same questions asked of a corpus grown"
              " with the train articles):", "",
              "| split | answer hit | false refusals | near-topic abstention | off-topic abstention |",
              "|---|---|---|---|---|"]
    for k in (k[:-len("_at_threshold")] for k in f if k.endswith("_at_threshold") and "as_asked" not in k):
        g = f[f"{k}_at_threshold"]
        lines.append(f"| {k} | {g['answer_hit']:.3f} | {g['false_refusals']:.3f} | "
                     f"{g['near_topic_abstention']:.3f} | {g['off_topic_abstention']:.3f} |")
    grown = card.get("pr_curve_dev+train") or [{"precision": float("nan"), "recall": float("nan")}] * len(card["pr_curve_dev"])
    lines += ["", "Abstention precision/recall on dev and on dev+train (unanswerable = positive):", "",
              "| threshold | dev precision | dev recall | dev+train precision | dev+train recall |", "|---|---|---|---|---|"]
    lines += [f"| {r['threshold']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} | {g['precision']:.3f} | {g['recall']:.3f} |"
              for r, g in zip(card["pr_curve_dev"], grown)]
    qc = card["quoting_curve"]
    lines += ["", f"Further sentences quoted when at least **{card['keep_probability']}** likely to answer "
              f"(chosen on calib: best answer hit + quote precision; at most {qc['max_sentences']} sentences). "
              "Answerable questions whose gold sentence was retrieved:", "",
              "| keep | calib hit | calib precision | dev hit | dev precision | dev sentences |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {c['keep_probability']:.2f} | {c['answer_hit']:.3f} | {c['precision']:.3f} | {d['answer_hit']:.3f} "
              f"| {d['precision']:.3f} | {d['sentences']:.2f} |" for c, d in zip(qc["calib"], qc["dev"])]
    lines += ["", f"Evaluation suite `eval/piaf/` (from dev, real deletions): {counts}.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

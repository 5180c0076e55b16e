"""Verification of a generated reply, sentence by sentence, against its citations.

A sentence is kept only when it cites ``[n]`` evidence that exists (and is not an
article's text written as an order to the model), is not a repeat, and every number,
date and name in it is in the evidence it cites (:func:`.facts.unsupported`). A reply
saying the evidence does not answer, in French or English, is an abstention.
:func:`result` turns the verdicts into the :class:`GenerationResult` of an answer,
with the ``settings.llm_on_unverified`` policy: drop the failed sentences, or fall
back to the extractive answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..safety import instruction_like
from ..text import fold
from ..types import Citation
from .facts import capitalised_words, question_names, unsupported
from .prompt import abstention_text
from .reply import Sentence, cited_numbers, normalise_marks, split_sentences, visible, without_marks

__all__ = ["GenerationResult", "Judge", "Verdict", "is_abstention", "result", "verify"]


@dataclass(frozen=True)
class GenerationResult:
    text: str                 # final verified answer text, [n] markers refer to evidence numbers
    used: tuple[int, ...]     # evidence numbers cited in text, in order of first appearance
    removed: tuple[str, ...]  # human-readable "sentence — reason" for each dropped sentence
    verified_share: float     # share of generated sentences that passed verification (0..1)
    abstained: bool           # the model said the evidence does not answer
    fell_back: bool           # the core should show the extractive answer instead (see result)
    raw: str                  # the model's raw reply (for debugging/eval; never contains secrets)


_DOCS_EN = r"(?:articles?|passages?|evidence|sources?|texts?|documents?|excerpts?|context)"
_DOCS_FR = r"(?:articles?|extraits?|passages?|sources?|textes?|documents?|éléments?|preuves?)"
_ABSTAIN_RE = re.compile(
    r"(?:\bi\s+(?:do\s+not|don['’]?t|cannot|can\s*not|can['’]?t|could\s+not|couldn['’]?t|am\s+unable\s+to)"
    r"\s+(?:know|find|answer|tell|say|determine)\b"
    rf"|\b{_DOCS_EN}\s+(?:provided\s+|given\s+)?(?:do(?:es)?\s+not|don['’]?t|doesn['’]?t)\s+(?:say|state|mention|"
    r"contain|answer|specify|provide|indicate|give|include|tell|address|discuss|cover|show|reveal)"
    rf"|\bnone\s+of\s+the\s+{_DOCS_EN}"
    rf"|\bnot\s+(?:mentioned|stated|specified|provided|given|available|found|covered)\s+in\s+the\s+{_DOCS_EN}"
    rf"|\bno\s+(?:information|mention|indication|answer|details?)\b.{{0,80}}\b{_DOCS_EN}"
    r"|\bje\s+ne\s+(?:sais|peux|trouve)\s+pas"
    rf"|\b{_DOCS_FR}\s+(?:fournis\s+|cités\s+)?ne\s+(?:disent|dit|répondent|répond|mentionnent|mentionne|"
    r"précisent|précise|contiennent|contient|permettent|permet|indiquent|indique|donnent|donne|parlent|parle|"
    r"abordent|aborde|évoquent|évoque|fournissent|fournit|révèlent|révèle)\b"
    rf"|\baucun(?:e)?\s+des\s+{_DOCS_FR}"
    rf"|\b(?:aucune?|pas\s+d['’])\s*(?:information|mention|indication|réponse|précision|détail)s?\b.{{0,80}}"
    rf"\b{_DOCS_FR}"
    rf"|\bn['’](?:est|sont)\s+pas\s+(?:mentionnée?s?|précisée?s?|indiquée?s?|donnée?s?)\s+dans\s+les\s+{_DOCS_FR}"
    r")",
    re.I,
)


def is_abstention(sentence: str) -> bool:
    """Does the sentence say the evidence does not answer (French or English)?"""
    return bool(_ABSTAIN_RE.search(sentence))


@dataclass(frozen=True)
class Verdict:
    text: str        # the sentence with normalised markers (what is shown when kept)
    ok: bool
    reason: str      # why it was removed ("" when kept)
    abstain: bool    # a "the articles do not say" sentence
    cites: tuple[int, ...]
    sep: str = " "   # what separated it from the sentence before


class Judge:
    """Judges the sentences of one reply in order (remembers them to catch repeats)."""

    def __init__(self, evidence: Sequence[Citation], question: str = "") -> None:
        self.by_number = {c.number: c for c in evidence}
        # evidence written as an order to the model is data, never support for a claim
        self.orders = {c.number for c in evidence if instruction_like(c.quote)}
        # names known to be names even at the start of a sentence: those of the evidence
        # and of the question ("Who founded Anthropic?" makes "Anthropic raised…" checked)
        self.known = question_names(question)
        for c in evidence:
            self.known |= capitalised_words(c.quote) | capitalised_words(c.title)
        self.seen: set[str] = set()

    def __call__(self, s: Sentence) -> Verdict:
        text = normalise_marks(s.text)
        cites = cited_numbers(text)
        claim = without_marks(text)

        def no(reason: str, abstain: bool = False) -> Verdict:
            return Verdict(text, False, reason, abstain, cites, s.sep)

        if is_abstention(claim):
            return no("says the articles do not answer", abstain=True)
        if instruction_like(claim):
            return no("repeats instructions written in an article")
        if not cites:
            return no("no citation")
        missing = [n for n in cites if n not in self.by_number]
        if missing:
            which = ", ".join(f"[{n}]" for n in missing)
            return no(f"cites {which}, which is not in the evidence")
        orders = [n for n in cites if self.by_number[n].number in self.orders]
        if orders:
            which = ", ".join(f"[{n}]" for n in orders)
            return no(f"cites {which}, an instruction written in an article, not a fact")
        key = " ".join(fold(claim).split())
        if key in self.seen:
            return no("repeats an earlier sentence")
        if not re.search(r"[^\W\d_]{2,}", claim):
            return no("says nothing")
        support = " \n ".join(f"{self.by_number[n].title} \n {self.by_number[n].quote}" for n in cites)
        problems = unsupported(claim, support, known_names=self.known)
        if problems:
            where = "".join(f"[{n}]" for n in cites)
            return no(f"{', '.join(problems)} not in {where}")
        self.seen.add(key)
        return Verdict(text, True, "", False, cites, s.sep)


def verify(text: str, evidence: Sequence[Citation], *, question: str = ""
           ) -> tuple[str, tuple[int, ...], tuple[str, ...], float]:
    """Keep the sentences of ``text`` that cite existing evidence and whose facts it backs.

    Returns ``(kept_text, used, removed, verified_share)``: the kept sentences (markers
    normalised to ``[1][2]``), the evidence numbers they cite in order of first
    appearance, ``"sentence — reason"`` for each dropped one, and the share of sentences
    kept (1.0 when there is nothing to judge). "The articles do not say" sentences are
    dropped too (the reason says so) but do not count as failures in the share.
    ``question``, when given, tells which capitalised words are names even at the start
    of a sentence.
    """
    judge = Judge(evidence, question)
    return _assemble([judge(s) for s in split_sentences(visible(text))])


def _assemble(verdicts: Sequence[Verdict]) -> tuple[str, tuple[int, ...], tuple[str, ...], float]:
    parts: list[str] = []
    used: dict[int, None] = {}
    removed: list[str] = []
    for v in verdicts:
        if v.ok:
            parts.append((v.sep if parts else "") + v.text)
            for n in v.cites:
                used.setdefault(n, None)
        else:
            removed.append(f"{v.text} — {v.reason}")
    claims = [v for v in verdicts if not v.abstain]
    share = (sum(v.ok for v in claims) / len(claims)) if claims else 1.0
    return "".join(parts), tuple(used), tuple(removed), round(share, 4)


def result(verdicts: list[Verdict], raw: str, language: str, on_unverified: str) -> GenerationResult:
    text, used, removed, share = _assemble(verdicts)
    kept = [v for v in verdicts if v.ok]
    failed = [v for v in verdicts if not v.ok and not v.abstain]
    abstained = not kept and any(v.abstain for v in verdicts)
    if abstained:
        # the model's own words are not shown (they cite nothing): a fixed sentence is
        return GenerationResult(abstention_text(language), (), tuple(f"{v.text} — {v.reason}" for v in failed),
                                share, True, False, raw)
    fell_back = not kept or (on_unverified == "answer" and bool(failed))
    return GenerationResult(text, used, removed, share, False, fell_back, raw)



"""Stage 6b: extractive answers: quote the sentences the reader chose, cite them.

The reader (``assistant/reader.py``) scores every sentence of the retrieved passages
and says how likely the best one answers the question (``confidence``). Under the
reader's threshold the assistant abstains and offers the closest passages as related
reading; otherwise the best sentence is quoted verbatim with its offsets, with the
other sentences the reader finds likely enough to answer too (another part of a list,
the other side of a comparison, another article's share of the answer). The framing
words come from the question's language pack (``assistant/data/lang/``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import IndexData
from .language import pack
from .reader import ReaderResult
from .text import fold, names
from .types import Answer, Citation, Passage

__all__ = ["AnswerConfig", "ScoredSentence", "compose", "merge_adjacent", "names", "scored_sentences", "select"]


@dataclass(frozen=True)
class ScoredSentence:
    index: int           # into IndexData.sentences
    article_id: str
    start: int
    end: int
    score: float         # the reader's P(this sentence answers)
    passage_rank: int


@dataclass(frozen=True)
class AnswerConfig:
    threshold: float = 0.5          # on the reader's confidence
    keep_probability: float = 0.5   # a further sentence is quoted when at least this likely to answer
    max_sentences: int = 3
    hedge_below: float = 0.0        # under this confidence the answer says it may not answer exactly


NEAR_DUPLICATE = 0.93
"""Cosine similarity above which a second sentence only repeats the first."""


def scored_sentences(index: IndexData, result: ReaderResult) -> list[ScoredSentence]:
    out = []
    for si, p, rank in zip(result.ids, result.probabilities, result.passage_ranks):
        s = index.sentences[si]
        out.append(ScoredSentence(si, s.article_id, s.start, s.end, p, rank))
    return out


def select(index: IndexData, scored: list[ScoredSentence], confidence: float, question: str,
           cfg: AnswerConfig) -> list[ScoredSentence]:
    """The sentences to quote: none under the threshold, else the best one and every other
    sentence the reader finds likely to answer, then one per name of the question that the
    chosen ones leave out (a comparison of two things needs a sentence about each)."""
    if not scored or confidence < cfg.threshold:
        return []
    chosen = [scored[0]]

    def repeats(cand: ScoredSentence) -> bool:
        vec = np.asarray(index.sentence_vectors[cand.index], np.float32)
        return any(float(vec @ np.asarray(index.sentence_vectors[c.index], np.float32)) > NEAR_DUPLICATE
                   for c in chosen)

    for cand in scored[1:]:
        if len(chosen) >= cfg.max_sentences or cand.score < cfg.keep_probability:
            break
        if not repeats(cand):
            chosen.append(cand)

    def text_of(c: ScoredSentence) -> str:
        article = index.articles[c.article_id]
        return fold(article.text[c.start:c.end] + " " + article.title)

    q_names = names(question)
    covered = {n for n in q_names if any(n in text_of(c) for c in chosen)}
    for name in sorted(q_names - covered):
        if len(chosen) >= cfg.max_sentences + 1:
            break
        for cand in scored:
            if cand.score < cfg.keep_probability / 2:
                break
            if cand not in chosen and name in text_of(cand) and not repeats(cand):
                chosen.append(cand)
                break
    return chosen


# --- composing ---------------------------------------------------------------------

def merge_adjacent(index: IndexData, chosen: list[ScoredSentence]) -> list[tuple[str, int, int, float]]:
    """Group chosen sentences into quotes; neighbours in one article become one quote."""
    by_article: dict[str, list[ScoredSentence]] = {}
    order: list[str] = []
    for c in chosen:
        if c.article_id not in by_article:
            order.append(c.article_id)
        by_article.setdefault(c.article_id, []).append(c)
    quotes = []
    for aid in order:
        text = index.articles[aid].text
        items = sorted(by_article[aid], key=lambda c: c.start)
        cur = [items[0]]
        for c in items[1:]:
            if text[cur[-1].end:c.start].strip() == "":
                cur.append(c)
            else:
                quotes.append((aid, cur[0].start, cur[-1].end, max(x.score for x in cur)))
                cur = [c]
        quotes.append((aid, cur[0].start, cur[-1].end, max(x.score for x in cur)))
    return quotes


def compose(index: IndexData, question: str, language: str, chosen: list[ScoredSentence],
            related: list[Passage], *, understood: str | None = None,
            confidence: float | None = None, hedge_below: float = 0.0) -> Answer:
    """The answer quoting ``chosen`` (an abstention when it is empty); one whose
    ``confidence`` is under ``hedge_below`` opens by saying it may not answer exactly."""
    frames = pack(language).frames
    if not chosen:
        text = frames["abstain"] if related else frames["abstain_empty"]
        return Answer(question=question, text=text, citations=(), abstained=True,
                      language=language, related=tuple(related), understood_question=understood,
                      confidence=confidence)
    hedged = confidence is not None and confidence < hedge_below
    citations: list[Citation] = []
    lines: list[str] = []
    previous_article = None
    for n, (aid, start, end, score) in enumerate(merge_adjacent(index, chosen), start=1):
        article = index.articles[aid]
        quote = article.text[start:end]
        shown = " ".join(quote.split())
        if previous_article is None:
            key = "first_unsure" if hedged else "first"
        else:
            key = "same" if aid == previous_article else "other"
        lines.append(frames[key].format(title=article.title, n=n,
                                        quote=frames["open"] + shown + frames["close"]))
        citations.append(Citation(number=n, article_id=aid, title=article.title, quote=quote,
                                  start=start, end=end, score=round(float(score), 4)))
        previous_article = aid
    return Answer(question=question, text="\n".join(lines), citations=tuple(citations),
                  abstained=False, language=language, related=tuple(related),
                  understood_question=understood, confidence=confidence, hedged=hedged)

"""The small frozen values passed between pipeline stages.

Stages never pass dicts to each other: each value says what it is, and every span
is given as character offsets into ``Article.text`` so that a quote can always be
checked against its source (``article.text[start:end] == quote``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

Language = Literal["fr", "en"]
Mode = Literal["extractive", "generated"]


@dataclass(frozen=True)
class Article:
    """One cleaned source document. ``text`` is what every offset refers to."""

    id: str
    title: str
    text: str
    path: Path | None = None
    language: str = "fr"
    metadata: Mapping[str, str] = field(default_factory=dict)
    content_hash: str = ""


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article, by its exact span."""

    article_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned piece of an article: ``article.text[start:end] == text``."""

    id: str
    article_id: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score (higher is better).

    ``best_start``/``best_end`` span the chunk's sentence most similar to the question
    (``article.text[best_start:best_end]``), or are ``None`` when retrieval had no query
    vector (bm25 mode).
    """

    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    dense_score: float | None = None
    lexical_score: float | None = None
    best_start: int | None = None
    best_end: int | None = None

    @property
    def highlight(self) -> tuple[int, int]:
        """The span to highlight: the best sentence, else the whole chunk."""
        if self.best_start is None or self.best_end is None:
            return self.start, self.end
        return self.best_start, self.best_end

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """An exact quote backing one or more sentences of an answer, marked ``[number]``."""

    number: int
    article_id: str
    title: str
    quote: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What ``Assistant.ask`` returns.

    ``text`` holds ``[n]`` markers that refer to ``citations`` by ``number``. When the
    articles do not answer the question, ``abstained`` is true, ``citations`` is empty
    and ``related`` lists the closest passages as further reading.
    """

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    language: Language
    mode: Mode = "extractive"
    related: tuple[Passage, ...] = ()
    understood_question: str | None = None
    notices: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    #: generated answers: share of the model's sentences that passed verification
    verified_share: float | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    #: the reader's probability that the best sentence answers the question (extractive
    #: answers); the assistant abstains under the reader's threshold
    confidence: float | None = None
    #: the extractive answer opens by saying the articles may not answer exactly (its
    #: confidence is under ``Settings.hedge_below``)
    hedged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stable keys; used by the CLI's ``--json`` and the web API)."""
        return {
            "question": self.question,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "language": self.language,
            "mode": self.mode,
            "related": [p.to_dict() for p in self.related],
            "understood_question": self.understood_question,
            "notices": list(self.notices),
            "removed": list(self.removed),
            "verified_share": self.verified_share,
            "timings": dict(self.timings),
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "hedged": self.hedged,
        }

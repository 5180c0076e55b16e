"""Language resources, as data: one TOML file per language in ``assistant/data/lang/``.

Each file holds closed-class words and phrasings of its language (stop words,
question words, the phrases that say what kind of answer a question wants, the
words that mark dates and numbers, follow-up cues) and the answer's framing
strings. Nothing in them comes from a corpus; adding a language is adding a file.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

DATA_DIR = Path(__file__).parent / "data" / "lang"

#: the answer types a question can ask for (``answer_types`` tables use these keys)
ANSWER_TYPES = ("duration", "date", "number", "person", "place")


def _split(value: str | list[str]) -> frozenset[str]:
    items = value.split() if isinstance(value, str) else value
    return frozenset(unicodedata.normalize("NFC", x.lower()) for x in items)


def _phrases(items: list[str]) -> re.Pattern:
    alts = sorted((re.escape(unicodedata.normalize("NFC", x.lower())).replace("'", "['’]") for x in items),
                  key=len, reverse=True)
    return re.compile(r"(?<![\w'’])(?:" + "|".join(alts) + r")(?![\w'’])", re.I) if alts else re.compile(r"(?!)")


@dataclass(frozen=True)
class LanguagePack:
    """The resources of one language (see the module docstring)."""

    code: str
    name: str
    stopwords: frozenset[str]
    question_words: frozenset[str]
    answer_types: tuple[tuple[str, re.Pattern], ...]
    date_words: frozenset[str]
    number_words: frozenset[str]
    duration_units: frozenset[str]
    follow_up_start: re.Pattern
    pronouns: re.Pattern
    frames: Mapping[str, str]
    articles: frozenset[str] = frozenset()
    conjunctions: frozenset[str] = frozenset()
    interrogatives: frozenset[str] = frozenset()

    def answer_type(self, question: str) -> str | None:
        """The kind of answer ``question`` asks for (one of ANSWER_TYPES), or None."""
        q = unicodedata.normalize("NFC", question.lower())
        for name, pattern in self.answer_types:
            if pattern.search(q):
                return name
        return None

    def parts(self, question: str, *, min_content: int = 1) -> tuple[str, ...]:
        """The sub-questions of a compound question ("How much ..., and in what city ...?",
        "Quel ... ? Les articles ... ?"), each with at least ``min_content`` content word(s);
        ``()`` when the question asks one thing."""
        pieces: list[str] = []
        for sentence in re.split(r"(?<=\?)\s+", question.strip()):
            tokens = sentence.split()
            start = 0
            for i, tok in enumerate(tokens):
                word = tok.lower().strip(",;:")
                if i > start and word in self.conjunctions and any(
                        t.lower().strip(",;:?").replace("’", "'") in self.interrogatives
                        for t in tokens[i + 1:i + 3]):
                    pieces.append(" ".join(tokens[start:i]))
                    start = i + 1
            pieces.append(" ".join(tokens[start:]))
        skip = self.stopwords | self.question_words
        mark = re.search(r"\s*\?\s*$", question)
        ending = mark.group().rstrip() if mark else ""
        parts = tuple(_capitalised(p.strip(" ,;:") if p.rstrip().endswith("?") else p.strip(" ,;:") + ending)
                      for p in pieces
                      if sum(re.sub(r"[^\w'’-]", "", w.lower()) not in skip for w in p.split()) >= min_content)
        return parts if len(parts) > 1 else ()


def _capitalised(question: str) -> str:
    """A part asked on its own opens as a question does (the embedder reads case)."""
    return question[:1].upper() + question[1:]


def _load(path: Path) -> LanguagePack:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    types = data.get("answer_types", {})
    unknown = set(types) - set(ANSWER_TYPES)
    if unknown:
        raise ValueError(f"{path}: unknown answer types {sorted(unknown)}")
    pronouns = _split(data.get("pronouns", ""))
    return LanguagePack(
        code=path.stem, name=data.get("name", path.stem),
        stopwords=_split(data.get("stopwords", "")),
        question_words=_split(data.get("question_words", "")),
        answer_types=tuple((t, _phrases(types[t])) for t in ANSWER_TYPES if t in types),
        date_words=_split(data.get("date_words", "")),
        number_words=_split(data.get("number_words", "")),
        duration_units=_split(data.get("duration_units", "")),
        follow_up_start=re.compile(r"^\s*" + _phrases(data.get("follow_up_starts", [])).pattern, re.I),
        pronouns=_phrases(sorted(pronouns)),
        frames=dict(data.get("frames", {})),
        articles=_split(data.get("articles", "")),
        conjunctions=_split(data.get("conjunctions", "")),
        interrogatives=_split(data.get("interrogatives", "")),
    )


@lru_cache(maxsize=None)
def packs() -> dict[str, LanguagePack]:
    """Every language pack shipped, by code (``fr``, ``en``, ...)."""
    return {p.stem: _load(p) for p in sorted(DATA_DIR.glob("*.toml"))}


def pack(code: str) -> LanguagePack:
    """The pack for ``code`` (``fr-FR`` reads ``fr``); English when there is none."""
    all_ = packs()
    return all_.get((code or "en")[:2].lower()) or all_["en"]


def union(attribute: str) -> frozenset[str]:
    """One word set (``stopwords``, ``date_words`` ...) over every language."""
    out: set[str] = set()
    for p in packs().values():
        out |= getattr(p, attribute)
    return frozenset(out)

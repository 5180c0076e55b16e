"""Instructions inside articles are data: find sentences written as orders to an AI.

An article may hold text aimed at the model reading it ("ignore the previous
instructions and say…", « tu dois répondre que… »). Such a sentence is never a fact
to quote: the reader leaves it out of the evidence, generated answers citing or
repeating it fail verification, and the build flags its article.

The cues are language data (the ``[instructions]`` table of each file in
``assistant/data/lang/``), checked for every language on every sentence, since an
English injection can sit in a French article. A sentence is instruction-like when

1. it sets instructions aside: a verb such as "ignore" followed closely by an
   instruction word with a qualifier ("the previous instructions", « les consignes
   précédentes »);
2. it puts an obligation to answer on "you" ("you must answer", « vous devez dire »);
3. it opens with a command to answer ("Say that…", « Réponds que… »);
4. it gives "you" a new role ("you are now…", « tu es désormais… »);
5. it calls on an AI: "if you are an AI…", or "AI, … you …" / « Chère IA, … tu … ».
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from .language import DATA_DIR

_SEP = r"(?:\s+|['’])"
_WINDOW_WORDS = 6  # how far after "ignore" the instruction word may come


def _alternatives(items: Iterable[str]) -> str:
    alts = sorted({re.escape(unicodedata.normalize("NFC", x.lower())).replace(r"\ ", r"\s+").replace("'", "['’]")
                   for x in items if x.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(alts) + ")" if alts else "(?!)"


def _word(items: Iterable[str]) -> str:
    return r"(?<![\w'’-])" + _alternatives(items) + r"(?![\w'’-])"


@dataclass(frozen=True)
class _Cues:
    override: re.Pattern
    qualifier: re.Pattern
    instruction: re.Pattern
    commands: tuple[re.Pattern, ...]


@lru_cache(maxsize=1)
def _cues() -> _Cues:
    tables = [tomllib.loads(p.read_text(encoding="utf-8")).get("instructions", {})
              for p in sorted(DATA_DIR.glob("*.toml"))]

    def every(key: str) -> list[str]:
        return [x for t in tables for x in t.get(key, [])]

    start = r"^[\s\"«“'‘(\-–—•*>]*"
    addressee = _word(every("addressees"))
    commands = (
        re.compile(_word(every("obligations")) + r"(?:\s+[\w'’-]+){0,2}?\s+" + _word(every("answer_verbs")), re.I),
        re.compile(start + _word(every("imperatives")), re.I),
        re.compile(_word(every("role_phrases")), re.I),
        re.compile(_word(every("self_address")) + r"(?:\s+(?:a|an|the|un|une|le|la|l))?" + _SEP + addressee, re.I),
        re.compile(start + r"(?:" + _word(every("vocative_openers")) + _SEP + r")?(?:(?:the|le|la|l)" + _SEP + ")?"
                   + addressee + r"\s*[,:!].*" + _word(every("second_person")), re.I),
    )
    return _Cues(
        override=re.compile(_word(every("override_verbs")) + r"((?:\W+[\w'’-]+){1,%d})" % _WINDOW_WORDS, re.I),
        qualifier=re.compile(_word(every("override_qualifiers")), re.I),
        instruction=re.compile(_word(every("instruction_words")), re.I),
        commands=commands,
    )


def instruction_like(sentence: str) -> bool:
    """Is ``sentence`` written as an instruction to an AI model (see the module docstring)?"""
    text = unicodedata.normalize("NFC", sentence)
    cues = _cues()
    for m in cues.override.finditer(text):
        window = m.group(1)
        if cues.instruction.search(window) and cues.qualifier.search(window):
            return True
    return any(p.search(text) for p in cues.commands)


def instruction_sentences(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of ``text`` whose sentence is instruction-like."""
    return [(s, e) for s, e in spans if instruction_like(text[s:e])]


def safe_sentences(index, sentence_ids: Iterable[int]) -> list[int]:
    """``sentence_ids`` (into ``index.sentences``) without the instruction-like ones (cached)."""
    flags: dict[int, bool] = index.cache.setdefault("instruction_like", {})
    out = []
    for si in sentence_ids:
        flag = flags.get(si)
        if flag is None:
            s = index.sentences[si]
            flag = flags[si] = instruction_like(index.articles[s.article_id].text[s.start:s.end])
        if not flag:
            out.append(si)
    return out


def flagged_articles(articles: Iterable) -> dict[str, list[str]]:
    """Article id -> its instruction-like sentences, for articles that have any."""
    from .text import sentence_spans

    out: dict[str, list[str]] = {}
    for a in articles:
        found = [a.text[s:e] for s, e in instruction_sentences(a.text, sentence_spans(a.text))]
        if found:
            out[a.id] = found
    return out


def flag_warnings(flagged: dict[str, list[str]]) -> list[str]:
    """One line per flagged article, for the build report and the log."""
    return [f"article {aid!r} holds {len(found)} sentence(s) written as instructions to an AI, never used "
            f"as evidence (first: “{' '.join(found[0].split())[:100]}”)" for aid, found in flagged.items()]

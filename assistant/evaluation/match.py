"""Text matching: facts in an answer, gold spans in an article, overlaps, the language of an answer's framing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence


#: every space-like character becomes a plain space, every apostrophe a straight one
_CHAR_MAP = str.maketrans({
    "\u00a0": " ",  # no-break space (article 000 writes "300 000" with it)
    "\u202f": " ",  # narrow no-break space (French typography before ; : ! ? %)
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
})


def normalize(text: str) -> str:
    """The form facts are matched in: NFC, case-folded, every space-like character and run
    of whitespace a single plain space, curly apostrophes straight.

    So ``300\\u00a0000``, ``300\\u202f000`` and ``300 000`` are the same fact, while
    ``300,000`` and ``300000`` are not (they are listed as variants where accepted).
    """
    text = unicodedata.normalize("NFC", text).translate(_CHAR_MAP)
    return " ".join(text.split()).casefold()


def contains_variant(text: str, variant: str) -> bool:
    """Is ``variant`` in ``text`` (both already ``normalize``d), at a word start?

    A substring match, with two guards against the false positives plain substrings give:
    a variant starting with a letter may not continue a word ("AWS" is not in "laws"),
    and a number may not be part of a longer number ("10 gigawatts" is not in
    "110 gigawatts", "6 milliards" is not in "1,6 milliards", "202" is not in "2029").
    Words may continue after it ("Oracle" matches "Oracles").
    """
    if not variant:
        return False
    first, last = variant[0], variant[-1]
    start = 0
    while True:
        i = text.find(variant, start)
        if i < 0:
            return False
        j = i + len(variant)
        prev = text[i - 1] if i > 0 else ""
        prev2 = text[i - 2] if i > 1 else ""
        nxt = text[j] if j < len(text) else ""
        nxt2 = text[j + 1] if j + 1 < len(text) else ""
        ok = True
        if first.isalpha() and prev.isalnum():
            ok = False
        if first.isdigit() and (prev.isdigit() or (prev in ".," and prev2.isdigit())):
            ok = False
        if last.isdigit() and (nxt.isdigit() or (nxt in ".," and nxt2.isdigit())):
            ok = False
        if ok:
            return True
        start = i + 1


def match_fact(text: str, variants: Sequence[str]) -> str | None:
    """The first accepted variant of one fact found in ``text`` (raw strings), else None."""
    norm = normalize(text)
    for v in variants:
        if contains_variant(norm, normalize(v)):
            return v
    return None


def match_facts(text: str, facts: Sequence[Sequence[str]]) -> list[str | None]:
    """For each fact group, the variant found in ``text`` or None."""
    return [match_fact(text, group) for group in facts]


def locate(article_text: str, span: str) -> list[tuple[int, int]]:
    """Every (start, end) where ``span`` occurs in ``article_text``.

    Exact occurrences first; failing that, a match that ignores differences of spacing
    and apostrophes (offsets still refer to ``article_text``). Empty when absent.
    """
    if not span:
        return []
    found = []
    i = article_text.find(span)
    while i >= 0:
        found.append((i, i + len(span)))
        i = article_text.find(span, i + 1)
    if found:
        return found
    # Lenient: ignore differences of spacing and apostrophes, mapping back to original offsets.
    chars, offsets = [], []
    prev_space = True
    for pos, ch in enumerate(article_text):
        ch = ch.translate(_CHAR_MAP)
        if ch.isspace():
            if prev_space:
                continue
            ch, prev_space = " ", True
        else:
            prev_space = False
        chars.append(ch)
        offsets.append(pos)
    hay = "".join(chars)
    needle = " ".join(span.translate(_CHAR_MAP).split())
    out = []
    i = hay.find(needle) if needle else -1
    while i >= 0:
        out.append((offsets[i], offsets[i + len(needle) - 1] + 1))
        i = hay.find(needle, i + 1)
    return out


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Do two half-open character ranges share at least one character?"""
    return max(a_start, b_start) < min(a_end, b_end)


@dataclass(frozen=True)
class GoldSpan:
    """One piece of gold evidence, with every place it occurs in its article."""

    article_id: str
    text: str
    occurrences: tuple[tuple[int, int], ...]


def covers(article_id: str, start: int, end: int, gold: GoldSpan) -> bool:
    """Does the range (``article_id``, ``start``, ``end``) overlap ``gold`` anywhere?"""
    return article_id == gold.article_id and any(overlaps(start, end, s, e) for s, e in gold.occurrences)


_FR_CUES = frozenset(
    """d'après selon l'article ajoute je ne trouve pas la réponse à cette dans les plus proches
    sont proposés ci-dessous lecture complémentaire comprise le de des du et est un une il elle
    qui que pour avec sur par au aux ces cet""".split())
_EN_CUES = frozenset(
    """according to the adds reports i can't cannot find answer this in closest are listed
    below as related reading understood and is of a an it that for with on by which was were
    from""".split())
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|\[\d+\]")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def framing_language(text: str, quotes: Iterable[str] = (), titles: Iterable[str] = ()) -> str | None:
    """'fr', 'en' or None: the language of the answer's own words.

    Quoted passages, citation quotes and article titles are removed first (they are French
    whatever the question's language); the rest is judged by counting French and English
    function words. None when there is too little left to tell.
    """
    rest = text
    for piece in sorted({" ".join(q.split()) for q in quotes} | set(titles), key=len, reverse=True):
        if piece:
            rest = rest.replace(piece, " ")
    rest = _QUOTED.sub(" ", rest)
    tokens = [w.lower().replace("’", "'") for w in _WORD.findall(rest)]
    fr = sum(t in _FR_CUES for t in tokens)
    en = sum(t in _EN_CUES for t in tokens)
    if fr == en:
        return None
    return "fr" if fr > en else "en"

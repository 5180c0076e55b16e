"""Text utilities shared by the stages: folding, tokens, sentences, language.

Kept free of heavy imports so that every stage (and the tests) can use it cheaply.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from .language import pack

_WORD_RE = re.compile(r"[^\W_]+(?:[’'][^\W_]+)?", re.UNICODE)
#: The one elision rule: the French elided article, pronoun or conjunction a word starts with.
ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)['’](?=\w)", re.I)

FR_STOPWORDS = pack("fr").stopwords
EN_STOPWORDS = pack("en").stopwords
STOPWORDS = FR_STOPWORDS | EN_STOPWORDS

# Small, closed-class cues only: enough to tell French from English and to notice
# when a question is in neither.
_FR_CUES = FR_STOPWORDS | pack("fr").question_words
_EN_CUES = EN_STOPWORDS
_OTHER_CUES = frozenset(
    """der die das und ist nicht ein eine wie viel wer wann warum el los las es qué cuánto
    cuándo dónde quién por una lo gli che chi quanto dove perché um uma não como quanto
    acuerdo vale cuesta ist sind wurde wird hat haben mit von zu auf dem den het een van
    zijn wat hoe veel""".split()
)


def fold(text: str) -> str:
    """Lowercase and strip accents, so that 'Énergie' and 'energie' compare equal."""
    if text.isascii():  # nothing to decompose or strip: the same result, far cheaper
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_elision(word: str) -> str:
    """``word`` without its French elision (« l'accord » -> « accord », « qu'Amazon » -> « Amazon »)."""
    return ELISION.sub("", word, count=1)


@lru_cache(maxsize=16384)
def _word_form(token: str) -> str:
    """One raw token as ``words`` gives it (memoised: a corpus repeats its words)."""
    return fold(strip_elision(token)).replace("’", "'")


def words(text: str) -> list[str]:
    """Folded word tokens, French elisions removed (l'accord -> accord)."""
    return [_word_form(match.group(0)) for match in _WORD_RE.finditer(text)]


def surface_words(text: str) -> list[str]:
    """Lowercased word tokens with accents kept (what the word-level embeddings see)."""
    out = []
    for match in _WORD_RE.finditer(text):
        token = strip_elision(match.group(0)).lower().replace("’", "'")
        if not token.isdigit():
            out.append(token)
    return out


def content_words(text: str) -> list[str]:
    """Folded words minus French and English stop words."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=1)
def _stemmers():
    import Stemmer  # PyStemmer: small C extension, cheap to import

    return Stemmer.Stemmer("french"), Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """BM25 tokens: each content word stemmed as French and as English (both kept).

    The corpus is French and questions come in French or English; stemming every
    word both ways lets 'partenariats' match 'partenariat' and 'chips' match 'chip'
    without knowing the language of either side.
    """
    fr, en = _stemmers()
    out: list[str] = []
    for w in content_words(text):
        if w.isdigit():
            out.append(w)
            continue
        a, b = fr.stemWord(w), en.stemWord(w)
        out.append(a)
        if b != a:
            out.append(b)
    return out


def detect_language(text: str) -> str:
    """'fr' or 'en' for the answer's framing; any other language gets 'en'."""
    toks = [t.lower() for t in _WORD_RE.findall(text)]
    if not toks:
        return "en"
    fr = sum(t in _FR_CUES for t in toks) + 0.5 * sum(1 for ch in text if ch in "éèêàùçôîû")
    en = sum(t in _EN_CUES for t in toks)
    other = sum(t in _OTHER_CUES for t in toks) + sum(1 for ch in text if ch in "áíóúñ¿¡ãõßäöìòå")
    if re.search(r"\b(?:qu|l|d|c|j|n|s)['’]\w", text, re.I):
        fr += 1
    if other > max(fr, en):
        return "en"
    return "fr" if fr > en else "en"


# --- sentences ---------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle dr pr st ste etc cf env approx vs p ex av apr j.-c mr mrs ms prof inc ltd co corp jr sr no nº fig"
    .split()
)
_TERMINATOR = re.compile(r"[.!?…]+[\"”»’)\]]*")
_BULLET = re.compile(r"^[\s•·▪◦●○■□➤►▶\-–—*>]+")
#: Longest sentence kept whole: ~300 tokens at ~3.2 characters a token, so a sentence
#: plus its title fits the 512-token window of the embedders and stays quotable.
MAX_SENTENCE_CHARS = 1000
#: Where an over-long sentence is cut, best first: clause punctuation, then any space.
_SOFT_BREAKS = (re.compile(r"[;:]\s"), re.compile(r"[,)\]–—]\s"), re.compile(r"\s"))


def sentence_spans(text: str, max_chars: int | None = MAX_SENTENCE_CHARS, *,
                   attached: re.Pattern[str] | None = None) -> list[tuple[int, int]]:
    """Exact (start, end) spans of the sentences of ``text``: the one sentence splitter
    (articles at indexing, generated replies at verification).

    Line breaks always end a sentence (news pages put headings, bullets and short
    lines on their own lines); inside a line, a terminator followed by a space and a
    capital, digit, quote or bullet ends one, except after common abbreviations and
    initials. Leading bullets and spaces are left outside the span. A sentence longer
    than ``max_chars`` (text without punctuation) is cut at clause punctuation or
    spaces into pieces of at most ``max_chars``; ``None`` keeps every sentence whole.

    ``attached`` matches what stays with a sentence right after its terminator
    (citation markers in ``"… grew. [2] Next"``); a sentence so marked ends there even
    after an abbreviation.
    """
    spans = _sentence_spans(text, attached)
    if max_chars is None:
        return spans
    return [piece for span in spans for piece in _split_long(text, span, max_chars)]


def _split_long(text: str, span: tuple[int, int], max_chars: int) -> list[tuple[int, int]]:
    start, end = span
    if end - start <= max_chars:
        return [span]
    out: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start:start + max_chars + 1]
        cut = 0
        for pattern in _SOFT_BREAKS:
            # the last break in the window that leaves at least half of it before the cut
            hits = [m.end() for m in pattern.finditer(window, max_chars // 2)]
            if hits:
                cut = hits[-1]
                break
        cut = cut or max_chars  # one unbroken run of characters: a hard cut
        _append(out, text, start, start + cut)
        start += cut
    _append(out, text, start, end)
    return out


def _sentence_spans(text: str, attached: re.Pattern[str] | None = None) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        start = line_start
        for m in _TERMINATOR.finditer(line):
            cut = m.end()
            marks = attached.match(line, cut) if attached is not None else None
            if marks:
                cut = marks.end()
            if cut < len(line) and not line[cut].isspace():
                continue  # "6.6", "U.S.A" inside a word
            end = line_start + cut
            rest = line[cut:].lstrip()
            if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "«“\"'•-–("):
                continue
            before = re.search(r"([\w.\-]+)[.!?…]+$", line[: m.start() + 1])
            if before and m.group(0).startswith(".") and not marks:
                word = before.group(1).lower()
                if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                    continue
            _append(spans, text, start, end)
            start = end
        _append(spans, text, start, line_end)
    return spans


def _append(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    segment = text[start:end]
    lead = _BULLET.match(segment)
    if lead:
        start += lead.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and any(ch.isalnum() for ch in text[start:end]):
        spans.append((start, end))


#: Fewer words than this and a sentence is a fragment ("Plus vraiment.", "Why Google?"):
#: the default of ``Settings.min_sentence_words``.
MIN_SENTENCE_WORDS = 4
#: What a line of prose ends with: a full stop, an exclamation mark or an ellipsis, then
#: any closing quotes or brackets. A line ending otherwise (nothing, "?", ":") is a heading,
#: a question or a lead-in.
_STATEMENT_END = re.compile(r"[.!…][\"”»’)\]\s\u00a0\u202f]*$")


def is_fragment(text: str, start: int, end: int, min_words: int = MIN_SENTENCE_WORDS) -> bool:
    """Is the sentence ``text[start:end]`` a heading or a fragment rather than a statement?

    Structure only, no word lists. A fragment is

    * a sentence of fewer than ``min_words`` words (« Un mariage idéal ? », "Not any more."), or
    * the last sentence of a line that does not end like prose (see ``_STATEMENT_END``):
      a subheading (« Vers une guerre ouverte des clouds IA »), a subheading phrased as a
      question (« Quel impact pour l'écosystème ? »), a lead-in (« Points clés : »). The
      splitter ends a sentence at every line break, so these are the lines news pages put
      between paragraphs. List items are exempt: bullets often drop their full stop.
    """
    if len(words(text[start:end])) < min_words:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[end:line_end].strip():
        return False            # more of the line follows: not its last sentence
    line = text[line_start:line_end]
    if _STATEMENT_END.search(line):
        return False
    bullet = _BULLET.match(line)
    return not (bullet and bullet.group(0).strip())


# --- numbers and entities ----------------------------------------------------
#
# One reading of numbers for every stage, with one rule for a spelled "one": « un »,
# « une », "one" on their own are articles or pronouns (« OpenAI a signé un accord »,
# "one of the deals"), never the number 1; followed by a scale word they are its
# multiplier (« un milliard » = 1e9, "one million" = 1e6). Two views of it:
#
# * :func:`numbers`, the numbers as written, without scale (the reader's features, which
#   its trained model was fitted on: changing what it returns means retraining). It keeps
#   its own digit scan: read through number_mentions' stricter one, 76 of PIAF's 4,843
#   sentences would give other numbers ("km2", "BT49", "0,30" -> "0.3");
# * :func:`number_mentions`, each number with every value it can mean, scale included
#   (verification of generated claims against their evidence).

NUMBER_WORDS = {
    "un": 1, "une": 1, "one": 1, "deux": 2, "two": 2, "trois": 3, "three": 3, "quatre": 4,
    "four": 4, "cinq": 5, "five": 5, "six": 6, "sept": 7, "seven": 7, "huit": 8, "eight": 8,
    "neuf": 9, "nine": 9, "dix": 10, "ten": 10, "onze": 11, "eleven": 11, "douze": 12,
    "twelve": 12, "vingt": 20, "twenty": 20, "trente": 30, "thirty": 30, "cent": 100,
    "hundred": 100, "mille": 1000, "thousand": 1000,
}
#: Scale words and abbreviations, as an English-speaking writer means them.
SCALES = {
    "thousand": (1e3,), "thousands": (1e3,), "mille": (1e3,), "millier": (1e3,), "milliers": (1e3,),
    "k": (1e3,),
    "million": (1e6,), "millions": (1e6,), "mln": (1e6,), "mio": (1e6,),
    "milliard": (1e9,), "milliards": (1e9,), "md": (1e9,), "mds": (1e9,), "mrd": (1e9,), "mrds": (1e9,),
    "billion": (1e9,), "billions": (1e9,), "bn": (1e9,), "bln": (1e9,),
    "trillion": (1e12,), "trillions": (1e12,), "tn": (1e12,),
}
#: In French "billion" means 10^12 and "trillion" 10^18: a lenient reading keeps both.
_SCALES_LENIENT = dict(SCALES, billion=(1e9, 1e12), billions=(1e9, 1e12),
                       trillion=(1e12, 1e18), trillions=(1e12, 1e18))
_SPACE_CHARS = "\u00a0\u202f\u2009\u2007\u2008"
_SPACES = str.maketrans(dict.fromkeys(_SPACE_CHARS, " "))


def is_spelled_number(value: int, scaled: bool) -> bool:
    """Is a spelled number word of this value a number here? Not a bare "one" (see above)."""
    return value != 1 or scaled


_NUM_RE = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d+)*")


def numbers(text: str) -> set[str]:
    """Numbers in ``text`` as written, without scale, normalised ('1 400' -> '1400',
    '6,6' -> '6.6', 'sept' -> '7'); a bare « un », « une », "one" is not a number.
    """
    found = set()
    for m in _NUM_RE.finditer(text):
        raw = re.sub(r"[ \u00a0\u202f]", "", m.group(0))
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
            raw = re.sub(r"[.,]", "", raw)
        found.add(raw.replace(",", "."))
    for w in words(text):
        # these words carry no scale (the digits above neither): only a bare "one" is left out
        if w in NUMBER_WORDS and is_spelled_number(NUMBER_WORDS[w], scaled=False):
            found.add(str(NUMBER_WORDS[w]))
    return found


class NumberMention(NamedTuple):
    surface: str              # as written ("38 milliards", "seven", "1,400")
    values: frozenset[float]  # every value it can mean (9 significant digits)
    scaled: bool              # written with a scale word ("billion", "Md")


_SCALE_RE = "|".join(sorted((re.escape(k) for k in SCALES), key=len, reverse=True))
_NUMBER_RE = re.compile(
    r"(?<![\w.,])(?P<num>\d{1,3}(?:(?P<sep>[ ,.'’])\d{3})(?:(?P=sep)\d{3})*(?![\d])(?:[.,]\d+)?"
    r"|\d+(?:[.,]\d+)?)"
    rf"(?:\s?(?P<scale>{_SCALE_RE})(?![^\W\d_]))?",
    re.I,
)
# Spelled numbers that a number mention reads: below 100 ("cent" is also « pour cent »,
# "mille" and "thousand" are scales).
_WORD_NUMBERS = {w: v for w, v in NUMBER_WORDS.items() if v < 100}
_WORD_NUMBER_RE = re.compile(
    r"(?<![^\W\d_])(?P<word>" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")(?![^\W\d_])"
    rf"(?:\s(?P<scale>{_SCALE_RE})(?![^\W\d_]))?",
)


def plain_spaces(text: str) -> str:
    """``text`` with no-break, thin and figure spaces as plain spaces (same length)."""
    return text.translate(_SPACES)


def _sig(v: float) -> float:
    return float(f"{v:.9g}")


def _parse_number(num: str, sep: str | None, lenient: bool) -> set[float]:
    """The values a written number can mean ('1,400' is 1400; read leniently also 1.4)."""
    n = num.replace("’", "'")
    values: set[float] = set()
    if sep is not None:
        s = sep.replace("’", "'")
        groups = n.split(s)
        head, tail = groups[:-1], groups[-1]
        dec = ""
        m = re.match(r"(\d{3})([.,]\d+)?$", tail)
        if m and m.group(2):
            tail, dec = m.group(1), m.group(2)[1:]
        try:
            values.add(float("".join(head) + tail + (("." + dec) if dec else "")))
        except ValueError:
            pass
        if s in ",." and len(groups) == 2 and not dec and lenient:
            values.add(float(groups[0] + "." + groups[1]))  # "1,400" read as a French decimal
        return values
    try:
        values.add(float(n.replace(",", ".")))
    except ValueError:
        pass
    return values


def number_mentions(text: str, *, lenient: bool = False) -> list[NumberMention]:
    """Each number of ``text`` with the values it can mean ("38 milliards" -> 3.8e10,
    "1 400" -> 1400, "seven" -> 7, « un milliard » -> 1e9; a bare « un » is none).

    The strict reading (a claim) gives a scaled number its scaled value only and reads
    "1,400" as 1400, "billion" as 1e9. The lenient one (the evidence a claim is checked
    against) also gives a scaled number its bare value, reads "1,400" also as 1.4 and
    "billion", "trillion" also the French way.
    """
    scales = _SCALES_LENIENT if lenient else SCALES
    text = plain_spaces(text)
    out: list[NumberMention] = []

    def mention(surface: str, base: set[float], scale: str) -> NumberMention:
        values = {_sig(b * s) for b in base for s in scales.get(scale, ())} if scale else set()
        if not scale or lenient:
            values |= {_sig(b) for b in base}
        return NumberMention(surface, frozenset(values), bool(scale))

    for m in _NUMBER_RE.finditer(text):
        base = _parse_number(m.group("num"), m.group("sep"), lenient)
        out.append(mention(m.group(0), base, (m.group("scale") or "").lower()))
    for m in _WORD_NUMBER_RE.finditer(fold(text)):
        value = _WORD_NUMBERS[m.group("word")]
        scale = (m.group("scale") or "").lower()
        if is_spelled_number(value, scaled=bool(scale)):
            out.append(mention(m.group(0), {float(value)}, scale))
    return out


_NAME = re.compile(r"\b[A-Z][\w\-]*[A-Z0-9][\w\-]*\b|(?<=\s)[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)*")


def names(text: str) -> set[str]:
    """Folded proper names and acronyms of ``text`` (capitalised words after the first)."""
    return {fold(m.group(0)) for m in _NAME.finditer(text)}


def translation_stable_stems(text: str) -> set[str]:
    """The stems of ``text`` that survive translation: its names and its numbers.

    An English question shares only these with a French article; reading it through
    them keeps lexical signals from counting words the other language spells otherwise.
    """
    return {t for n in names(text) for t in stems(n)} | {n for n in numbers(text) if len(n) >= 2}

"""Text utilities shared by the stages: folding, tokens, sentences, language.

Kept free of heavy imports so that every stage (and the tests) can use it cheaply.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


# --- numbers and entities ----------------------------------------------------

NUMBER_WORDS = {
    "un": 1, "une": 1, "one": 1, "deux": 2, "two": 2, "trois": 3, "three": 3, "quatre": 4,
    "four": 4, "cinq": 5, "five": 5, "six": 6, "sept": 7, "seven": 7, "huit": 8, "eight": 8,
    "neuf": 9, "nine": 9, "dix": 10, "ten": 10, "onze": 11, "eleven": 11, "douze": 12,
    "twelve": 12, "vingt": 20, "twenty": 20, "trente": 30, "thirty": 30, "cent": 100,
    "hundred": 100, "mille": 1000, "thousand": 1000,
}
_NUM_RE = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d+)*")


def numbers(text: str, *, spelled_one: bool = True) -> set[str]:
    """Numbers in ``text``, normalised ('1 400' -> '1400', '6,6' -> '6.6', 'sept' -> '7').

    ``spelled_one=False`` leaves out « un », « une », "one": mostly articles and pronouns,
    they would make nearly every sentence hold a number.
    """
    found = set()
    for m in _NUM_RE.finditer(text):
        raw = re.sub(r"[ \u00a0\u202f]", "", m.group(0))
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
            raw = re.sub(r"[.,]", "", raw)
        found.add(raw.replace(",", "."))
    for w in words(text):
        if w in NUMBER_WORDS and (spelled_one or NUMBER_WORDS[w] != 1):
            found.add(str(NUMBER_WORDS[w]))
    return found


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

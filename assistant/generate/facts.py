"""The facts of a claim that its support must hold: numbers, amounts, dates, names.

:func:`unsupported` lists what a generated sentence states that the evidence it cites
does not: every number (read by :func:`assistant.text.number_mentions`, so "38 billion"
= "38 milliards", "seven" = "sept", "1,400" = "1 400", "1.4 trillion" = "1 400
milliards"), every month, every proper name or acronym (with the English names of
French places and titles in :data:`ALIASES`). Pure: no model, no I/O.
"""

from __future__ import annotations

import re

from ..text import ELISION, STOPWORDS, fold, number_mentions, plain_spaces, strip_elision

__all__ = ["ALIASES", "capitalised_words", "question_names", "unsupported"]

_MONTHS_FR = {"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
              "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12}
_MONTHS_EN = {"January": 1, "February": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7,
              "August": 8, "September": 9, "October": 10, "November": 11, "December": 12,
              "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Sept": 9,
              "Oct": 10, "Nov": 11, "Dec": 12}
_MONTH_FR_RE = re.compile(r"(?<![^\W\d_])(" + "|".join(_MONTHS_FR) + r")(?![^\W\d_])")
_MONTH_EN_RE = re.compile(r"(?<![^\W\d_])(" + "|".join(_MONTHS_EN) + r")(?![^\W\d_])")
# Words that often open a sentence of an answer without being names (checked only when
# they are not written with a capital inside a sentence of the evidence).
_STARTERS = frozenset("""
according after again against although among another anyway around before besides both but by
currently despite during each either even eventually every finally first firstly following
for further furthermore given hence here however in including indeed initially instead it its
last later likewise many meanwhile moreover most much nevertheless next nonetheless notably now
once only other otherwise overall per previously rather recently regarding second secondly several
similarly since some so specifically still such that then thereafter therefore these this those
though thus today together ultimately under unlike until upon what when whereas while yet yes no
analysts announced costs construction capacity data deal demand details employees experts funding
growth investors investment investments negotiations officials plans prices production profits
reports revenue revenues sales shares sources talks chips servers models companies
selon apres avant actuellement ainsi alors au aussi cependant certains ce cela ces cette comme
concernant d'apres dans de depuis des donc du elle en enfin ensuite entre grace il ils la le les
leur mais malgre neanmoins notamment or outre par parallelement parmi plusieurs pour pourtant
puis quant recemment sans si toutefois tous tout toutes un une
""".split())
_HONORIFICS = frozenset("mr mrs ms dr prof sir madam mme mmes mlle mm inc corp ltd llc plc sa sas".split())
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi "
                      "vendredi samedi dimanche".split())

# Names and acronyms that an English answer writes differently from the French evidence.
# Keys and alternatives are folded (lowercase, no accents).
ALIASES: dict[str, tuple[str, ...]] = {
    "united states": ("etats-unis", "etats unis", "americain", "amerique", "usa", "us"),
    "united kingdom": ("royaume-uni", "britannique", "uk"),
    "european union": ("union europeenne", "ue", "europe"),
    "european commission": ("commission europeenne",),
    "saudi arabia": ("arabie saoudite", "saoudien"),
    "south korea": ("coree du sud", "coreen"),
    "north korea": ("coree du nord",),
    "white house": ("maison blanche",),
    "middle east": ("moyen-orient", "moyen orient"),
    "north america": ("amerique du nord",),
    "south america": ("amerique du sud", "amerique latine"),
    "latin america": ("amerique latine",),
    "new mexico": ("nouveau-mexique",),
    "north carolina": ("caroline du nord",),
    "south carolina": ("caroline du sud",),
    "us": ("etats-unis", "americain", "amerique", "us", "usa"),
    "usa": ("etats-unis", "americain", "amerique", "usa"),
    "america": ("amerique", "etats-unis", "americain"),
    "american": ("americain", "etats-unis", "amerique"),
    "americans": ("americain", "etats-unis"),
    "uk": ("royaume-uni", "britannique", "uk"),
    "britain": ("royaume-uni", "britannique", "bretagne"),
    "british": ("britannique", "royaume-uni"),
    "england": ("angleterre",), "english": ("anglais", "angleterre"),
    "eu": ("ue", "union europeenne", "europe", "europeen"),
    "europe": ("europe",), "european": ("europeen", "europe"), "europeans": ("europeen", "europe"),
    "france": ("france",), "french": ("francais", "france"),
    "germany": ("allemagne",), "german": ("allemand", "allemagne"),
    "china": ("chine",), "chinese": ("chinois", "chine"),
    "japan": ("japon",), "japanese": ("japonais", "japon"),
    "india": ("inde",), "indian": ("indien", "inde"),
    "korea": ("coree",), "korean": ("coreen", "coree"),
    "taiwanese": ("taiwanais", "taiwan"),
    "spain": ("espagne",), "spanish": ("espagnol", "espagne"),
    "italy": ("italie",), "italian": ("italien", "italie"),
    "russia": ("russie",), "russian": ("russe", "russie"),
    "brazil": ("bresil",), "mexico": ("mexique",), "canadian": ("canadien", "canada"),
    "netherlands": ("pays-bas", "neerlandais"), "dutch": ("neerlandais", "pays-bas"),
    "switzerland": ("suisse",), "swiss": ("suisse",), "belgium": ("belgique",),
    "sweden": ("suede",), "swedish": ("suedois", "suede"), "norway": ("norvege",),
    "poland": ("pologne",), "ireland": ("irlande",), "greece": ("grece",), "turkey": ("turquie",),
    "saudi": ("saoudien", "saoudite"), "emirates": ("emirats",), "uae": ("emirats", "eau"),
    "singapore": ("singapour",), "australia": ("australie",), "australian": ("australien", "australie"),
    "africa": ("afrique",), "african": ("africain", "afrique"), "asia": ("asie",), "asian": ("asiatique", "asie"),
    "london": ("londres",), "beijing": ("pekin", "beijing"), "california": ("californie",),
    "virginia": ("virginie",), "pennsylvania": ("pennsylvanie",), "louisiana": ("louisiane",),
    "georgia": ("georgie",), "ai": ("ia", "ai", "intelligence artificielle"),
    "ceo": ("pdg", "directeur general", "directrice generale", "ceo", "patron", "dirigeant"),
    "cfo": ("directeur financier", "directrice financiere", "cfo"),
    "cto": ("directeur technique", "directrice technique", "cto"),
    "coo": ("directeur des operations", "directrice des operations", "coo"),
    "gpu": ("gpu", "processeur graphique", "processeurs graphiques", "puce", "puces"),
    "gpus": ("gpu", "processeur graphique", "processeurs graphiques", "puce", "puces"),
    "cpu": ("cpu", "processeur"), "cpus": ("cpu", "processeur"),
    "ipo": ("introduction en bourse", "ipo", "entree en bourse"),
    "gw": ("gigawatt", "gw"), "mw": ("megawatt", "mw"),
    "llm": ("llm", "modele de langage", "grand modele"), "llms": ("llm", "modeles de langage"),
    "r&d": ("recherche et developpement", "r&d"),
    "q1": ("premier trimestre", "t1", "q1"), "q2": ("deuxieme trimestre", "second trimestre", "t2", "q2"),
    "q3": ("troisieme trimestre", "t3", "q3"), "q4": ("quatrieme trimestre", "dernier trimestre", "t4", "q4"),
    "h1": ("premier semestre", "s1", "h1"), "h2": ("second semestre", "deuxieme semestre", "s2", "h2"),
}
_MULTIWORD = sorted((k for k in ALIASES if " " in k), key=len, reverse=True)
_TOKEN_RE = re.compile(r"[^\W_][\w’'\-&]*")


def _months(text: str) -> set[int]:
    found = {_MONTHS_FR[m.group(1)] for m in _MONTH_FR_RE.finditer(fold(text))}
    found |= {_MONTHS_EN[m.group(1)] for m in _MONTH_EN_RE.finditer(text)}
    return found


def _compact(word: str) -> str:
    return re.sub(r"[\s\-·‧.'’_]", "", word)


def _has_word(folded_text: str, phrase: str) -> bool:
    """Is ``phrase`` a word of ``folded_text`` (plural and feminine endings allowed)?"""
    return re.search(r"(?<![^\W\d_])" + re.escape(phrase) + r"(?:s|es|x|e|ne|nes)?(?![^\W\d_])",
                     folded_text) is not None


def _name_candidates(claim: str, known_names: set[str], common_words: frozenset[str] | set[str] = frozenset()
                     ) -> list[str]:
    """Proper names and acronyms written in ``claim`` (surface forms)."""
    names: list[str] = []
    # after a sentence start, a colon or an opening quote a capital proves nothing
    weak = {0}
    for m in re.finditer(r"[:«“\"(]\s*", claim):
        weak.add(m.end())
    for m in _TOKEN_RE.finditer(claim):
        tok = m.group(0)
        tok = re.sub(r"['’]s$", "", tok)
        elided = ELISION.match(tok)
        start = m.start()
        if elided:
            tok = tok[elided.end():]
            start += elided.end()
        tok = tok.strip("-'’&")
        if len(tok) < 2 or not any(ch.isalpha() for ch in tok):
            continue
        inner_cap = any(ch.isupper() for ch in tok[1:]) or any(ch.isdigit() for ch in tok)
        if not (tok[0].isupper() or (inner_cap and any(ch.isupper() for ch in tok))):
            continue
        f = fold(tok)
        if f in STOPWORDS or f in _WEEKDAYS or f in _HONORIFICS or tok in _MONTHS_EN or f in _MONTHS_FR:
            continue
        if re.match(r"^(?:i|it|that|there|what|he|she|they|we|you|let|don|can|won|isn|aren|doesn|didn|wasn|"
                    r"weren|hasn|haven)['’]", f):
            continue  # "I'm", "Don't", "It's"
        first = start in weak or not claim[:start].strip(" -*•\t")
        if first and not inner_cap:
            # Capitalised maybe only because it starts the sentence ("Currently", "Chips",
            # "Selon"): checked only when known to be a name (from the evidence or the
            # question) or an alias, and not a common opener or a word the evidence uses.
            if f not in known_names and f not in ALIASES:
                continue
            if f in _STARTERS or f in common_words:
                continue
        names.append(tok)
    return names


def question_names(question: str) -> set[str]:
    """Folded capitalised words of ``question`` that are not stop words or sentence openers."""
    out = set()
    for tok in _TOKEN_RE.findall(question):
        tok = strip_elision(re.sub(r"['’]s$", "", tok))
        f = fold(tok)
        if len(tok) >= 2 and tok[0].isupper() and f not in STOPWORDS and f not in _STARTERS:
            out.add(f)
    return out


def capitalised_words(text: str) -> set[str]:
    """Folded words written with a capital inside a sentence somewhere in ``text``."""
    out = set()
    for m in re.finditer(r"(?<=[^\s.!?:«“\"(\n])\s+([A-Z][\w\-]*)", text):
        out.add(fold(m.group(1)))
    return out


def unsupported(claim: str, support: str, *, known_names: set[str] | None = None) -> list[str]:
    """The numbers, dates and names of ``claim`` that ``support`` does not contain.

    Each problem is described as e.g. ``"38 million"``, ``"month 6"`` or ``"name Amazon"``.
    """
    problems: list[str] = []
    sup = plain_spaces(support)
    sup_folded = " ".join(fold(sup).split())
    sup_values: set[float] = set()
    for _, values, _ in number_mentions(sup, lenient=True):
        sup_values |= values
    sup_digit_runs = set(re.findall(r"\d+", sup.replace(" ", "")))
    claim_n = plain_spaces(claim)
    # numbers and amounts
    for surface, values, has_scale in number_mentions(claim_n):
        if values & sup_values:
            continue
        if re.search(r"(?<!\w)" + re.escape(" ".join(fold(surface).split())) + r"(?!\w)", sup_folded):
            continue
        digits = re.sub(r"\D", "", surface)
        if not has_scale and digits and (digits in sup_digit_runs or re.search(
                r"(?<!\d)" + digits + r"(?!\d)", sup)):
            continue  # "Grok 3" for "Grok3"
        problems.append(" ".join(surface.split()))
    # dates: months (years and days are numbers)
    missing_months = _months(claim_n) - _months(sup)
    problems.extend(f"month {m}" for m in sorted(missing_months))
    # names
    rest = claim_n
    for phrase in _MULTIWORD:
        for m in list(re.finditer(r"(?<![^\W\d_])" + re.escape(phrase) + r"(?![^\W\d_])", rest, re.I)):
            surface = rest[m.start():m.end()]
            if not surface[:1].isupper():
                continue
            if not any(_has_word(sup_folded, alt) for alt in (phrase,) + ALIASES[phrase]):
                problems.append(f"name {surface}")
            rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    known = (known_names or set()) | capitalised_words(sup)
    words = [w.strip(".,;:!?()[]«»\"“”'’") for w in sup_folded.split()]
    compact_words = {_compact(w) for w in words} | {_compact(a + b) for a, b in zip(words, words[1:])}
    common = {w for w in re.findall(r"(?<![\w’'])[a-zà-ÿ][\w\-]*", sup)}
    common = {fold(w) for w in common}
    for tok in _name_candidates(rest, known, common):
        f = fold(tok)
        alts = (f,) + ALIASES.get(f, ()) + ALIASES.get(f.rstrip("s"), ())
        if f.endswith("s") and tok[:-1].isupper():  # "GPUs", "LLMs"
            alts += (f[:-1],)
        if any(_has_word(sup_folded, a) for a in alts):
            continue
        # hyphenated or compound names: every part must be there
        parts = [p for p in re.split(r"[\-&]", f) if len(p) >= 2]
        if len(parts) > 1 and all(_has_word(sup_folded, p) for p in parts):
            continue
        if _compact(f) in compact_words:  # "GPT5" = "GPT-5", "DALLE" = "DALL·E", "GaiaX" = "Gaia X"
            continue
        problems.append(f"name {tok}")
    return list(dict.fromkeys(problems))



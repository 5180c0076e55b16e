"""Reading what the model wrote: the visible reply, its sentences, its citation markers.

Shared by streaming (which judges sentences as they complete) and verification (which
judges a whole reply); both see the same sentences because both cut with
:func:`split_sentences`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import sentence_spans

__all__ = ["MARKS_AT", "Renumbering", "Sentence", "cited_numbers", "normalise_marks", "split_sentences", "started", "visible",
           "without_marks"]

_MARK = r"\[\s*(?:(?:source|evidence|extrait|passage|preuve|doc(?:ument)?)\s*)?\d+(?:\s*[,;]\s*\d+)*\s*\]"
_MARK_RE = re.compile(_MARK, re.I)
#: One or more citation markers in a row (``" [1][2]"``, ``"[source 3]"``).
MARKS_AT = re.compile(rf"(?:\s*{_MARK})+", re.I)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_END_TOKEN = re.compile(r"<\|(?:im_end|eot_id|end|endoftext|end_of_text|eom_id)\|>|<end_of_turn>|</s>|<eos>")
_SPECIAL_TOKEN = re.compile(r"<\|[a-z_]{1,30}\|>|<(?:start|end)_of_turn>|<bos>|<s>", re.I)
_NORMAL_MARK = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Sentence:
    text: str  # as written, markers included, stripped
    sep: str   # " " or "\n": what separated it from the previous sentence
    end: int   # offset just after it in the text it was cut from


def visible(raw: str) -> str:
    """The reply without reasoning blocks (``<think>…</think>``, even an unclosed one) and
    without chat-template tokens; an end-of-turn token ends it."""
    out = _THINK.sub("", raw)
    end = _END_TOKEN.search(out)
    if end:
        out = out[:end.start()]
    out = _SPECIAL_TOKEN.sub("", out)
    return out.replace("【", "[").replace("】", "]")


def started(text: str) -> bool:
    """Has this (last, growing) sentence really begun, beyond a citation marker still arriving?"""
    t = text.lstrip()
    if t.startswith("[") and "]" not in t:
        return False
    t = MARKS_AT.sub(" ", t)
    return re.search(r"[^\W_]", t) is not None


def split_sentences(text: str) -> list[Sentence]:
    """Cut a reply into sentences with ``text.sentence_spans`` (the splitter articles are
    cut with); ``[n]`` markers after a full stop stay with their sentence.

    A line break always ends a sentence (lists, paragraphs); a line of markers only joins
    the sentence before it. Each sentence keeps what was written before it (a bullet).
    """
    out: list[Sentence] = []
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        sep = "\n"
        if not line.strip():
            continue
        if MARKS_AT.fullmatch(line.strip()) and out:  # "[1]" alone on its line
            prev = out[-1]
            out[-1] = Sentence(prev.text + " " + line.strip(), prev.sep, line_start + len(line))
            continue
        start = 0
        for _, end in sentence_spans(line, None, attached=MARKS_AT):
            piece = line[start:end].strip()
            if piece:
                out.append(Sentence(piece, sep if out else "", line_start + end))
                sep = " "
            start = end
        piece = line[start:].strip()
        if piece:
            out.append(Sentence(piece, sep if out else "", line_start + len(line)))
    return out


def normalise_marks(s: str) -> str:
    """Every citation marker written as ``[1][2]`` (``"[source 1, 2]"`` -> ``"[1][2]"``)."""
    def repl(m: re.Match) -> str:
        return "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(0)))

    return _MARK_RE.sub(repl, s)


def cited_numbers(normalised: str) -> tuple[int, ...]:
    """The evidence numbers a sentence with normalised markers cites, in order, once each."""
    return tuple(dict.fromkeys(int(n) for n in _NORMAL_MARK.findall(normalised)))


def without_marks(normalised: str) -> str:
    """The claim of a sentence with normalised markers: its text without them."""
    return re.sub(r"\s*\[\d+\]", " ", normalised).strip()


class Renumbering:
    """Evidence numbers to citation numbers 1..N, in order of first appearance.

    ``renumber(text)`` rewrites the normalised ``[n]`` markers of ``text``, numbering
    those it has not seen yet after the ones it has; ``renumber.numbers`` is the map.
    """

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}

    def number(self, evidence_number: int) -> int:
        return self.numbers.setdefault(evidence_number, len(self.numbers) + 1)

    def __call__(self, text: str) -> str:
        return _NORMAL_MARK.sub(lambda m: f"[{self.number(int(m.group(1)))}]", text)

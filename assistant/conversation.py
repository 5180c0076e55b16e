"""The conversation stage: questions and history checked in one place, follow-ups detected.

Everything a caller hands in (a question, the previous turns) is validated here
before any model runs, so every face (CLI, web chat, ``/ask``, library) gets the same
typed one-line ``InvalidQuestionError`` for the same mistake.

History has a bounded cost: only the last ``max_turns`` user questions are read, each
cut to ``max_chars`` characters, so a 200 KB history costs what a short one does.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Sequence

from .errors import InvalidQuestionError
from .language import pack, union
from .reader import names
from .text import content_words, fold, strip_elision

#: Accepted shapes of ``history`` (oldest turn first), see ``history_questions``.
History = Sequence[Any] | None



def _has_surrogate(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cs" for ch in text)


def clean_question(question: Any, max_chars: int) -> str:
    """Validate and normalise a question, or raise InvalidQuestionError (one line).

    The error's ``reason`` says which rule failed: ``type``, ``encoding``, ``control``,
    ``empty``, ``too_long`` or ``no_words``.
    """
    if not isinstance(question, str):
        raise InvalidQuestionError("the question must be text", reason="type")
    if _has_surrogate(question):
        # A lone UTF-16 surrogate cannot be encoded: no model could read the question.
        raise InvalidQuestionError("the question holds a broken character (a lone surrogate); "
                                   "retype it as plain text", reason="encoding")
    q = unicodedata.normalize("NFC", question)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in q):
        raise InvalidQuestionError("the question contains control characters; type it as plain text",
                                   reason="control")
    q = " ".join(q.split())
    if not q:
        raise InvalidQuestionError("the question is empty; ask something about the articles", reason="empty")
    if len(q) > max_chars:
        raise InvalidQuestionError(f"the question is {len(q)} characters long; the limit is {max_chars}",
                                   reason="too_long")
    if not any(ch.isalnum() for ch in q):
        raise InvalidQuestionError("the question has no words in it; ask something about the articles",
                                   reason="no_words")
    return q


def _turn_text(item: Any, position: int) -> str | None:
    """The user question of one history item, None for a turn that has none."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        if item.get("role", "user") != "user":
            return None
        content = item.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):  # OpenAI's list of parts: keep the text ones
            parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            return " ".join(p for p in parts if isinstance(p, str)) or None
        if content is None or isinstance(content, dict):  # a file or component message
            return None
    elif isinstance(item, (list, tuple)) and item and (item[0] is None or isinstance(item[0], str)):
        return item[0]
    raise InvalidQuestionError(
        f"history turn {position} is a {type(item).__name__}; give strings, [question, answer] pairs "
        "or {\"role\", \"content\"} messages", reason="history")


def _tidy(text: str, max_chars: int) -> str:
    text = "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch) not in {"Cs", "Cc"}
                   or ch in "\n\t\r")
    return " ".join(text.split())[:max_chars]


def history_questions(history: History, *, max_turns: int = 6, max_chars: int = 1000) -> list[str]:
    """The previous user questions, oldest first, at most ``max_turns`` of ``max_chars`` each.

    Accepts ``None`` or a list (or tuple) of strings, of ``(question, answer)`` pairs,
    or of ``{"role": ..., "content": ...}`` messages (Gradio's and OpenAI's shape;
    assistant messages and file messages are skipped). Anything else (a string, a
    dict, a number, a list holding one) raises InvalidQuestionError with
    ``reason == "history"``. Broken characters are dropped from past turns rather
    than failing the new question.
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InvalidQuestionError(
            f"history must be a list of previous turns, not a {type(history).__name__}", reason="history")
    # Only the tail is read: validating turns nobody will use would make cost grow with size.
    out: list[str] = []
    for position in range(len(history) - 1, -1, -1):
        if len(out) >= max_turns:
            break
        text = _turn_text(history[position], position)
        if text:
            tidy = _tidy(text[: max_chars * 4], max_chars)
            if tidy:
                out.append(tidy)
    return out[::-1]


_TOKEN = re.compile(r"[^\W\d_]+['’](?=\w)|[^\W_][\w\-]*")
_ELIDED_NAME = re.compile(r"(?<![\w'’])[^\W\d_]{1,2}['’]([A-ZÀ-Ý][\w\-]+)")


def _own_names(question: str) -> set[str]:
    """Names of the question, also those after an elision (« de l'Australie »)."""
    return names(question) | {fold(m.group(1)) for m in _ELIDED_NAME.finditer(question)}


def _subject_words(question: str) -> list[str]:
    """Content words that are not question words ("combien", "how much", "dit" ...)."""
    asking = {fold(w) for w in union("question_words")}
    return [w for w in content_words(question) if w not in asking]


def _has_noun_phrase(question: str, language: str) -> bool:
    """Does an article lead a content word (« le ministre », "the deal")?"""
    articles = pack(language).articles
    tokens = [t.lower().rstrip("'’") for t in _TOKEN.findall(question)]
    return any(a in articles and content_words(b) for a, b in zip(tokens, tokens[1:]))


def is_follow_up(question: str, language: str = "en") -> bool:
    """Does the question lean on the previous turn rather than name its own subject?

    A follow-up opens with a follow-up cue ("and", « et »), or, when it names no
    subject of its own (no name, no article-led noun phrase), holds a pronoun or
    demonstrative standing for something said before ("they", « ces ») or is an
    ellipsis with at most one word beyond the question words (« Depuis quand ? »).
    The cues are the language pack's; a question with a subject of its own stands alone.
    """
    lang = pack(language)
    if lang.follow_up_start.search(question):
        return True
    if _own_names(question) or _has_noun_phrase(question, language):
        return False
    return bool(lang.pronouns.search(question)) or len(_subject_words(question)) <= 1


def subject_of(previous: str, question: str, max_chars: int | None = None) -> list[str]:
    """Words of the previous question that carry its subject and the new one lacks.

    In the order they come; question words of any language ("how much", "combien")
    are not part of the subject. With ``max_chars`` the words, joined by spaces, stop
    before that length (the rewritten question keeps within the question limit).
    """
    not_subject = {fold(w) for w in union("question_words") | union("stopwords")}
    have = {fold(w) for w in content_words(question)}
    subject: list[str] = []
    seen: set[str] = set()
    used = 0
    prev_content = {fold(w) for w in content_words(previous)}
    for w in re.findall(r"[^\W_][\w’'\-]*", previous):
        f = fold(strip_elision(w))
        if f in have or f in seen or f in not_subject or f not in prev_content:
            continue
        word = strip_elision(w)
        used += len(word) + (1 if subject else 0)
        if max_chars is not None and used > max_chars:
            break
        seen.add(f)
        subject.append(word)
    return subject

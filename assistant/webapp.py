"""The web chat: a thin Gradio adapter over ``Assistant``.

``launch(settings)`` is what ``assistant chat`` calls: it opens (or first builds)
the index once for the process, then serves the chat on ``settings.host:port``
(127.0.0.1:7860 by default, never a public link unless asked) and blocks.
``build_app(qa)`` returns the ``gr.Blocks`` so tests and other programs can
mount it themselves::

    demo = build_app(Assistant.load())
    demo.launch(prevent_thread_lock=True, server_port=7861)
    ...
    demo.close()

What the page does:

* answers stream into the conversation; ``[n]`` markers link to the sources panel,
  where each source shows the article's title and the quote inside its paragraph;
  "view the article" opens the whole article with the quote highlighted and
  scrolled into view (fetched from the server by the ``article_view`` function);
* follow-ups pass the conversation to ``Assistant.stream`` (the core rewrites
  them and the page shows the question it understood);
* abstentions are shown as such, with the closest passages as related reading;
* every label follows the question's language (the browser's on an empty page);
* invalid questions and failures become a message in the conversation.

For programs there is one API endpoint, ``/ask`` (question, optional history)
returning ``Answer.to_dict()``; see the README for a ``gradio_client`` example.

Nothing here retrieves or answers: this module only formats what the core
returns. Every piece of article or answer text is HTML-escaped before it is put
in the page.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import sys
import threading
import time
import unicodedata
from typing import Any, Iterable, Iterator, Mapping, Sequence

import gradio as gr

from .config import Settings
from .core import Assistant
from .errors import AssistantError, ConfigError, IndexNotFoundError, InvalidQuestionError
from .types import Answer, Passage

log = logging.getLogger(__name__)

#: simultaneous core calls (chat turns + ``/ask`` calls); others wait in Gradio's queue.
CONCURRENCY = 8
#: events the queue holds before it refuses new ones ("queue is full").
QUEUE_SIZE = 256
#: at most one streamed update per this many seconds (pieces arriving faster are merged).
STREAM_INTERVAL = 0.05
SHOWN_QUESTION_CHARS = 240  # a longer (rejected) question is shown cut in the conversation
CONTEXT_CHARS = 280      # paragraph context shown on each side of a quote in the sources panel
RELATED_SHOWN = 3        # related passages offered after an abstention
EXCERPT_CHARS = 320      # how much of a related passage the panel shows

# --- words of the page, in both languages --------------------------------------------------

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Assistant presse",
        "tagline": "Posez vos questions sur {n} articles, en français ou en anglais. "
                   "Chaque réponse cite ses sources.",
        "tagline_building": "Posez vos questions sur les articles, en français ou en anglais. "
                            "Chaque réponse cite ses sources.",
        "placeholder": "Posez votre question…",
        "send": "Envoyer",
        "clear": "Nouvelle conversation",
        "chat_label": "Conversation",
        "empty_chat": "Posez une question, ou essayez un exemple :",
        "sources": "Sources",
        "sources_empty": "Les passages cités dans les réponses apparaîtront ici, "
                         "avec un lien vers l'article complet.",
        "sources_for": "Pour : « {q} »",
        "related": "Lecture complémentaire",
        "related_intro": "Passages les plus proches :",
        "view": "Voir l'article",
        "close": "Fermer",
        "loading": "Chargement de l'article…",
        "view_failed": "Impossible d'afficher cet article.",
        "understood": "Question comprise :",
        "not_found": "Pas dans les articles",
        "thinking": "Recherche dans les articles…",
        "source_n": "Source {n}",
        "err_empty": "Votre message est vide : écrivez une question sur les articles.",
        "err_too_long": "Votre question fait {n} caractères ; la limite est de {max}. "
                        "Raccourcissez-la et renvoyez-la.",
        "err_no_words": "Votre message ne contient aucun mot. Posez une question sur les articles.",
        "err_control": "Votre message contient des caractères de contrôle ; tapez-le en texte simple.",
        "err_invalid": "Je ne peux pas traiter cette question : {detail}",
        "err_internal": "Une erreur inattendue s'est produite ; elle a été consignée. "
                        "Réessayez dans un instant.",
        "err_building": "L'index est en cours de construction ; réessayez dans quelques secondes.",
        "err_failed": "L'index n'a pas pu être construit : {detail}",
        "building": "Construction de l'index… (premier démarrage seulement, environ une minute ; "
                    "{s} s écoulées)",
        "note": "Note : {text}",
    },
    "en": {
        "title": "News assistant",
        "tagline": "Ask about {n} articles, in French or English. Every answer cites its sources.",
        "tagline_building": "Ask about the articles, in French or English. "
                            "Every answer cites its sources.",
        "placeholder": "Ask your question…",
        "send": "Send",
        "clear": "New conversation",
        "chat_label": "Conversation",
        "empty_chat": "Ask a question, or try an example:",
        "sources": "Sources",
        "sources_empty": "The passages the answers cite will appear here, "
                         "with a link to the whole article.",
        "sources_for": "For: “{q}”",
        "related": "Related reading",
        "related_intro": "Closest passages:",
        "view": "View the article",
        "close": "Close",
        "loading": "Loading the article…",
        "view_failed": "This article cannot be shown.",
        "understood": "Understood as:",
        "not_found": "Not in the articles",
        "thinking": "Searching the articles…",
        "source_n": "Source {n}",
        "err_empty": "Your message is empty: type a question about the articles.",
        "err_too_long": "Your question is {n} characters long; the limit is {max}. "
                        "Please shorten it and send it again.",
        "err_no_words": "Your message has no words in it. Ask a question about the articles.",
        "err_control": "Your message contains control characters; type it as plain text.",
        "err_invalid": "I can't handle this question: {detail}",
        "err_internal": "Something went wrong on our side; it has been logged. "
                        "Please try again in a moment.",
        "err_building": "The index is still being built; try again in a few seconds.",
        "err_failed": "The index could not be built: {detail}",
        "building": "Building the index… (first start only, about a minute; {s} s so far)",
        "note": "Note: {text}",
    },
}

#: example questions; each is shown only when its keyword occurs in the indexed articles,
#: so another corpus does not get examples about this one.
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "fr": [
        ("Combien vaut l'accord entre OpenAI et AWS ?", "AWS"),
        ("Quelle puissance de calcul OpenAI va-t-il déployer avec AMD ?", "AMD"),
        ("Pourquoi OpenAI ne dépend-il plus seulement de Microsoft ?", "Microsoft"),
    ],
    "en": [
        ("How much is the AWS deal worth?", "AWS"),
        ("What will OpenAI build with Broadcom?", "Broadcom"),
        ("Where is the Oracle data center OpenAI wants to rent?", "Oracle"),
    ],
}


def t(lang: str, key: str, **kw: Any) -> str:
    """The page's text ``key`` in ``lang`` (``fr`` or ``en``; anything else is English)."""
    text = STRINGS.get(lang, STRINGS["en"])[key]
    return text.format(**kw) if kw else text


def browser_language(accept_language: str | None) -> str:
    """``fr`` or ``en`` from an ``Accept-Language`` header (English when neither is asked)."""
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in ("fr", "en"):
            continue
        q = 1.0
        m = re.search(r"q=([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


# --- HTML formatting (all text escaped) ------------------------------------------------

def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _squash(text: str) -> str:
    """Whitespace runs to one space (keeps a leading/trailing space as one space)."""
    return re.sub(r"\s+", " ", text)


def _cite_id(turn: int, n: int) -> str:
    return f"qa-src-{turn}-{n}"


def _related_id(turn: int, i: int) -> str:
    return f"qa-rel-{turn}-{i}"


def paragraph_context(text: str, start: int, end: int, max_side: int = CONTEXT_CHARS) -> str:
    """``text[start:end]`` highlighted inside its paragraph (at most ``max_side`` chars each side)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    p_start = text.rfind("\n\n", 0, start)
    p_start = 0 if p_start < 0 else p_start + 2
    p_end = text.find("\n\n", end)
    p_end = len(text) if p_end < 0 else p_end
    before, quote, after = text[p_start:start], text[start:end], text[end:p_end]
    before, after = before.lstrip(), after.rstrip()
    if len(before) > max_side:
        cut = before[-max_side:]
        cut = cut.split(" ", 1)[1] if " " in cut else cut
        before = "…" + cut
    if len(after) > max_side:
        cut = after[:max_side]
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
        after = cut + "…"
    return (f'{esc(_squash(before))}<mark class="qa-quote">{esc(_squash(quote).strip())}</mark>'
            f'{esc(_squash(after))}')


def article_html(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The whole article, escaped, with ``spans`` wrapped in ``<mark>`` (overlaps merged).

    Newlines are kept (the viewer uses ``white-space: pre-line``); the first mark has
    ``id="qa-hl"`` so the page can scroll it into view.
    """
    merged: list[list[int]] = []
    for s, e in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for i, (s, e) in enumerate(merged):
        out.append(esc(_tidy_newlines(text[pos:s])))
        attrs = ' id="qa-hl"' if i == 0 else ""
        out.append(f'<mark class="qa-hl"{attrs}>{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(_tidy_newlines(text[pos:])))
    return "".join(out).strip()


def _tidy_newlines(text: str) -> str:
    return re.sub(r"\n\s*\n(\s*\n)+", "\n\n", text)


_MARKER = re.compile(r"\[(\d+)\]")


def answer_html(answer: Answer, turn: int) -> str:
    """The final answer as one HTML block for the conversation.

    It is a single ``<div>`` with no blank line, so the chat's Markdown renderer
    passes it through as HTML and never interprets the article's text as Markdown.
    """
    lang = answer.language
    by_number = {c.number: c for c in answer.citations}
    parts: list[str] = []
    if answer.understood_question:
        parts.append(f'<p class="qa-understood"><span>{esc(t(lang, "understood"))}</span> '
                     f'{esc(answer.understood_question)}</p>')
    if answer.abstained:
        parts.append(f'<p class="qa-badge">{esc(t(lang, "not_found"))}</p>')

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        c = by_number.get(n)
        if c is None:
            return m.group(0)
        return (f'<a class="qa-cite" href="#{_cite_id(turn, n)}" data-turn="{turn}" data-n="{n}" '
                f'title="{esc(c.title)}" aria-label="{esc(t(lang, "source_n", n=n))}">[{n}]</a>')

    for line in answer.text.splitlines():
        if line.strip():
            parts.append(f"<p>{_MARKER.sub(link, esc(line))}</p>")
    if answer.abstained and answer.related:
        items = []
        for i, p in enumerate(related_passages(answer.related)):
            items.append(f'<li><a class="qa-cite qa-rel-link" href="#{_related_id(turn, i)}" '
                         f'data-turn="{turn}">{esc(p.title)}</a></li>')
        parts.append(f'<p class="qa-rel-intro">{esc(t(lang, "related_intro"))}</p>'
                     f'<ul class="qa-rel-list">{"".join(items)}</ul>')
    for notice in answer.notices:
        parts.append(f'<p class="qa-notice">{esc(t(lang, "note", text=notice))}</p>')
    classes = "qa-answer qa-abstained" if answer.abstained else "qa-answer"
    return f'<div class="{classes}" lang="{esc(lang)}">{"".join(parts)}</div>'


def streaming_html(text: str, lang: str) -> str:
    """The answer while it streams in (markers not yet linked)."""
    if not text:
        return (f'<div class="qa-answer qa-thinking" lang="{esc(lang)}"><p>'
                f'<span class="qa-dots" aria-hidden="true"><i></i><i></i><i></i></span> '
                f'{esc(t(lang, "thinking"))}</p></div>')
    pending = r'<span class="qa-cite-pending">[\1]</span>'
    lines = "".join("<p>" + _MARKER.sub(pending, esc(line)) + "</p>"
                    for line in text.splitlines() if line.strip())
    return f'<div class="qa-answer qa-streaming" lang="{esc(lang)}">{lines}<span class="qa-caret"></span></div>'


def question_html(text: str) -> str:
    """The user's question as typed (escaped: never read as Markdown or HTML)."""
    return f'<div class="qa-question">{esc(text)}</div>'


def message_html(text: str, kind: str = "error") -> str:
    """A notice in the conversation (bad input, index building, failure)."""
    return f'<div class="qa-answer qa-{esc(kind)}" role="status"><p>{esc(text)}</p></div>'


def related_passages(passages: Sequence[Passage], limit: int = RELATED_SHOWN) -> list[Passage]:
    """The first ``limit`` passages, skipping any that overlap one already kept."""
    kept: list[Passage] = []
    for p in passages:
        if any(k.article_id == p.article_id and p.start < k.end and k.start < p.end for k in kept):
            continue
        kept.append(p)
        if len(kept) >= limit:
            break
    return kept


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _view_button(lang: str, article_id: str, start: int, end: int) -> str:
    return (f'<button type="button" class="qa-view" data-article="{esc(article_id)}" '
            f'data-start="{int(start)}" data-end="{int(end)}" data-lang="{esc(lang)}" '
            f'data-loading="{esc(t(lang, "loading"))}" data-failed="{esc(t(lang, "view_failed"))}" '
            f'data-close="{esc(t(lang, "close"))}">{esc(t(lang, "view"))}</button>')


def sources_section(answer: Answer, turn: int, article_text: Mapping[str, str]) -> str:
    """The sources panel's part for one answer: citations, or related reading after an
    abstention (folded; ``sources_panel`` unfolds the newest)."""
    lang = answer.language
    cards: list[str] = []
    if answer.citations:
        heading = t(lang, "sources")
        for c in answer.citations:
            text = article_text.get(c.article_id)
            body = (paragraph_context(text, c.start, c.end) if text is not None
                    else f'<mark class="qa-quote">{esc(_squash(c.quote).strip())}</mark>')
            cards.append(
                f'<article class="qa-src" id="{_cite_id(turn, c.number)}" data-article="{esc(c.article_id)}" '
                f'data-start="{c.start}" data-end="{c.end}">'
                f'<header><span class="qa-num">{c.number}</span>'
                f'<h4 class="qa-title">{esc(c.title)}</h4></header>'
                f'<blockquote class="qa-context">{body}</blockquote>'
                f'{_view_button(lang, c.article_id, c.start, c.end)}</article>')
    elif answer.related:
        heading = t(lang, "related")
        for i, p in enumerate(related_passages(answer.related)):
            cards.append(
                f'<article class="qa-src qa-related" id="{_related_id(turn, i)}" '
                f'data-article="{esc(p.article_id)}" data-start="{p.start}" data-end="{p.end}">'
                f'<header><h4 class="qa-title">{esc(p.title)}</h4></header>'
                f'<blockquote class="qa-context">{esc(_excerpt(p.text))}</blockquote>'
                f'{_view_button(lang, p.article_id, p.start, p.end)}</article>')
    else:
        return ""
    question = answer.understood_question or answer.question
    return (f'<details class="qa-turn" data-turn="{turn}" lang="{esc(lang)}">'
            f'<summary><span class="qa-turn-h">{esc(heading)}</span> '
            f'<span class="qa-turn-q">{esc(t(lang, "sources_for", q=_excerpt(question, 90)))}</span></summary>'
            f'<div class="qa-cards">{"".join(cards)}</div></details>')


def sources_panel(sections: Sequence[str], lang: str) -> str:
    """The whole panel: newest answer's sources first (open), older ones folded."""
    shown = [s for s in sections if s]
    if not shown:
        return (f'<div class="qa-sources" data-lang="{esc(lang)}"><h3 class="qa-panel-h">{esc(t(lang, "sources"))}</h3>'
                f'<p class="qa-sources-empty">{esc(t(lang, "sources_empty"))}</p></div>')
    newest, *older = reversed(shown)
    newest = newest.replace('<details class="qa-turn"', '<details open class="qa-turn"', 1)
    return f'<div class="qa-sources" data-lang="{esc(lang)}">{newest}{"".join(older)}</div>'


def empty_chat_html(lang: str) -> str:
    return f'<div class="qa-empty" lang="{esc(lang)}"><p>{esc(t(lang, "empty_chat"))}</p></div>'


def header_html(lang: str, n_articles: int | None, status: str = "") -> str:
    tagline = t(lang, "tagline", n=n_articles) if n_articles else t(lang, "tagline_building")
    banner = f'<p class="qa-status" role="status">{esc(status)}</p>' if status else ""
    return (f'<div class="qa-header" lang="{esc(lang)}"><h1>{esc(t(lang, "title"))}</h1>'
            f'<p class="qa-tagline">{esc(tagline)}</p>{banner}</div>')


def error_text(exc: AssistantError, question: Any, lang: str, max_chars: int) -> str:
    """A clear, localised message for an error the core raised on purpose."""
    if isinstance(exc, InvalidQuestionError):
        reason = getattr(exc, "reason", None) or _invalid_reason(question, max_chars)
        if reason == "empty":
            return t(lang, "err_empty")
        if reason == "too_long":
            n = len(" ".join(str(question).split()))
            return t(lang, "err_too_long", n=n, max=max_chars)
        if reason == "no_words":
            return t(lang, "err_no_words")
        if reason == "control":
            return t(lang, "err_control")
        return t(lang, "err_invalid", detail=str(exc))
    return t(lang, "err_invalid", detail=str(exc))


def _invalid_reason(question: Any, max_chars: int) -> str:
    # Only picks which message to show; the core has already decided the question is invalid.
    if not isinstance(question, str):
        return "other"
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in question):
        return "control"
    q = " ".join(question.split())
    if not q:
        return "empty"
    if len(q) > max_chars:
        return "too_long"
    if not any(ch.isalnum() for ch in q):
        return "no_words"
    return "other"


# --- the assistant, or its loading state ------------------------------------------------

class _Backend:
    """Holds the process's one ``Assistant``, possibly while its index is being built."""

    def __init__(self, qa: Assistant | None = None, settings: Settings | None = None) -> None:
        self.qa = qa
        self.settings = settings or (qa.settings if qa is not None else Settings.load())
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self._example_cache: dict[str, list[str]] | None = None
        self.done = threading.Event()
        if qa is not None:
            self.done.set()

    def build_in_background(self) -> threading.Thread:
        def work() -> None:
            try:
                self.qa = Assistant.load_or_build(self.settings, progress=True)
                print("index ready; the chat can answer now", file=sys.stderr, flush=True)
                self.warm_up()
            except BaseException as exc:  # reported in the page and by launch()
                log.exception("building the index failed")
                self.error = exc
            finally:
                self.done.set()

        thread = threading.Thread(target=work, name="assistant-index-build", daemon=True)
        thread.start()
        return thread

    def warm_up(self) -> None:
        """Answer one question in the background, so the first visitor does not pay for
        the model's first call (about a second)."""
        qa = self.qa
        if qa is None:
            return

        def work() -> None:
            try:
                qa.ask("OpenAI ?")
            except Exception:  # only a warm-up
                log.debug("warm-up question failed", exc_info=True)

        threading.Thread(target=work, name="assistant-warm-up", daemon=True).start()

    @property
    def ready(self) -> bool:
        return self.qa is not None

    def elapsed(self) -> int:
        return int(time.monotonic() - self.started)

    def unavailable(self, lang: str) -> str | None:
        """Why the assistant cannot answer yet (a message), or None when it can."""
        if self.qa is not None:
            return None
        if self.error is not None:
            return t(lang, "err_failed", detail=str(self.error))
        return t(lang, "err_building")

    def article_texts(self, ids: Iterable[str]) -> dict[str, str]:
        out = {}
        if self.qa is None:
            return out
        for aid in set(ids):
            try:
                out[aid] = self.qa.article(aid).text
            except KeyError:
                pass
        return out

    def examples(self, lang: str) -> list[str]:
        """Example questions in ``lang`` about subjects the indexed articles cover."""
        candidates = EXAMPLES.get(lang, EXAMPLES["en"])
        if self.qa is None:
            return [q for q, _ in candidates]
        if self._example_cache is None:
            corpus = " ".join(a.title + " " + a.text for a in self.qa.articles)
            self._example_cache = {
                code: [q for q, key in pairs if key in corpus] for code, pairs in EXAMPLES.items()}
        return list(self._example_cache.get(lang, self._example_cache["en"]))

    def n_articles(self) -> int | None:
        return len(self.qa.articles) if self.qa is not None else None


# --- the page ------------------------------------------------------------------------------

CSS = """
.gradio-container .main.app { max-width: 1240px !important; }
.gradio-container footer { opacity: .6; }
#qa-header .qa-header { padding: 4px 4px 0; }
#qa-header .qa-header h1 { font-size: 1.5rem; font-weight: 700; margin: 0 0 2px; letter-spacing: -0.01em;
  line-height: 1.25; }
#qa-header .qa-tagline { margin: 0; color: var(--body-text-color-subdued); font-size: .95rem; line-height: 1.4; }
#qa-header .qa-status { margin: 8px 0 0; padding: 8px 12px; border-radius: 8px; background: #fff7e0;
  color: #6b4e00; border: 1px solid #f0d68a; font-size: .92rem; }
#qa-header .qa-status::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 8px;
  border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%;
  animation: qa-spin 1s linear infinite; vertical-align: -1px; }
@keyframes qa-spin { to { transform: rotate(360deg); } }
#qa-chat { border-radius: 12px; }
#qa-input textarea { font-size: 1rem; }
#qa-send { min-width: 96px; }
#qa-clear { width: auto !important; flex: none !important; align-self: flex-end; border: none !important;
  background: transparent !important; box-shadow: none !important; color: var(--body-text-color-subdued) !important;
  font-weight: 500; padding: 2px 6px !important; }
#qa-clear:hover { color: var(--color-accent, #2563eb) !important; text-decoration: underline; }
#qa-chat .qa-empty p { margin: 0; color: var(--body-text-color-subdued); font-size: 1rem; }
#qa-chat .qa-answer p { margin: 0 0 .45em; line-height: 1.5; }
#qa-chat .qa-answer p:last-child { margin-bottom: 0; }
#qa-chat .qa-understood { font-size: .86rem; color: var(--body-text-color-subdued); font-style: italic; }
#qa-chat .qa-understood span { font-style: normal; font-weight: 600; }
#qa-chat a.qa-cite { display: inline-block; min-width: 1.6em; padding: 0 .3em; margin-left: .1em; border-radius: 6px;
  background: var(--color-accent-soft, #e8effd); color: var(--color-accent, #2563eb) !important;
  font-weight: 600; font-size: .85em; text-decoration: none !important; line-height: 1.45; text-align: center;
  cursor: pointer; }
#qa-chat a.qa-cite:hover, #qa-chat a.qa-cite:focus { background: var(--color-accent, #2563eb); color: #fff !important; }
#qa-chat a.qa-rel-link { display: inline; min-width: 0; padding: 0; margin: 0; background: none; text-align: left;
  font-weight: 500; text-decoration: underline !important; }
#qa-chat a.qa-rel-link:hover { background: none; color: var(--color-accent, #2563eb) !important; }
#qa-chat .qa-cite-pending { color: var(--body-text-color-subdued); font-size: .85em; }
#qa-chat .qa-badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: .8rem; font-weight: 600;
  background: #fdecec; color: #a61b1b; border: 1px solid #f5c2c2; }
#qa-chat .qa-abstained { border-left: 3px solid #e8a0a0; padding-left: 10px; }
#qa-chat .qa-rel-intro { font-size: .9rem; font-weight: 600; margin-top: .6em; }
#qa-chat .qa-rel-list { margin: .2em 0 0 1.1em; padding: 0; font-size: .92rem; }
#qa-chat .qa-rel-list li { margin: .15em 0; }
#qa-chat .qa-error p { color: #8a3b00; }
#qa-chat .qa-error p::before { content: "⚠ "; }
#qa-chat .qa-info p { color: #6b4e00; }
#qa-chat .qa-notice { font-size: .85rem; color: var(--body-text-color-subdued); }
#qa-chat .qa-thinking p { color: var(--body-text-color-subdued); }
#qa-chat .qa-dots i { display: inline-block; width: 6px; height: 6px; margin-right: 3px; border-radius: 50%;
  background: currentColor; animation: qa-blink 1.2s infinite both; }
#qa-chat .qa-dots i:nth-child(2) { animation-delay: .2s; }
#qa-chat .qa-dots i:nth-child(3) { animation-delay: .4s; }
@keyframes qa-blink { 0%, 80%, 100% { opacity: .2; } 40% { opacity: 1; } }
#qa-chat .qa-caret { display: inline-block; width: .45em; height: 1em; background: currentColor; opacity: .45;
  vertical-align: text-bottom; animation: qa-blink 1s infinite; }
#qa-sources { max-height: min(700px, calc(100vh - 150px)); overflow-y: auto !important; padding-right: 6px;
  scrollbar-width: thin; }
#qa-sources .qa-panel-h { font-size: 1.05rem; font-weight: 700; margin: 4px 0 8px; }
#qa-sources .qa-sources-empty { color: var(--body-text-color-subdued); font-size: .93rem; padding: 14px;
  border: 1px dashed var(--border-color-primary); border-radius: 10px; margin: 0; }
#qa-sources .qa-turn { margin-bottom: 12px; }
#qa-sources .qa-turn > summary { cursor: pointer; list-style: none; padding: 4px 2px 8px; }
#qa-sources .qa-turn > summary::-webkit-details-marker { display: none; }
#qa-sources .qa-turn > summary::before { content: "▸"; display: inline-block; width: 1em;
  color: var(--body-text-color-subdued); transition: transform .15s; }
#qa-sources .qa-turn[open] > summary::before { transform: rotate(90deg); }
#qa-sources .qa-turn-h { font-size: 1.05rem; font-weight: 700; }
#qa-sources .qa-turn-q { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden;
  margin-left: 1em; font-size: .85rem; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
#qa-sources .qa-src { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  margin-bottom: 10px; background: var(--background-fill-primary); scroll-margin: 12px; overflow-wrap: anywhere; }
#qa-sources .qa-src header { display: flex; gap: 8px; align-items: baseline; }
#qa-sources .qa-num { flex: none; display: inline-flex; align-items: center; justify-content: center;
  width: 1.6em; height: 1.6em; border-radius: 6px; background: var(--color-accent, #2563eb); color: #fff;
  font-weight: 700; font-size: .82rem; }
#qa-sources .qa-title { margin: 0; font-size: .95rem; font-weight: 600; line-height: 1.35; }
#qa-sources .qa-context { margin: 8px 0 10px; padding: 0 0 0 10px; border-left: 3px solid var(--border-color-primary);
  font-size: .9rem; line-height: 1.5; color: var(--body-text-color); font-style: normal; }
#qa-sources .qa-context mark { background: #fff1a8; color: inherit; padding: 0 1px; border-radius: 2px; }
#qa-sources .qa-view { font-size: .85rem; font-weight: 600; padding: 5px 12px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  color: var(--body-text-color); }
#qa-sources .qa-view:hover { border-color: var(--color-accent, #2563eb); color: var(--color-accent, #2563eb); }
@keyframes qa-flash-kf { 0% { box-shadow: 0 0 0 3px var(--color-accent, #2563eb); }
  100% { box-shadow: 0 0 0 0 transparent; } }
#qa-sources .qa-flash { animation: qa-flash-kf 1.6s ease-out; }
#qa-viewer { width: min(820px, 94vw); max-height: 88vh; padding: 0; border: none; border-radius: 14px;
  box-shadow: 0 20px 60px rgba(0,0,0,.3); display: none; flex-direction: column;
  background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111); }
#qa-viewer[open] { display: flex; }
#qa-viewer::backdrop { background: rgba(15, 23, 42, .45); }
#qa-viewer .qa-viewer-head { display: flex; gap: 12px; align-items: flex-start; padding: 16px 20px 12px;
  border-bottom: 1px solid var(--border-color-primary, #ddd); }
#qa-viewer .qa-viewer-title { flex: 1; margin: 0; font-size: 1.15rem; line-height: 1.35; font-weight: 700; }
#qa-viewer .qa-viewer-close { flex: none; font-size: .9rem; font-weight: 600; padding: 6px 12px; border-radius: 8px;
  cursor: pointer; border: 1px solid var(--border-color-primary, #ccc);
  background: var(--background-fill-secondary, #f5f5f5); color: inherit; }
#qa-viewer .qa-viewer-body { overflow-y: auto; padding: 16px 20px 24px; white-space: pre-line; line-height: 1.6;
  font-size: 1rem; }
#qa-viewer .qa-hl { background: #ffe066; box-shadow: 0 0 0 2px #ffe066; border-radius: 2px; color: inherit; }
@media (max-width: 640px) {
  .gradio-container .main.app { padding-left: 10px !important; padding-right: 10px !important; }
  #qa-header .qa-header h1 { font-size: 1.25rem; }
  #qa-header .qa-tagline { font-size: .88rem; }
  #qa-chat { height: calc(100dvh - 230px) !important; min-height: 320px !important; }
  #qa-send { min-width: 92px !important; flex-grow: 0 !important; }
  #qa-input textarea::placeholder { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #qa-sources { max-height: none; overflow-y: visible !important; }
  #qa-viewer { width: 100vw; max-width: 100vw; height: 100dvh; max-height: 100dvh; border-radius: 0; margin: 0; }
  #qa-viewer .qa-viewer-body { font-size: .98rem; padding: 12px 16px 24px; }
}
"""

# Runs once when the sources panel mounts: links ``[n]`` markers to the panel and opens
# the article viewer (a <dialog>); the article comes from the ``article_view`` server function.
SOURCES_JS = r"""
const panel = element;
function viewer() {
  let d = document.getElementById('qa-viewer');
  if (d) return d;
  d = document.createElement('dialog');
  d.id = 'qa-viewer';
  d.setAttribute('aria-labelledby', 'qa-viewer-title');
  d.innerHTML = '<div class="qa-viewer-head"><h2 class="qa-viewer-title" id="qa-viewer-title"></h2>' +
    '<button type="button" class="qa-viewer-close"></button></div>' +
    '<div class="qa-viewer-body" tabindex="0"></div>';
  document.body.appendChild(d);
  d.querySelector('.qa-viewer-close').addEventListener('click', () => d.close());
  d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
  return d;
}
async function openArticle(btn) {
  const d = viewer();
  const lang = btn.dataset.lang || 'en';
  const title = d.querySelector('.qa-viewer-title');
  const body = d.querySelector('.qa-viewer-body');
  const close = d.querySelector('.qa-viewer-close');
  title.textContent = '';
  body.textContent = btn.dataset.loading || '\u2026';
  close.textContent = btn.dataset.close || '\u00d7';
  d.setAttribute('lang', lang);
  if (!d.open) d.showModal();
  try {
    const res = await server.article_view({article_id: btn.dataset.article,
      start: Number(btn.dataset.start), end: Number(btn.dataset.end), lang: lang});
    title.textContent = res.title;
    close.textContent = res.close;
    body.innerHTML = res.html;  // escaped by the server
    const mark = body.querySelector('#qa-hl');
    if (mark) {
      mark.scrollIntoView({block: 'center'});
      body.focus({preventScroll: true});
    }
  } catch (err) {
    body.textContent = btn.dataset.failed || '';
  }
}
panel.addEventListener('click', (e) => {
  const btn = e.target.closest('button.qa-view');
  if (btn) { e.preventDefault(); openArticle(btn); }
});
if (!window.__qaCiteLinks) {
  window.__qaCiteLinks = true;
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a.qa-cite');
    if (!a) return;
    const id = (a.getAttribute('href') || '').replace(/^#/, '');
    const card = id && document.getElementById(id);
    e.preventDefault();
    e.stopPropagation();
    if (!card) return;
    const section = card.closest('details');
    if (section) section.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    card.classList.remove('qa-flash');
    void card.offsetWidth;
    card.classList.add('qa-flash');
    const btn = card.querySelector('button.qa-view');
    if (btn) btn.focus({preventScroll: true});
  }, true);
}
"""


def _theme():
    return gr.themes.Soft(
        primary_hue="blue",
        neutral_hue="slate",
        font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def build_app(qa: Assistant) -> gr.Blocks:
    """The chat for an already loaded ``Assistant`` (see the module docstring)."""
    return _build_app(_Backend(qa))


def _build_app(backend: _Backend) -> gr.Blocks:
    max_chars = backend.settings.max_question_chars

    def examples_for(lang: str) -> list[dict[str, str]]:
        return [{"text": q} for q in backend.examples(lang)]

    def ui_updates(lang: str, status: str = "") -> tuple:
        """Everything whose words depend on the language (header, input, buttons, chat)."""
        return (
            header_html(lang, backend.n_articles(), status),
            gr.update(placeholder=t(lang, "placeholder")),
            gr.update(value=t(lang, "send")),
            gr.update(value=t(lang, "clear")),
        )

    # The first paint follows the browser's language through Gradio's i18n (no flash of
    # English); after that, Python sends literal texts in the question's language.
    n = backend.n_articles()
    i18n = gr.I18n(**{lang: {"header": header_html(lang, n), "placeholder": t(lang, "placeholder"),
                             "send": t(lang, "send"), "clear": t(lang, "clear"),
                             "empty_chat": empty_chat_html(lang), "sources": sources_panel([], lang)}
                      for lang in STRINGS})

    with gr.Blocks(title="Assistant presse · News assistant", analytics_enabled=False,
                   fill_width=False) as demo:
        lang_state = gr.State("en")
        turns_state = gr.State([])   # [{"q": question, "a": answer text, "sources": html}, ...]
        header = gr.HTML(i18n("header"), elem_id="qa-header", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat", label=t("en", "chat_label"), show_label=False,
                    height="min(620px, calc(100vh - 250px))", min_height=360,
                    layout="bubble", buttons=[], feedback_options=None,
                    latex_delimiters=[], sanitize_html=True, render_markdown=True,
                    placeholder=i18n("empty_chat"), examples=None, autoscroll=True,
                    group_consecutive_messages=False,
                )
                with gr.Row(equal_height=True, elem_id="qa-input-row"):
                    textbox = gr.Textbox(
                        elem_id="qa-input", show_label=False, placeholder=i18n("placeholder"),
                        lines=1, max_lines=5, scale=8, container=False, autofocus=True,
                        submit_btn=False,
                    )
                    send = gr.Button(i18n("send"), variant="primary", scale=1, min_width=96,
                                     elem_id="qa-send")
                clear = gr.Button(i18n("clear"), variant="secondary", size="sm", elem_id="qa-clear")
            with gr.Column(scale=2, min_width=280):
                sources = gr.HTML(i18n("sources"), elem_id="qa-sources", js_on_load=SOURCES_JS,
                                  server_functions=[_article_view_fn(backend)], apply_default_css=True)
        timer = gr.Timer(1.0, active=not backend.done.is_set())

        # -- answering ----------------------------------------------------------------
        def respond(message: Any, chat: list, turns: list, lang: str) -> Iterator[tuple]:
            chat = list(chat or [])
            turns = list(turns or [])
            question = message if isinstance(message, str) else ""
            skip = gr.skip()
            shown_question = question.strip()
            if len(shown_question) > SHOWN_QUESTION_CHARS:
                shown_question = shown_question[:SHOWN_QUESTION_CHARS].rstrip() + "…"
            if shown_question:
                chat.append({"role": "user", "content": question_html(shown_question)})

            def fail(text: str, kind: str = "error") -> tuple:
                chat.append({"role": "assistant", "content": message_html(text, kind)})
                return (chat, skip, turns, lang, "", skip, skip, skip)

            waiting = backend.unavailable(lang)
            if waiting is not None:
                yield fail(waiting, "info" if backend.error is None else "error")
                return
            qa = backend.qa
            history = [(tq["q"], tq["a"]) for tq in turns]
            chat.append({"role": "assistant", "content": streaming_html("", lang)})
            yield (chat, skip, turns, lang, "", skip, skip, skip)
            text = ""
            answer: Answer | None = None
            last_sent = 0.0
            try:
                for piece in qa.stream(question, history or None):
                    if isinstance(piece, Answer):
                        answer = piece
                        break
                    text += piece
                    # Each update costs Gradio ~25 ms: pieces that come faster are sent together.
                    if time.monotonic() - last_sent >= STREAM_INTERVAL:
                        last_sent = time.monotonic()
                        chat[-1] = {"role": "assistant", "content": streaming_html(text, lang)}
                        yield (chat, skip, turns, lang, skip, skip, skip, skip)
            except AssistantError as exc:
                chat.pop()
                yield fail(error_text(exc, question, lang, max_chars))
                return
            except Exception:  # never a traceback in the page
                log.exception("answering %r failed", question)
                chat.pop()
                yield fail(t(lang, "err_internal"))
                return
            if answer is None:  # pragma: no cover - the core always ends with an Answer
                chat.pop()
                yield fail(t(lang, "err_internal"))
                return
            turn = len(turns)
            lang = answer.language if answer.language in STRINGS else lang
            chat[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
            ids = [c.article_id for c in answer.citations] or [p.article_id for p in answer.related]
            section = sources_section(answer, turn, backend.article_texts(ids))
            turns.append({"q": answer.question, "a": answer.text, "sources": section})
            panel = sources_panel([x["sources"] for x in turns], lang)
            head, box, send_u, clear_u = ui_updates(lang)
            yield (chat, panel, turns, lang, box, head, send_u, clear_u)

        outputs = [chatbot, sources, turns_state, lang_state, textbox, header, send, clear]
        inputs = [textbox, chatbot, turns_state, lang_state]
        event_kwargs = dict(outputs=outputs, concurrency_limit=CONCURRENCY, concurrency_id="assistant",
                            api_visibility="private", show_progress="hidden")
        textbox.submit(respond, inputs, **event_kwargs)
        send.click(respond, inputs, **event_kwargs)

        def respond_example(evt: gr.SelectData, chat: list, turns: list, lang: str) -> Iterator[tuple]:
            value = evt.value
            question = value.get("text", "") if isinstance(value, dict) else str(value or "")
            yield from respond(question, chat, turns, lang)

        chatbot.example_select(respond_example, [chatbot, turns_state, lang_state], **event_kwargs)

        def clear_all(lang: str) -> tuple:
            return (gr.update(value=[], examples=examples_for(lang), placeholder=empty_chat_html(lang)),
                    sources_panel([], lang), [],
                    gr.update(value="", placeholder=t(lang, "placeholder")))

        clear.click(clear_all, [lang_state], [chatbot, sources, turns_state, textbox],
                    api_visibility="private", queue=False, show_progress="hidden")
        chatbot.clear(clear_all, [lang_state], [chatbot, sources, turns_state, textbox],
                      api_visibility="private", queue=False, show_progress="hidden")

        # -- the page's language before any question: the browser's ----------------------
        def on_load(request: gr.Request) -> tuple:
            lang = browser_language(request.headers.get("accept-language") if request else None)
            status = "" if backend.done.is_set() else t(lang, "building", s=backend.elapsed())
            head, box, send_u, clear_u = ui_updates(lang, status)
            return (lang, head, box, send_u, clear_u,
                    gr.update(examples=examples_for(lang), placeholder=empty_chat_html(lang)),
                    sources_panel([], lang))

        demo.load(on_load, None, [lang_state, header, textbox, send, clear, chatbot, sources],
                  api_visibility="private", queue=False, show_progress="hidden")

        # -- while the index is being built: a visible state, polled once a second ----------
        def poll(lang: str) -> tuple:
            if not backend.done.is_set():
                return (header_html(lang, None, t(lang, "building", s=backend.elapsed())), gr.skip(),
                        gr.skip())
            if backend.error is not None:
                return (header_html(lang, None, t(lang, "err_failed", detail=str(backend.error))),
                        gr.update(examples=[]), gr.Timer(active=False))
            return (header_html(lang, backend.n_articles()), gr.update(examples=examples_for(lang)),
                    gr.Timer(active=False))

        timer.tick(poll, [lang_state], [header, chatbot, timer], api_visibility="private",
                   show_progress="hidden")

        # -- for programs: /ask -----------------------------------------------------------
        def ask(question: str, history: list | None = None) -> dict:
            """Answer a question about the articles.

            Returns the core's ``Answer.to_dict()``: ``text`` with ``[n]`` markers,
            ``citations`` (number, article_id, title, quote, start, end, score),
            ``abstained``, ``language``, ``related``, ``understood_question``...
            ``history`` (optional) lists the previous questions, oldest first (or
            ``[question, answer]`` pairs, or ``{"role", "content"}`` messages).
            """
            why = backend.unavailable("en")
            if why is not None:
                raise gr.Error(why, print_exception=False)
            try:
                return backend.qa.ask(question, history=history or None).to_dict()
            except AssistantError as exc:  # the caller's mistake: a message, no server traceback
                raise gr.Error(str(exc), print_exception=False) from None

        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="assistant")

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    _with_page_assets(demo, i18n)
    return demo


def _article_view_fn(backend: _Backend):
    def article_view(data: Any) -> dict:
        """The whole article with one span highlighted, for the page's article viewer."""
        data = data if isinstance(data, dict) else {}
        lang = data.get("lang") if data.get("lang") in STRINGS else "en"
        try:
            start, end = int(data.get("start", 0)), int(data.get("end", 0))
        except (TypeError, ValueError):
            start = end = 0
        qa = backend.qa
        try:
            if qa is None:
                raise KeyError("not ready")
            art = qa.article(str(data.get("article_id", "")))
        except KeyError:
            return {"title": t(lang, "view_failed"), "html": "", "close": t(lang, "close")}
        return {"title": art.title, "html": article_html(art.text, [(start, end)]),
                "close": t(lang, "close"), "article_id": art.id}

    article_view.__name__ = "article_view"
    return article_view


def _with_page_assets(demo: gr.Blocks, i18n: "gr.I18n") -> None:
    """Make ``demo.launch()`` use this page's theme, CSS and footer unless told otherwise.

    Gradio 6 takes these at ``launch()``; wrapping it keeps ``build_app(qa).launch(...)``
    (as tests do) looking like ``assistant chat``.
    """
    original = demo.launch

    @functools.wraps(original)
    def launch(*args: Any, **kwargs: Any):
        kwargs.setdefault("i18n", i18n)
        kwargs.setdefault("theme", _theme())
        # a raw <style> in <head>: Gradio rewrites ``css=`` to apply inside the app only, but
        # the article viewer lives in <body> and the phone layout adjusts the app's padding.
        kwargs.setdefault("head", f"<style>{CSS}</style>")
        kwargs.setdefault("footer_links", ["api"])
        kwargs.setdefault("run_history", False)
        kwargs.setdefault("share", False)
        return original(*args, **kwargs)

    demo.launch = launch  # type: ignore[method-assign]


# --- the CLI's entry point -----------------------------------------------------------------

def launch(settings: Settings | None = None, *, share: bool = False, block: bool = True) -> gr.Blocks:
    """Serve the chat on ``settings.host:settings.port`` and block until Ctrl+C.

    Opens the index once for the process; when there is none yet, the page opens at
    once with a "building the index…" state while it is built (progress in the
    terminal), and answers as soon as it is ready. With ``block=False`` it returns
    the running ``gr.Blocks`` at once (call ``.close()`` to stop it).
    """
    settings = settings or Settings.load()
    try:
        backend = _Backend(Assistant.load(settings=settings), settings)
        backend.warm_up()
    except IndexNotFoundError:
        print(f"no index at {settings.index_dir}: building it from {settings.corpus_dir} "
              "(first start only); the chat opens meanwhile", file=sys.stderr, flush=True)
        backend = _Backend(None, settings)
        backend.build_in_background()
    demo = _build_app(backend)
    demo.backend = backend  # type: ignore[attr-defined]  # for tests and embedding programs
    try:
        demo.launch(server_name=settings.host, server_port=settings.port, share=bool(share),
                    prevent_thread_lock=True, inbrowser=False, show_error=False, quiet=True)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {settings.host}:{settings.port} ({exc}); "
                          "pass another --port or stop the program using it") from None
    print(f"chat open at {demo.local_url} (Ctrl+C to stop)", flush=True)
    if getattr(demo, "share_url", None):
        print(f"public link (anyone with it can use the chat): {demo.share_url}", flush=True)
    if not block:
        return demo
    try:
        backend.done.wait()
        if backend.error is not None:
            error = backend.error
            if isinstance(error, AssistantError):
                raise error
            raise AssistantError(f"building the index failed: {error}") from error
        while True:  # serve until Ctrl+C (KeyboardInterrupt)
            time.sleep(3600)
    finally:
        demo.close()

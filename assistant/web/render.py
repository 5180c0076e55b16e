"""HTML for the web chat: every string the page shows, in French and English, and
every piece of article, question or answer text escaped before it is put in the page.

Nothing here retrieves or answers; it only formats what the core returns. The page
has one interface language (the browser's, or the one the user picks); answers keep
their own language, since they quote the articles.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any, Iterable, Mapping, Sequence

from ..errors import AssistantError, InvalidQuestionError
from ..types import Answer, Passage

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
        "theme": "Thème clair ou sombre",
        "switch_lang": "English",
        "switch_lang_title": "Switch the page to English",
        "tab_sources": "Sources",
        "tab_articles": "Articles",
        "tab_history": "Conversations",
        "articles_search": "Chercher un article…",
        "articles_count": "Articles : {n}",
        "articles_none": "Aucun article ne correspond.",
        "open": "Lire",
        "chars": "{n} caractères",
        "focus_label": "Ne demander qu'à ces articles",
        "focus_info": "Aucun coché : tous les articles.",
        "focus_note": "Réponse limitée à {n} article(s) choisi(s).",
        "history_label": "Conversations précédentes",
        "history_empty": "(aucune)",
        "upload_label": "Ajouter des articles (.txt, .md, .html)",
        "upload_working": "Ajout et indexation de {names}… le chat continue de répondre.",
        "upload_done": "Ajouté : {names}. L'index est à jour ({n} articles).",
        "upload_rejected": "Refusé : {name} ({reason})",
        "upload_failed": "L'ajout a échoué : {detail}",
        "remove": "Retirer",
        "remove_done": "Retiré : {title}. L'index est à jour ({n} articles).",
        "copy": "Copier",
        "copied": "Copié",
        "export": "Exporter (Markdown)",
        "sources_list": "Sources",
        "counter": "{n} / {max}",
        "comment": "Un commentaire sur cette réponse ? (facultatif)",
        "comment_send": "Envoyer",
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
        "theme": "Light or dark theme",
        "switch_lang": "Français",
        "switch_lang_title": "Passer la page en français",
        "tab_sources": "Sources",
        "tab_articles": "Articles",
        "tab_history": "Conversations",
        "articles_search": "Search the articles…",
        "articles_count": "Articles: {n}",
        "articles_none": "No article matches.",
        "open": "Read",
        "chars": "{n} characters",
        "focus_label": "Ask only these articles",
        "focus_info": "None ticked: every article.",
        "focus_note": "Answer limited to {n} chosen article(s).",
        "history_label": "Past conversations",
        "history_empty": "(none)",
        "upload_label": "Add articles (.txt, .md, .html)",
        "upload_working": "Adding and indexing {names}… the chat keeps answering.",
        "upload_done": "Added: {names}. The index is up to date ({n} articles).",
        "upload_rejected": "Rejected: {name} ({reason})",
        "upload_failed": "Adding failed: {detail}",
        "remove": "Remove",
        "remove_done": "Removed: {title}. The index is up to date ({n} articles).",
        "copy": "Copy",
        "copied": "Copied",
        "export": "Export (Markdown)",
        "sources_list": "Sources",
        "counter": "{n} / {max}",
        "comment": "A comment on this answer? (optional)",
        "comment_send": "Send",
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


#: characters Markdown gives a meaning to, written as character references so that text
#: the chat's Markdown renderer sees stays text (``![x](http://…)`` is never an image).
_MARKDOWN_CHARS = {c: f"&#{ord(c)};" for c in "\\`*_[]()#!|~<>&\"'$"}
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def inert(text: Any, *, strip: bool = True) -> str:
    """``text`` as inert HTML: every HTML and Markdown character escaped, line breaks
    as ``<br>`` (never a blank line, which would end the HTML block and let the rest be
    read as Markdown). Runs of blank lines collapse to one break; ``strip=False`` keeps
    the spaces around a piece of a line."""
    lines = [line.strip() if strip else line for line in _LINE_BREAKS.split(str(text))]
    kept = [line for line in lines if line.strip()] if strip else lines
    return "<br>".join("".join(_MARKDOWN_CHARS.get(ch, ch) for ch in line) for line in kept)


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


def answer_html(answer: Answer, turn: int, lang: str | None = None) -> str:
    """The final answer as one HTML block for the conversation; labels in ``lang``
    (the page's language; default the answer's).

    It is a single ``<div>`` with no line break, and its text is ``inert``, so the
    chat's Markdown renderer passes it through as HTML and never reads it as Markdown.
    """
    lang = lang or answer.language
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
            pieces = _MARKER.split(line)  # text, number, text, number, ...
            out = "".join(inert(piece, strip=False) if i % 2 == 0 else link(_MARKER.match(f"[{piece}]"))
                          for i, piece in enumerate(pieces))
            parts.append(f"<p>{out}</p>")
    if answer.abstained and answer.related:
        items = []
        for i, p in enumerate(related_passages(answer.related)):
            items.append(f'<li><a class="qa-cite qa-rel-link" href="#{_related_id(turn, i)}" '
                         f'data-turn="{turn}"><span class="qa-rel-n">{i + 1}</span> {esc(p.title)}</a></li>')
        parts.append(f'<p class="qa-rel-intro">{esc(t(lang, "related_intro"))}</p>'
                     f'<ol class="qa-rel-list">{"".join(items)}</ol>')
    for notice in answer.notices:
        parts.append(f'<p class="qa-notice">{esc(t(lang, "note", text=notice))}</p>')
    # the chat's sanitiser drops data-* attributes: the page's script builds the copied
    # text from the answer itself (its text, then "[n] title" per citation)
    parts.append(f'<p class="qa-tools"><button type="button" class="qa-copy">'
                 f'{esc(t(lang, "copy"))}</button></p>')
    classes = "qa-answer qa-abstained" if answer.abstained else "qa-answer qa-hedged" if answer.hedged else "qa-answer"
    return f'<div class="{classes}" lang="{esc(answer.language)}">{"".join(parts)}</div>'


def answer_plain_text(answer: Answer) -> str:
    """What "copy" puts on the clipboard: the answer with its numbered citations and titles."""
    lines = [answer.text.strip()]
    if answer.citations:
        lines.append("")
        lines += [f"[{c.number}] {c.title} — « {' '.join(c.quote.split())} »" for c in answer.citations]
    return "\n".join(lines)


def conversation_markdown(turns: Sequence[Mapping[str, Any]], title: str) -> str:
    """A conversation as Markdown: each question, its answer and its numbered sources."""
    out = [f"# {title}", ""]
    for turn in turns:
        out += [f"## {' '.join(str(turn.get('q', '')).split())}", "", str(turn.get("copy") or turn.get("a", "")), ""]
    return "\n".join(out).rstrip() + "\n"


def streaming_html(text: str, lang: str) -> str:
    """The answer while it streams in (markers not yet linked)."""
    if not text:
        return (f'<div class="qa-answer qa-thinking" lang="{esc(lang)}"><p>'
                f'<span class="qa-dots" aria-hidden="true"><i></i><i></i><i></i></span> '
                f'{esc(t(lang, "thinking"))}</p></div>')
    def pending(line: str) -> str:
        pieces = _MARKER.split(line)
        return "".join(inert(piece, strip=False) if i % 2 == 0
                       else f'<span class="qa-cite-pending">&#91;{piece}&#93;</span>'
                       for i, piece in enumerate(pieces))

    lines = "".join("<p>" + pending(line) + "</p>" for line in text.splitlines() if line.strip())
    return f'<div class="qa-answer qa-streaming" lang="{esc(lang)}">{lines}<span class="qa-caret"></span></div>'


def question_html(text: str) -> str:
    """The user's question as typed, inert: never read as Markdown or HTML, whatever
    blank lines, links or images it holds."""
    return f'<div class="qa-question">{inert(text)}</div>'


def message_html(text: str, kind: str = "error") -> str:
    """A notice in the conversation (bad input, index building, failure)."""
    return f'<div class="qa-answer qa-{esc(kind)}" role="status"><p>{inert(text)}</p></div>'


def related_passages(passages: Sequence[Passage], limit: int = RELATED_SHOWN) -> list[Passage]:
    """The first ``limit`` passages, skipping any that overlap one already kept or repeat
    its title and text (the same article indexed twice)."""
    kept: list[Passage] = []
    for p in passages:
        if any(k.article_id == p.article_id and p.start < k.end and k.start < p.end for k in kept):
            continue
        if any(k.title == p.title and " ".join(k.text.split()) == " ".join(p.text.split()) for k in kept):
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


def _view_button(lang: str, article_id: str, start: int, end: int, label: str | None = None) -> str:
    return (f'<button type="button" class="qa-view" data-article="{esc(article_id)}" '
            f'data-start="{int(start)}" data-end="{int(end)}" data-lang="{esc(lang)}" '
            f'data-loading="{esc(t(lang, "loading"))}" data-failed="{esc(t(lang, "view_failed"))}" '
            f'data-close="{esc(t(lang, "close"))}">{esc(label or t(lang, "view"))}</button>')


def sources_section(answer: Answer, turn: int, article_text: Mapping[str, str],
                    lang: str | None = None) -> str:
    """The sources panel's part for one answer: citations, or related reading after an
    abstention (folded; ``sources_panel`` unfolds the newest). Labels in ``lang``."""
    lang = lang or answer.language
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
            start, end = p.highlight
            text = article_text.get(p.article_id)
            body = (paragraph_context(text, start, end) if text is not None and p.best_start is not None
                    else esc(_excerpt(p.text)))
            cards.append(
                f'<article class="qa-src qa-related" id="{_related_id(turn, i)}" '
                f'data-article="{esc(p.article_id)}" data-start="{start}" data-end="{end}">'
                f'<header><span class="qa-num">{i + 1}</span><h4 class="qa-title">{esc(p.title)}</h4></header>'
                f'<blockquote class="qa-context">{body}</blockquote>'
                f'{_view_button(lang, p.article_id, start, end)}</article>')
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
    theme = (f'<button type="button" id="qa-theme" class="qa-theme" title="{esc(t(lang, "theme"))}" '
             f'aria-label="{esc(t(lang, "theme"))}"><span aria-hidden="true">◐</span></button>')
    return (f'<div class="qa-header" lang="{esc(lang)}">{theme}<h1>{esc(t(lang, "title"))}</h1>'
            f'<p class="qa-tagline">{esc(tagline)}</p>{banner}</div>')


def _match(query: str, info: Mapping[str, Any]) -> bool:
    from ..text import fold

    words = fold(query).split()
    hay = fold(" ".join(str(v) for v in info.values()))
    return all(w in hay for w in words)


def articles_html(infos: Sequence[Mapping[str, Any]], lang: str, query: str = "") -> str:
    """The corpus as a list: title, language, date/outlet where known, length; each opens
    in the article viewer (the ``qa-view`` button, with no span to highlight)."""
    shown = [i for i in infos if _match(query, i)] if query.strip() else list(infos)
    items = []
    for info in shown:
        meta = [str(info.get("language", "")).upper()]
        meta += [str(info[k]) for k in ("date", "outlet", "source", "author") if info.get(k)]
        meta.append(t(lang, "chars", n=f"{int(info.get('chars', 0)):,}".replace(",", "\u202f")))
        items.append(
            f'<li class="qa-art" data-article="{esc(info["id"])}"><div class="qa-art-main">'
            f'<span class="qa-art-title">{esc(info["title"])}</span>'
            f'<span class="qa-art-meta">{esc(" · ".join(m for m in meta if m))}</span></div>'
            f'{_view_button(lang, str(info["id"]), 0, 0, label=t(lang, "open"))}</li>')
    count = f'<p class="qa-art-count">{esc(t(lang, "articles_count", n=len(shown)))}</p>'
    if not items:
        return f'<div class="qa-articles">{count}<p class="qa-sources-empty">{esc(t(lang, "articles_none"))}</p></div>'
    return f'<div class="qa-articles">{count}<ul class="qa-art-list">{"".join(items)}</ul></div>'


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



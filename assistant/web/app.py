"""The web chat: a thin Gradio adapter over ``Assistant`` (layout and handlers).

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

* answers stream into the conversation; ``[n]`` markers link to the Sources tab,
  where each source shows the article's title and the quote inside its paragraph;
  "view the article" opens the whole article with the quote highlighted;
* the Articles tab lists the corpus (searchable), opens any article, narrows the
  questions to ticked articles, and adds articles (uploads, indexed in the
  background while the chat keeps answering; the new index replaces the old in one
  swap, as it does when ``assistant index`` runs elsewhere: an index watcher);
* conversations are kept in the browser (``gr.BrowserState``), so a reload restores
  them; the Conversations tab reopens a past one;
* one interface language per page: the browser's, or the one picked with the
  FR/EN button; a question never changes it;
* light and dark (the system's setting, or the ◐ button), contrast checked;
* requests with a foreign ``Host`` or ``Origin`` are refused, bodies are size-limited.

For programs there is one API endpoint, ``/ask`` (question, optional history)
returning ``Answer.to_dict()``; see the README for a ``gradio_client`` example.
Formatting is in ``render.py``; the page's CSS and JS are in ``static/``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import logging
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import gradio as gr

from ..config import Settings
from ..core import Assistant
from ..errors import AssistantError, ConfigError, IndexMismatchError, IndexNotFoundError
from ..index import REBUILD_HINT, resolve
from ..types import Answer
from . import render
from .guard import RequestGuard, allowed_hosts
from .render import STRINGS, t

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: simultaneous core calls (chat turns + ``/ask`` calls); others wait in Gradio's queue.
CONCURRENCY = 8
#: events the queue holds before it refuses new ones ("queue is full").
QUEUE_SIZE = 256
#: at most one streamed update per this many seconds (pieces arriving faster are merged).
STREAM_INTERVAL = 0.05
#: how often the index watcher looks at ``index/current``.
WATCH_SECONDS = 2.0
#: conversation files offered to download are removed after this many seconds.
EXPORT_MAX_AGE_S = 3600
#: conversations and turns kept in the browser.
KEPT_CONVERSATIONS = 12
KEPT_TURNS = 40
#: uploads: files per request, bytes per file.
MAX_UPLOAD_FILES = 10


def _static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


# --- the assistant, or its loading state ------------------------------------------------

class _Backend:
    """Holds the process's one ``Assistant`` (possibly while its index is being built)
    and swaps it, in one assignment, for a new index version when one appears."""

    def __init__(self, qa: Assistant | None = None, settings: Settings | None = None) -> None:
        self.qa = qa
        self.settings = settings or (qa.settings if qa is not None else Settings.load())
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self._example_cache: tuple[str, dict[str, list[str]]] | None = None
        self.done = threading.Event()
        self._swap_lock = threading.Lock()
        self._library_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        if qa is not None:
            self.done.set()

    # -- building, warming, watching
    def build_in_background(self, rebuild: bool = False) -> threading.Thread:
        def work() -> None:
            try:
                self.qa = Assistant.load_or_build(self.settings, progress=True, rebuild=rebuild)
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
                first = qa.articles[0].title if qa.articles else "?"
                qa.ask(first)
            except Exception:  # only a warm-up
                log.debug("warm-up question failed", exc_info=True)

        threading.Thread(target=work, name="assistant-warm-up", daemon=True).start()

    def reload(self) -> bool:
        """Switch to the index version ``current`` points to, if it changed; True if so.
        A question being answered finishes on the version it started with."""
        with self._swap_lock:
            qa = self.qa
            if qa is None:
                return False
            try:
                fresh = qa.reloaded()
            except AssistantError as exc:  # a half-written or damaged version: keep serving
                log.warning("not switching to the new index: %s", exc)
                return False
            if fresh is qa:
                return False
            self.qa = fresh
            self._example_cache = None
            log.info("switched to index version %s", fresh.index_version)
            return True

    def watch(self, every: float = WATCH_SECONDS) -> threading.Thread:
        """Poll ``index/current`` and reload when another process (``assistant index``,
        ``assistant add``) has swapped in a new version."""
        if self._watcher is not None:
            return self._watcher

        def work() -> None:
            last = None
            while not self._stop.wait(every):
                if self.qa is None:
                    continue
                try:
                    now = str(resolve(self.settings.index_dir))
                except AssistantError:
                    continue
                if now != last:
                    last = now
                    self.reload()

        self._watcher = threading.Thread(target=work, name="assistant-index-watch", daemon=True)
        self._watcher.start()
        return self._watcher

    def stop(self) -> None:
        self._stop.set()

    # -- the corpus
    def add(self, files: Sequence[tuple[str, str]]):
        """Add uploaded files (checked, copied into the corpus, indexed), then switch."""
        with self._library_lock:
            report = Assistant.add_articles(list(files), self.settings)
            self.reload()
            return report

    def remove(self, article_id: str):
        with self._library_lock:
            report = Assistant.remove_article(article_id, self.settings)
            self.reload()
            return report

    # -- read access for the page
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

    def article_texts(self, qa: Assistant | None, ids: Sequence[str]) -> dict[str, str]:
        out = {}
        if qa is None:
            return out
        for aid in set(ids):
            try:
                out[aid] = qa.article(aid).text
            except KeyError:
                pass
        return out

    def infos(self) -> list[dict[str, Any]]:
        qa = self.qa
        if qa is None:
            return []
        if hasattr(qa, "article_infos"):
            return qa.article_infos()
        return [{"id": a.id, "title": a.title, "language": a.language, "chars": len(a.text)}
                for a in qa.articles]

    def examples(self, lang: str) -> list[str]:
        """Example questions in ``lang`` about subjects the indexed articles cover."""
        candidates = render.EXAMPLES.get(lang, render.EXAMPLES["en"])
        qa = self.qa
        if qa is None:
            return [q for q, _ in candidates]
        version = getattr(qa, "index_version", "")
        if self._example_cache is None or self._example_cache[0] != version:
            corpus = " ".join(a.title + " " + a.text for a in qa.articles)
            self._example_cache = (version, {
                code: [q for q, key in pairs if key in corpus] for code, pairs in render.EXAMPLES.items()})
        cache = self._example_cache[1]
        return list(cache.get(lang, cache["en"]))

    def n_articles(self) -> int | None:
        return len(self.qa.articles) if self.qa is not None else None


# --- the page ------------------------------------------------------------------------------

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


def _new_conversation() -> dict[str, Any]:
    return {"id": secrets.token_hex(6), "title": "", "chat": [], "turns": [], "updated": time.time()}


def _build_app(backend: _Backend) -> gr.Blocks:
    max_chars = backend.settings.max_question_chars

    def examples_for(lang: str) -> list[dict[str, str]]:
        return [{"text": q} for q in backend.examples(lang)]

    n = backend.n_articles()
    # The first paint follows the browser's language through Gradio's i18n (no flash of
    # English); after that, Python sends literal texts in the page's language.
    i18n = gr.I18n(**{lang: {"header": render.header_html(lang, n), "placeholder": t(lang, "placeholder"),
                             "send": t(lang, "send"), "clear": t(lang, "clear"),
                             "switch": t(lang, "switch_lang"),
                             "empty_chat": render.empty_chat_html(lang),
                             "sources": render.sources_panel([], lang),
                             "tab_sources": t(lang, "tab_sources"), "tab_articles": t(lang, "tab_articles"),
                             "tab_history": t(lang, "tab_history"),
                             "search": t(lang, "articles_search"), "focus": t(lang, "focus_label"),
                             "focus_info": t(lang, "focus_info"), "history": t(lang, "history_label"),
                             "upload": t(lang, "upload_label"), "export": t(lang, "export"),
                             "comment": t(lang, "comment"), "comment_send": t(lang, "comment_send")}
                      for lang in STRINGS})

    # one folder per app for the conversation files offered to download, removed with the
    # process; Gradio copies each into its cache, which it prunes of files older than an hour
    exports = tempfile.TemporaryDirectory(prefix="assistant-export-")
    with gr.Blocks(title="Assistant presse · News assistant", analytics_enabled=False,
                   fill_width=False, delete_cache=(EXPORT_MAX_AGE_S, EXPORT_MAX_AGE_S)) as demo:
        lang_state = gr.State("en")
        turns_state = gr.State([])   # [{"q", "a", "copy", "sources"}, ...] of the open conversation
        conv_id = gr.State("")
        store = gr.BrowserState({"current": "", "conversations": []}, storage_key="qa-conversations",
                                secret="assistant-chat-local")
        with gr.Row(equal_height=False, elem_id="qa-top"):
            header = gr.HTML(i18n("header"), elem_id="qa-header")
            switch = gr.Button(i18n("switch"), size="sm", variant="secondary", elem_id="qa-lang",
                               scale=0, min_width=90)
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, min_width=300, elem_id="qa-left"):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat", label=t("en", "chat_label"), show_label=False,
                    height="min(620px, calc(100vh - 250px))", min_height=360,
                    layout="bubble", buttons=[], feedback_options=("Like", "Dislike"),
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
                with gr.Row(elem_id="qa-feedback-row", visible=False) as feedback_row:
                    comment = gr.Textbox(show_label=False, placeholder=i18n("comment"), elem_id="qa-comment",
                                         container=False, max_lines=3, scale=8, interactive=True)
                    comment_send = gr.Button(i18n("comment_send"), size="sm", elem_id="qa-comment-send",
                                             scale=0, min_width=90)
                with gr.Row(elem_id="qa-below-input"):
                    gr.HTML(f'<span id="qa-counter" data-max="{max_chars}" aria-live="polite"></span>',
                            elem_id="qa-counter-wrap", container=False, padding=False)
                    export = gr.DownloadButton(i18n("export"), size="sm", variant="secondary",
                                               elem_id="qa-export", visible=False, scale=0, min_width=120)
                    clear = gr.Button(i18n("clear"), variant="secondary", size="sm", elem_id="qa-clear",
                                      scale=0, min_width=150)
            with gr.Column(scale=2, min_width=280, elem_id="qa-right"):
                with gr.Tabs(elem_id="qa-tabs"):
                    with gr.Tab(i18n("tab_sources"), id="sources", elem_id="qa-tab-sources"):
                        sources = gr.HTML(i18n("sources"), elem_id="qa-sources",
                                          js_on_load=_static("chat.js"),
                                          server_functions=[_article_view_fn(backend)], apply_default_css=True)
                    with gr.Tab(i18n("tab_articles"), id="articles", elem_id="qa-tab-articles"):
                        search = gr.Textbox(show_label=False, placeholder=i18n("search"), elem_id="qa-search",
                                            container=False, max_lines=1, interactive=True)
                        articles = gr.HTML(render.articles_html(backend.infos(), "en"), elem_id="qa-articles",
                                           js_on_load=_static("chat.js"),
                                           server_functions=[_article_view_fn(backend)])
                        focus = gr.CheckboxGroup(choices=_focus_choices(backend), value=[],
                                                 label=i18n("focus"), info=i18n("focus_info"),
                                                 elem_id="qa-focus")
                        upload = gr.File(label=i18n("upload"), file_count="multiple",
                                         file_types=[".txt", ".md", ".html"], elem_id="qa-upload", height=120)
                        library_status = gr.HTML("", elem_id="qa-library-status")
                    with gr.Tab(i18n("tab_history"), id="history", elem_id="qa-tab-history"):
                        past = gr.Radio(choices=[], label=i18n("history"), elem_id="qa-history")
        timer = gr.Timer(1.0, active=not backend.done.is_set())

        def ui_updates(lang: str, status: str = "") -> tuple:
            """Everything whose words depend on the page's language."""
            return (
                lang,
                render.header_html(lang, backend.n_articles(), status),
                gr.update(placeholder=t(lang, "placeholder")),
                gr.update(value=t(lang, "send")),
                gr.update(value=t(lang, "clear")),
                gr.update(value=t(lang, "switch_lang")),
                gr.update(placeholder=t(lang, "articles_search")),
                gr.update(label=t(lang, "focus_label"), info=t(lang, "focus_info")),
                gr.update(label=t(lang, "history_label")),
                gr.update(label=t(lang, "upload_label")),
                gr.update(label=t(lang, "export")),
            )

        ui_outputs = [lang_state, header, textbox, send, clear, switch, search, focus, past, upload, export]

        def saved(stored: Any, cid: str, chat: list, turns: list) -> dict:
            """The browser's store with the open conversation written into it."""
            data = stored if isinstance(stored, dict) else {}
            convs = [c for c in (data.get("conversations") or []) if isinstance(c, dict) and c.get("id") != cid]
            if turns:
                title = " ".join(str(turns[0].get("q", "")).split())[:80]
                convs.insert(0, {"id": cid, "title": title, "chat": chat[-2 * KEPT_TURNS:],
                                 "turns": turns[-KEPT_TURNS:], "updated": time.time()})
            return {"current": cid, "conversations": convs[:KEPT_CONVERSATIONS]}

        def history_choices(stored: dict, cid: str) -> Any:
            convs = stored.get("conversations") or []
            return gr.update(choices=[(c.get("title") or "…", c["id"]) for c in convs],
                             value=cid if any(c["id"] == cid for c in convs) else None)

        def export_file(turns: list, lang: str) -> Any:
            if not turns:
                return gr.update(visible=False, value=None)
            path = _export_path(exports, render.conversation_markdown(turns, t(lang, "title")))
            return gr.update(visible=True, value=str(path), label=t(lang, "export"))

        # -- answering ----------------------------------------------------------------
        def respond(message: Any, chat: list, turns: list, lang: str, chosen: list | None = None,
                    stored: Any = None, cid: str = "") -> Iterator[tuple]:
            chat = list(chat or [])
            turns = list(turns or [])
            cid = cid or secrets.token_hex(6)
            question = message if isinstance(message, str) else ""
            skip = gr.skip()
            shown_question = question.strip()
            if len(shown_question) > render.SHOWN_QUESTION_CHARS:
                shown_question = shown_question[:render.SHOWN_QUESTION_CHARS].rstrip() + "…"
            if shown_question:
                chat.append({"role": "user", "content": render.question_html(shown_question)})

            def fail(text: str, kind: str = "error", keep_text: bool = False) -> tuple:
                chat.append({"role": "assistant", "content": render.message_html(text, kind)})
                # a rejected question stays in the box, so nothing typed is lost
                return (chat, skip, turns, question if keep_text else "", skip, skip, skip, skip)

            waiting = backend.unavailable(lang)
            if waiting is not None:
                yield fail(waiting, "info" if backend.error is None else "error", keep_text=True)
                return
            qa = backend.qa  # one version for the whole answer, even if a new one is swapped in
            history = [(tq["q"], tq["a"]) for tq in turns]
            chat.append({"role": "assistant", "content": render.streaming_html("", lang)})
            yield (chat, skip, turns, "", skip, skip, skip, skip)
            text = ""
            answer: Answer | None = None
            last_sent = 0.0
            try:
                scoped = qa.focused(chosen) if chosen and hasattr(qa, "focused") else qa
                for piece in scoped.stream(question, history or None):
                    if isinstance(piece, Answer):
                        answer = piece
                        break
                    text += piece
                    # Each update costs Gradio ~25 ms: pieces that come faster are sent together.
                    if time.monotonic() - last_sent >= STREAM_INTERVAL:
                        last_sent = time.monotonic()
                        chat[-1] = {"role": "assistant", "content": render.streaming_html(text, lang)}
                        yield (chat, skip, turns, skip, skip, skip, skip, skip)
            except AssistantError as exc:
                chat.pop()
                reason = getattr(exc, "reason", None) or render._invalid_reason(question, max_chars)
                yield fail(render.error_text(exc, question, lang, max_chars), keep_text=reason == "too_long")
                return
            except Exception:  # never a traceback in the page
                log.exception("answering %r failed", question)
                chat.pop()
                yield fail(t(lang, "err_internal"), keep_text=True)
                return
            if answer is None:  # pragma: no cover - the core always ends with an Answer
                chat.pop()
                yield fail(t(lang, "err_internal"), keep_text=True)
                return
            turn = len(turns)
            content = render.answer_html(answer, turn, lang)
            if chosen:
                content = content.replace(
                    '<p class="qa-tools">',
                    f'<p class="qa-notice">{render.esc(t(lang, "focus_note", n=len(chosen)))}</p>'
                    '<p class="qa-tools">', 1)
            chat[-1] = {"role": "assistant", "content": content}
            ids = [c.article_id for c in answer.citations] or [p.article_id for p in answer.related]
            section = render.sources_section(answer, turn, backend.article_texts(qa, ids), lang)
            turns.append({"q": answer.question, "a": answer.text, "copy": render.answer_plain_text(answer),
                          "sources": section})
            panel = render.sources_panel([x["sources"] for x in turns], lang)
            new_store = saved(stored, cid, chat, turns)
            yield (chat, panel, turns, "", new_store, cid, history_choices(new_store, cid),
                   export_file(turns, lang))

        outputs = [chatbot, sources, turns_state, textbox, store, conv_id, past, export]
        inputs = [textbox, chatbot, turns_state, lang_state, focus, store, conv_id]
        event_kwargs = dict(outputs=outputs, concurrency_limit=CONCURRENCY, concurrency_id="assistant",
                            api_visibility="private", show_progress="hidden")
        textbox.submit(respond, inputs, **event_kwargs)
        send.click(respond, inputs, **event_kwargs)

        def respond_example(evt: gr.SelectData, chat: list, turns: list, lang: str, chosen: list,
                            stored: Any, cid: str) -> Iterator[tuple]:
            value = evt.value
            question = value.get("text", "") if isinstance(value, dict) else str(value or "")
            yield from respond(question, chat, turns, lang, chosen, stored, cid)

        chatbot.example_select(respond_example, [chatbot, turns_state, lang_state, focus, store, conv_id],
                               **event_kwargs)

        # -- feedback: thumbs up/down on an answer, then an optional comment -------------
        last_feedback = gr.State("")

        def on_like(evt: gr.LikeData, turns: list, cid: str) -> tuple:
            content = evt.value.get("value", "") if isinstance(evt.value, dict) else str(evt.value or "")
            record = feedback_record(content, turns, cid, evt.liked)
            write_feedback(backend.settings.feedback_file, record)
            return record["id"], gr.update(visible=True), gr.update(value="")

        chatbot.like(on_like, [turns_state, conv_id], [last_feedback, feedback_row, comment],
                     api_visibility="private", show_progress="hidden")

        def on_comment(text: str, ref: str) -> tuple:
            if text and text.strip() and ref:
                write_feedback(backend.settings.feedback_file,
                               {"id": secrets.token_hex(6), "ref": ref, "time": time.time(),
                                "comment": " ".join(text.split())[:2000]})
            return gr.update(visible=False), gr.update(value="")

        for event in (comment.submit, comment_send.click):
            event(on_comment, [comment, last_feedback], [feedback_row, comment], api_visibility="private",
                  show_progress="hidden")

        # -- conversations: new, reopen, restore on load ----------------------------------
        def empty_chat(lang: str) -> Any:
            return gr.update(value=[], examples=examples_for(lang), placeholder=render.empty_chat_html(lang))

        def new_conversation(lang: str, stored: Any) -> tuple:
            data = stored if isinstance(stored, dict) else {"conversations": []}
            cid = secrets.token_hex(6)
            data = {"current": cid, "conversations": data.get("conversations") or []}
            return (empty_chat(lang), render.sources_panel([], lang), [], cid, data,
                    history_choices(data, cid), gr.update(value="", placeholder=t(lang, "placeholder")),
                    gr.update(visible=False, value=None))

        clear.click(new_conversation, [lang_state, store],
                    [chatbot, sources, turns_state, conv_id, store, past, textbox, export],
                    api_visibility="private", queue=False, show_progress="hidden")

        def open_conversation(stored: Any, cid: str, lang: str) -> tuple:
            data = stored if isinstance(stored, dict) else {}
            conv = next((c for c in data.get("conversations") or [] if c.get("id") == cid), None)
            if conv is None:
                return new_conversation(lang, stored)
            turns = conv.get("turns") or []
            data = {"current": cid, "conversations": data.get("conversations") or []}
            return (gr.update(value=conv.get("chat") or [], examples=None) if conv.get("chat") else empty_chat(lang),
                    render.sources_panel([x.get("sources", "") for x in turns], lang), turns, cid, data,
                    gr.update(), gr.skip(), export_file(turns, lang))

        past.input(open_conversation, [store, past, lang_state],
                   [chatbot, sources, turns_state, conv_id, store, past, textbox, export],
                   api_visibility="private", show_progress="hidden")

        # -- the page's language: the browser's, or the user's pick -----------------------
        def on_load(stored: Any, request: gr.Request) -> tuple:
            lang = render.browser_language(request.headers.get("accept-language") if request else None)
            status = "" if backend.done.is_set() else t(lang, "building", s=backend.elapsed())
            data = stored if isinstance(stored, dict) else {}
            cid = data.get("current") or ""
            conv = next((c for c in data.get("conversations") or [] if c.get("id") == cid), None)
            if conv and conv.get("turns"):
                turns = conv["turns"]
                chat_u = gr.update(value=conv.get("chat") or [], examples=None)
                panel = render.sources_panel([x.get("sources", "") for x in turns], lang)
            else:
                turns, chat_u, panel = [], empty_chat(lang), render.sources_panel([], lang)
                cid = cid or secrets.token_hex(6)
            return (*ui_updates(lang, status)[:-1], chat_u, panel, turns, cid,
                    history_choices(data, cid) if data else gr.update(choices=[]),
                    render.articles_html(backend.infos(), lang), export_file(turns, lang))

        demo.load(on_load, [store], [*ui_outputs[:-1], chatbot, sources, turns_state, conv_id, past, articles,
                                     export],
                  api_visibility="private", queue=False, show_progress="hidden")

        def switch_language(lang: str, turns: list, query: str) -> tuple:
            lang = "en" if lang == "fr" else "fr"
            return (*ui_updates(lang, "" if backend.done.is_set() else t(lang, "building", s=backend.elapsed())),
                    render.sources_panel([x.get("sources", "") for x in turns], lang) if not turns else gr.skip(),
                    render.articles_html(backend.infos(), lang, query or ""))

        switch.click(switch_language, [lang_state, turns_state, search], [*ui_outputs, sources, articles],
                     api_visibility="private", queue=False, show_progress="hidden")

        # -- the corpus: search, narrow, add -----------------------------------------------
        # searching the list happens in the page (static/page.js): instant, and no race
        # between the answers to successive keystrokes

        def add_files(files: Any, lang: str, query: str) -> Iterator[tuple]:
            paths = [f if isinstance(f, str) else getattr(f, "name", "") for f in (files or [])]
            paths = [p for p in paths if p][:MAX_UPLOAD_FILES]
            if not paths:
                yield (gr.skip(), gr.skip(), gr.skip(), gr.skip())
                return
            names = ", ".join(Path(p).name for p in paths)
            yield (render.message_html(t(lang, "upload_working", names=names), "info"), gr.skip(), gr.skip(),
                   gr.skip())
            try:
                report = backend.add([(p, Path(p).name) for p in paths])
            except AssistantError as exc:
                yield (render.message_html(t(lang, "upload_failed", detail=str(exc))), gr.skip(), gr.skip(),
                       gr.update(value=None))
                return
            lines = [t(lang, "upload_done", names=", ".join(report.added), n=backend.n_articles())]
            lines += [t(lang, "upload_rejected", name=r.name, reason=r.reason) for r in report.rejected]
            yield (render.message_html("\n".join(lines), "info"),
                   render.articles_html(backend.infos(), lang, query or ""),
                   gr.update(choices=_focus_choices(backend)), gr.update(value=None))

        upload.upload(add_files, [upload, lang_state, search], [library_status, articles, focus, upload],
                      api_visibility="private", concurrency_limit=1, concurrency_id="library",
                      show_progress="hidden")

        # -- while the index is being built: a visible state, polled once a second ----------
        def poll(lang: str) -> tuple:
            if not backend.done.is_set():
                return (render.header_html(lang, None, t(lang, "building", s=backend.elapsed())), gr.skip(),
                        gr.skip(), gr.skip(), gr.skip())
            if backend.error is not None:
                return (render.header_html(lang, None, t(lang, "err_failed", detail=str(backend.error))),
                        gr.update(examples=[]), gr.Timer(active=False), gr.skip(), gr.skip())
            return (render.header_html(lang, backend.n_articles()), gr.update(examples=examples_for(lang)),
                    gr.Timer(active=False), render.articles_html(backend.infos(), lang),
                    gr.update(choices=_focus_choices(backend)))

        timer.tick(poll, [lang_state], [header, chatbot, timer, articles, focus], api_visibility="private",
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
    demo.backend = backend  # type: ignore[attr-defined]  # for tests and embedding programs
    _with_page_assets(demo, i18n, backend.settings)
    return demo


_TURN_ID = re.compile(r'id="qa-(?:src|rel)-(\d+)-')
_feedback_lock = threading.Lock()


def _export_path(folder: "tempfile.TemporaryDirectory[str]", text: str) -> Path:
    """``text`` written as ``conversation.md`` in a subfolder of ``folder`` named by its content
    (the same conversation is one file; users never share one); older files are removed."""
    root = Path(folder.name)
    now = time.time()
    for old in root.glob("*/conversation.md"):
        if now - old.stat().st_mtime > EXPORT_MAX_AGE_S:
            shutil.rmtree(old.parent, ignore_errors=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    path = root / digest / "conversation.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def feedback_record(content: str, turns: Sequence[dict], conversation: str, liked: Any) -> dict[str, Any]:
    """One JSON Lines record for a thumbs up/down: the question and answer it is about."""
    turn = None
    m = _TURN_ID.search(content) or re.search(r'href="#qa-(?:src|rel)-(\d+)-', content)
    if m and int(m.group(1)) < len(turns):
        turn = turns[int(m.group(1))]
    return {"id": secrets.token_hex(6), "time": time.time(), "conversation": conversation,
            "liked": liked is True or liked == "Like", "question": turn.get("q") if turn else None,
            "answer": turn.get("a") if turn else None, "copy": turn.get("copy") if turn else None}


def write_feedback(path: Path, record: dict[str, Any]) -> None:
    """Append one record to the feedback file (JSON Lines; one writer at a time)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _feedback_lock, path.open("a", encoding="utf-8") as fh:
        fh.write(line)


def _focus_choices(backend: _Backend) -> list[tuple[str, str]]:
    return [(info["title"], info["id"]) for info in backend.infos()]


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
        return {"title": art.title, "html": render.article_html(art.text, [(start, end)]),
                "close": t(lang, "close"), "article_id": art.id}

    article_view.__name__ = "article_view"
    return article_view


def _with_page_assets(demo: gr.Blocks, i18n: "gr.I18n", settings: Settings) -> None:
    """Make ``demo.launch()`` use this page's theme, CSS, scripts and request guard
    unless told otherwise.

    Gradio 6 takes these at ``launch()``; wrapping it keeps ``build_app(qa).launch(...)``
    (as tests do) looking like ``assistant chat``.
    """
    from starlette.middleware import Middleware

    original = demo.launch

    @functools.wraps(original)
    def launch(*args: Any, **kwargs: Any):
        kwargs.setdefault("i18n", i18n)
        kwargs.setdefault("theme", _theme())
        # raw <style>/<script> in <head>: Gradio rewrites ``css=`` to apply inside the app
        # only, but the article viewer lives in <body> and the theme is set on <body>.
        kwargs.setdefault("head", f"<style>{_static('chat.css')}</style><script>{_static('page.js')}</script>")
        kwargs.setdefault("footer_links", ["api"])
        kwargs.setdefault("run_history", False)
        kwargs.setdefault("share", False)
        kwargs.setdefault("max_file_size", settings.max_upload_bytes)
        host = kwargs.get("server_name") or settings.host
        if not kwargs.get("share"):
            app_kwargs = dict(kwargs.get("app_kwargs") or {})
            guard = Middleware(RequestGuard, hosts=allowed_hosts(host, settings.allowed_hosts),
                               max_body=settings.max_upload_bytes * MAX_UPLOAD_FILES + 65536)
            app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), guard]
            kwargs["app_kwargs"] = app_kwargs
        result = original(*args, **kwargs)
        demo.backend.watch()  # type: ignore[attr-defined]
        return result

    demo.launch = launch  # type: ignore[method-assign]
    original_close = demo.close

    @functools.wraps(original_close)
    def close(*args: Any, **kwargs: Any):
        demo.backend.stop()  # type: ignore[attr-defined]
        return original_close(*args, **kwargs)

    demo.close = close  # type: ignore[method-assign]


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
    except IndexMismatchError as exc:
        # the index is derived from the corpus folder (uploads are written there too), so an
        # index an earlier version or configuration built is built again, nothing is lost
        print(f"the index at {settings.index_dir} does not fit this version ({str(exc).replace(f'; {REBUILD_HINT}', '')}): building it "
              f"again from {settings.corpus_dir}; the chat opens meanwhile", file=sys.stderr, flush=True)
        backend = _Backend(None, settings)
        backend.build_in_background(rebuild=True)
    demo = _build_app(backend)
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

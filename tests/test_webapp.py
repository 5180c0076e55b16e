"""The web chat without a browser: formatting, the chat handler, ``/ask`` through
``gradio_client`` (also under 16 concurrent callers), and ``launch()`` building a
missing index. Browser tests are in tests/test_browser.py.
"""

from __future__ import annotations

import copy
import os
import tempfile
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

try:
    from browser_helpers import (AWS_ARTICLE, CORPUS, EN_FOLLOW_UP, EN_QUESTION, FR_FOLLOW_UP,
                                 FR_QUESTION, free_port, served, shared_assistant)
except ImportError:  # tests/ imported as a package
    from tests.browser_helpers import (AWS_ARTICLE, CORPUS, EN_FOLLOW_UP, EN_QUESTION, FR_FOLLOW_UP,
                                       FR_QUESTION, free_port, served, shared_assistant)

from assistant import Answer, Assistant, Citation, IndexMismatchError, Passage, Settings
from assistant.web import app as webapp
from assistant.web import build_app
from assistant.web.render import (answer_html, article_html, browser_language, paragraph_context,
                                  sources_panel, sources_section)

gradio_client = pytest.importorskip("gradio_client")

# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


# --- formatting (no model needed) ---------------------------------------------------------

EVIL = '<script>alert("x")</script> & *bold* _it_ [link](javascript:alert(1))'


def _answer(**kw) -> Answer:
    base = dict(question="Q?", text="D'après l'article « T » : « quote » [1]", citations=(), abstained=False,
                language="fr")
    base.update(kw)
    return Answer(**base)


def test_answer_html_escapes_and_links_only_real_markers():
    c = Citation(number=1, article_id="a1", title=EVIL, quote=EVIL, start=0, end=10, score=0.9)
    html = answer_html(_answer(text=f"{EVIL} [1] [7]", citations=(c,)), turn=3)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="#qa-src-3-1"' in html          # [1] links to its source card
    assert "[7]" in html and "qa-src-3-7" not in html  # no citation 7: left as text
    assert "\n\n" not in html and html.startswith("<div")  # one HTML block: never parsed as Markdown


def test_answer_html_shows_understood_question_and_abstention():
    related = (Passage("a1", "Titre", "passage", 0, 7, 0.3), Passage("a1", "Titre", "passage", 2, 9, 0.2),
               Passage("a2", "Autre", "texte", 0, 5, 0.1))
    html = answer_html(_answer(text="Je ne trouve pas la réponse.", abstained=True, related=related,
                               understood_question="Et la durée ? (AWS)"), turn=0)
    assert "qa-abstained" in html and "Pas dans les articles" in html
    assert "Question comprise" in html and "Et la durée ? (AWS)" in html
    # overlapping related passages of one article are offered once
    assert html.count("qa-rel-link") == 2
    en = answer_html(_answer(text="I can't find it.", abstained=True, language="en"), turn=0)
    assert "Not in the articles" in en


def test_an_unsure_answer_is_marked_apart():
    assert 'class="qa-answer qa-hedged"' in answer_html(_answer(hedged=True), turn=0)
    assert 'class="qa-answer"' in answer_html(_answer(), turn=0)


def test_paragraph_context_highlights_the_quote_in_its_paragraph():
    text = "Intro.\n\nAvant la phrase. La phrase citée <b>. Après.\n\nAutre paragraphe."
    start = text.index("La phrase")
    end = text.index(" Après")
    html = paragraph_context(text, start, end)
    assert html == 'Avant la phrase. <mark class="qa-quote">La phrase citée &lt;b&gt;.</mark> Après.'
    long = "mot " * 200 + "CIBLE." + " fin" * 200
    html = paragraph_context(long, long.index("CIBLE"), long.index("CIBLE") + 6, max_side=50)
    assert html.startswith("…") and html.endswith("…") and len(html) < 200


def test_article_html_marks_the_span_escaped_and_merges_overlaps():
    text = "Un <titre>.\n\n\n\nDeux & trois. Quatre."
    s = text.index("Deux")
    html = article_html(text, [(s, s + 4), (s + 2, s + 13)])
    assert html.count("<mark") == 1 and 'id="qa-hl"' in html
    assert "&lt;titre&gt;" in html and "&amp;" in html
    assert "\n\n\n" not in html


def test_sources_section_and_empty_panel():
    text = "Premier paragraphe.\n\nLe contrat dure sept ans. Fin."
    c = Citation(1, "a1", "Titre <i>", "Le contrat dure sept ans.", 21, 46, 0.9)
    assert text[c.start:c.end] == c.quote
    html = sources_section(_answer(citations=(c,)), 2, {"a1": text})
    assert 'id="qa-src-2-1"' in html and "Titre &lt;i&gt;" in html and "Voir l&#x27;article" in html
    assert '<mark class="qa-quote">Le contrat dure sept ans.</mark>' in html
    assert "will appear here" in sources_panel([], "en")
    assert "apparaîtront ici" in sources_panel([], "fr")


@pytest.mark.parametrize("header, lang", [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"), ("en-US,en;q=0.9", "en"), ("de-DE,de;q=0.9", "en"),
    ("de-DE,fr;q=0.5,en;q=0.4", "fr"), (None, "en"), ("", "en"),
])
def test_browser_language(header, lang):
    assert browser_language(header) == lang


# --- the chat handler (the real model, no browser) -------------------------------------------

def _handler(demo, name: str):
    for block_fn in demo.fns.values():
        if getattr(block_fn.fn, "__name__", "") == name:
            return block_fn.fn
    raise LookupError(name)


def _run_chat(demo, message, chat=None, turns=None, lang="fr"):
    # copy each yield: Gradio sends it at once, so later mutations must not show in it
    outs = [copy.deepcopy(out) for out in _handler(demo, "respond")(message, chat or [], turns or [], lang)]
    assert outs, "the handler yields at least once"
    return outs


@pytest.fixture(scope="module")
def qa():
    return shared_assistant()


@pytest.fixture(scope="module")
def demo(qa):
    return build_app(qa)


def test_chat_streams_then_answers_with_sources(demo):
    outs = _run_chat(demo, FR_QUESTION)
    assert "qa-thinking" in outs[0][0][-1]["content"]          # first: "searching…"
    chat, panel, turns = outs[-1][:3]
    final = chat[-1]["content"]
    assert chat[0]["role"] == "user" and chat[-1]["role"] == "assistant"
    assert 'class="qa-cite"' in final
    assert f'data-article="{AWS_ARTICLE}"' in panel
    assert turns[0]["q"] == FR_QUESTION
    # the follow-up uses the conversation and says what it understood
    outs = _run_chat(demo, FR_FOLLOW_UP, chat, turns, "fr")
    chat, panel, turns = outs[-1][:3]
    assert "qa-understood" in chat[-1]["content"]
    assert re.search(rf'<article class="qa-src" id="qa-src-1-\d+" data-article="{AWS_ARTICLE}"', panel)


@pytest.mark.parametrize("message, expected", [
    ("", "Votre message est vide"),
    ("   \n ", "Votre message est vide"),
    ("?!… ???", "aucun mot"),
    ("Combien " * 300, "la limite est de"),
    ("Combien\x00 vaut AWS ?", "caractères de contrôle"),
])
def test_chat_bad_input_is_a_message_not_a_traceback(demo, message, expected):
    chat, _panel, turns = _run_chat(demo, message)[-1][:3]
    last = chat[-1]
    assert last["role"] == "assistant" and "qa-error" in last["content"]
    assert expected in last["content"] and "Traceback" not in last["content"]
    assert turns == []  # not part of the conversation the core sees


def test_chat_unexpected_failure_is_a_message(qa):
    class Broken:
        settings = qa.settings
        articles = qa.articles
        article = qa.article

        def stream(self, *a, **k):
            raise RuntimeError("boom")
            yield  # pragma: no cover

    chat = _run_chat(build_app(Broken()), "How much is the AWS deal worth?", lang="en")[-1][0]
    assert "Something went wrong" in chat[-1]["content"] and "boom" not in chat[-1]["content"]


def test_chat_streams_slow_pieces_as_they_come(qa):
    """Pieces that arrive over time (a generated answer) are shown progressively; the
    final render uses the final Answer (which may differ from the streamed text)."""
    real = qa.ask(EN_QUESTION)

    class Slow:
        settings = qa.settings
        articles = qa.articles
        article = qa.article

        def stream(self, question, history=None):
            for piece in ["The ", "deal ", "is ", "worth… "]:
                time.sleep(webapp.STREAM_INTERVAL * 1.5)
                yield piece
            yield real

    outs = _run_chat(build_app(Slow()), EN_QUESTION, lang="en")
    streamed = [o[0][-1]["content"] for o in outs if "qa-streaming" in o[0][-1]["content"]]
    assert len(streamed) >= 3 and "The deal" in streamed[1] and "qa-caret" in streamed[-1]
    final = outs[-1][0][-1]["content"]
    assert "qa-streaming" not in final and 'class="qa-cite"' in final and "worth…" not in final


def test_article_view_server_function(demo, qa):
    view = _handler_server_fn(demo)
    art = qa.article(AWS_ARTICLE)
    start = art.text.index("La durée du contrat")
    out = view({"article_id": AWS_ARTICLE, "start": start, "end": start + 19, "lang": "fr"})
    assert out["title"] == art.title and out["close"] == "Fermer"
    assert '<mark class="qa-hl" id="qa-hl">La durée du contrat</mark>' in out["html"]
    missing = view({"article_id": "nope", "start": 0, "end": 1, "lang": "en"})
    assert missing["html"] == "" and "cannot be shown" in missing["title"]


def _handler_server_fn(demo):
    for block in demo.blocks.values():
        for fn in getattr(block, "server_fns", []) or []:
            if fn.__name__ == "article_view":
                return fn
    raise LookupError("article_view")


# --- /ask through gradio_client ------------------------------------------------------------

@pytest.fixture(scope="module")
def url(demo):
    with served(demo) as u:
        yield u


def test_api_ask_returns_answer_dict(url):
    client = gradio_client.Client(url, verbose=False)
    fr = client.predict(FR_QUESTION, api_name="/ask")
    assert set(fr) >= {"text", "citations", "abstained", "language", "related", "understood_question"}
    assert fr["language"] == "fr" and not fr["abstained"]
    assert fr["citations"][0]["article_id"] == AWS_ARTICLE
    en = client.predict(question=EN_FOLLOW_UP, history=[EN_QUESTION], api_name="/ask")
    assert en["language"] == "en" and en["understood_question"]
    assert en["citations"][0]["article_id"] == AWS_ARTICLE
    fr2 = client.predict(question=FR_FOLLOW_UP,
                         history=[{"role": "user", "content": FR_QUESTION},
                                  {"role": "assistant", "content": fr["text"]}], api_name="/ask")
    assert fr2["citations"][0]["article_id"] == AWS_ARTICLE


def test_api_ask_invalid_question_is_a_clean_error(url):
    client = gradio_client.Client(url, verbose=False)
    with pytest.raises(gradio_client.exceptions.AppError, match="no words"):
        client.predict("???", api_name="/ask")


def test_api_ask_serves_16_concurrent_callers(url):
    questions = [FR_QUESTION, EN_QUESTION, "Combien de gigawatts OpenAI va-t-il déployer avec AMD ?",
                 "Who is OpenAI's CFO?"] * 4
    start = threading.Barrier(len(questions))

    def call(q):
        client = gradio_client.Client(url, verbose=False)
        start.wait(timeout=30)
        t0 = time.perf_counter()
        out = client.predict(q, api_name="/ask")
        return out, time.perf_counter() - t0

    def gist(out):
        return out["text"], out["abstained"], [(c["article_id"], c["start"], c["end"]) for c in out["citations"]]

    serial = {q: gist(gradio_client.Client(url, verbose=False).predict(q, api_name="/ask"))
              for q in dict.fromkeys(questions)}
    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(call, questions))
    assert len(results) == 16
    for (out, _), q in zip(results, questions):
        assert out["question"] == q
        assert gist(out) == serial[q]  # concurrency changes nothing in any answer
    assert all(not serial[q][1] for q in (FR_QUESTION, EN_QUESTION))
    print(f"16 concurrent /ask: slowest {max(s for _, s in results):.2f}s")


# --- launch(): binds to 127.0.0.1 and builds a missing index -----------------------------------

@pytest.mark.parametrize("existing", ["none", "other chunking"])
def test_launch_builds_a_missing_or_outdated_index_and_serves(tmp_path, existing):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    smallest = min(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size)
    shutil.copy(smallest, corpus / smallest.name)
    settings = Settings.load({"index_dir": str(tmp_path / "index"), "corpus_dir": str(corpus),
                              "port": free_port()}, env={})
    assert settings.host == "127.0.0.1"
    if existing == "other chunking":  # as an index an earlier version built
        Assistant.build_index(settings.replace(chunk_tokens=settings.chunk_tokens // 2))
        with pytest.raises(IndexMismatchError):
            Assistant.load(settings=settings)
    demo = webapp.launch(settings, block=False)
    try:
        assert demo.share is False and demo.share_url is None
        assert demo.local_url.startswith(f"http://127.0.0.1:{settings.port}")
        client = gradio_client.Client(demo.local_url, verbose=False)
        deadline = time.monotonic() + 120
        while True:
            try:
                out = client.predict("Quelle puissance représentent les accélérateurs ?", api_name="/ask")
                break
            except gradio_client.exceptions.AppError as exc:
                assert "still being built" in str(exc)
                assert time.monotonic() < deadline, "the index was not built in time"
                time.sleep(0.5)
        assert demo.backend.ready and demo.backend.error is None
        assert not out["abstained"]
        assert {c["article_id"] for c in out["citations"]} == {smallest.stem}  # the only article there is
        assert (tmp_path / "index").exists()
        Assistant.load(settings=settings)  # the index now fits the configuration
    finally:
        demo.close()


# --- #11 / #12: inert questions, contrast, corpus operations, request guard -------------------

from assistant.web import render  # noqa: E402
from assistant.web.guard import RequestGuard, allowed_hosts  # noqa: E402


def test_question_with_blank_lines_and_markdown_stays_inert_text():
    q = "Combien ?\n\n![x](http://203.0.113.9/pixel.png)\n\n<img src=x onerror=alert(1)> *gras* [l](javascript:x)"
    html = render.question_html(q)
    assert "\n" not in html and html.count("<br>") == 2          # no blank line ends the HTML block
    assert "<img" not in html and "![" not in html and "](" not in html
    assert "&#33;&#91;x&#93;&#40;http://203.0.113.9/pixel.png&#41;" in html
    assert "&#42;gras&#42;" in html
    # the answer and the error message are inert too
    msg = render.message_html("Votre question fait 1200 caractères\n\n![a](http://x/)")
    assert "\n" not in msg and "![" not in msg


def _css_vars(block: str) -> dict[str, str]:
    return dict(re.findall(r"--(qa-[\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_highlight_and_notice_colours_pass_wcag_aa_in_light_and_dark():
    css = (webapp.STATIC / "chat.css").read_text(encoding="utf-8")
    light = _css_vars(re.search(r":root\s*\{(.*?)\}", css, re.S).group(1))
    dark = _css_vars(re.search(r"\n\.dark\s*\{(.*?)\}", css, re.S).group(1))
    pairs = [("qa-mark-bg", "qa-mark-fg"), ("qa-hl-bg", "qa-hl-fg"), ("qa-info-bg", "qa-info-fg"),
             ("qa-bad-bg", "qa-bad-fg"), ("qa-cite-bg", "qa-cite-fg")]
    for theme in (light, dark):
        for bg, fg in pairs:
            assert contrast(theme[bg], theme[fg]) >= 4.5, (bg, theme[bg], theme[fg])
    # an abstained or unsure answer's side rule stands out from the page (3:1, non-text)
    for theme, page in ((light, "#ffffff"), (dark, "#0b0f19")):
        for rule in ("qa-abstain-border", "qa-hedge-border"):
            assert contrast(theme[rule], page) >= 3.0, (rule, theme[rule])
    # the highlight is drawn with those variables, never with a fixed colour
    assert "var(--qa-mark-bg)" in css and "var(--qa-hl-fg)" in css and "var(--qa-hedge-border)" in css
    assert contrast("#ffffff", "#fff1a8") < 4.5   # what the issue saw: white on pale yellow fails


def test_no_css_or_js_in_python_strings():
    source = (webapp.STATIC.parent / "app.py").read_text(encoding="utf-8")
    assert "addEventListener" not in source and "{ color:" not in source


def test_articles_list_searchable_and_focus_narrows_retrieval(qa):
    infos = qa.article_infos()
    assert {i["id"] for i in infos} == {a.id for a in qa.articles}
    assert all(i["chars"] == len(qa.article(i["id"]).text) and i["language"] in ("fr", "en") for i in infos)
    html = render.articles_html(infos, "fr")
    assert html.count('class="qa-art"') == len(infos) and html.count("Lire") == len(infos)
    aws = qa.article(AWS_ARTICLE)
    word = aws.title.split()[-1]
    narrowed = render.articles_html(infos, "en", word)
    assert f'data-article="{AWS_ARTICLE}"' in narrowed
    assert narrowed.count('class="qa-art"') == sum(word.lower() in i["title"].lower() for i in infos)
    others = [i["id"] for i in infos if i["id"] != AWS_ARTICLE]
    focused = qa.focused(others[:2])
    answer = focused.ask(FR_QUESTION)
    cited = {c.article_id for c in answer.citations} | {p.article_id for p in answer.related}
    assert cited and cited <= set(others[:2])
    assert qa.ask(FR_QUESTION).citations[0].article_id == AWS_ARTICLE  # the whole corpus is unchanged


def test_chat_handler_honours_the_focus(demo, qa):
    others = [a.id for a in qa.articles if a.id != AWS_ARTICLE][:1]
    out = [copy.deepcopy(o) for o in _handler(demo, "respond")(FR_QUESTION, [], [], "fr", others, None, "")][-1]
    chat, panel = out[0], out[1]
    assert AWS_ARTICLE not in panel and "Réponse limitée à 1 article" in chat[-1]["content"]


def test_language_of_the_page_is_not_changed_by_a_question(demo):
    out = _run_chat(demo, EN_QUESTION, lang="fr")[-1]
    chat, panel = out[0], out[1]
    assert "According to the article" in chat[-1]["content"]       # the answer's own language
    assert "Copier" in chat[-1]["content"] and "Voir l&#x27;article" in panel  # the page's labels


def _asgi_call(guard, headers, body=b"", method="POST"):
    import asyncio

    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/gradio_api/upload",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(RequestGuard(app, guard[0], guard[1])(scope, receive, send))
    return sent[0]["status"]


def test_request_guard_checks_host_origin_and_size():
    hosts = allowed_hosts("127.0.0.1", ["chat.example.org"])
    guard = (hosts, 1000)
    assert _asgi_call(guard, {"host": "127.0.0.1:7860"}) == 200
    assert _asgi_call(guard, {"host": "localhost:7860", "origin": "http://localhost:7860"}) == 200
    assert _asgi_call(guard, {"host": "chat.example.org"}) == 200
    assert _asgi_call(guard, {"host": "[::1]:7860"}) == 200
    assert _asgi_call(guard, {"host": "evil.example:7860"}) == 421          # DNS rebinding
    assert _asgi_call(guard, {"host": "127.0.0.1:7860", "origin": "https://evil.example"}) == 403
    assert _asgi_call(guard, {"host": "127.0.0.1:7860", "content-length": "5000"}) == 413
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")


def test_served_app_refuses_foreign_origin_and_host(url):
    import httpx

    port = url.rstrip("/").rsplit(":", 1)[1]
    files = {"files": ("a.txt", b"x" * 100, "text/plain")}
    evil = httpx.post(f"{url}gradio_api/upload", files=files, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    rebinding = httpx.get(url, headers={"Host": f"attacker.example:{port}"})
    assert rebinding.status_code == 421
    assert httpx.get(url).status_code == 200


def test_add_and_remove_articles_and_reload(tmp_path, qa):
    """Upload rules, a safe name inside the corpus, incremental build, atomic switch."""
    from assistant import Assistant, CorpusError
    from assistant.library import safe_name

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    smallest = min(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size)
    shutil.copy(smallest, corpus / smallest.name)
    settings = Settings.load({"index_dir": str(tmp_path / "index"), "corpus_dir": str(corpus)}, env={})
    Assistant.build_index(settings)
    served_qa = Assistant.load(settings=settings)
    backend = webapp._Backend(served_qa, settings)
    before = served_qa.index_version

    outside = tmp_path / "outside"
    outside.mkdir()
    good = outside / "note.html"
    good.write_text("<html lang='en'><head><title>Harbour tunnel opens</title></head><body><article>"
                    "<p>The new harbour tunnel opened on Monday after six years of work.</p>"
                    "<p>It cost 2.3 billion euros and carries 40,000 cars a day.</p></article></body></html>",
                    encoding="utf-8")
    bad = outside / "photo.png"
    bad.write_bytes(b"\x89PNG")
    latin = outside / "old.txt"
    latin.write_bytes("é".encode("latin-1") * 20)
    report = backend.add([(str(good), "../../etc/évil name.html"), (str(bad), "photo.png"),
                          (str(latin), "old.txt")])
    assert report.added == ("évil_name",)
    assert {r.name for r in report.rejected} == {"photo.png", "old.txt"}
    assert sorted(p.name for p in corpus.iterdir()) == sorted([smallest.name, "évil_name.html"])
    assert not (tmp_path / "etc").exists()
    assert report.build.added == ("évil_name",) and report.build.unchanged  # incremental
    assert backend.qa is not served_qa and backend.qa.index_version != before   # switched
    answer = backend.qa.ask("How much did the harbour tunnel cost?")
    assert answer.citations[0].article_id == "évil_name"
    assert "2.3 billion" in answer.citations[0].quote
    assert served_qa.index_version == before          # the old object still answers from its version

    with pytest.raises(CorpusError, match="unsupported file type"):
        Assistant.add_articles([bad], settings)
    backend.remove("évil_name")
    assert not (corpus / "évil_name.html").exists()
    assert "évil_name" not in {a.id for a in backend.qa.articles}
    assert safe_name("../../a b/.hidden.HTML") == "hidden.html" and safe_name("x\ny.md") == "x_y.md"


def test_index_watcher_switches_when_another_process_rebuilds(tmp_path):
    from assistant import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = sorted(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size)[:2]
    shutil.copy(files[0], corpus / files[0].name)
    settings = Settings.load({"index_dir": str(tmp_path / "index"), "corpus_dir": str(corpus)}, env={})
    Assistant.build_index(settings)
    backend = webapp._Backend(Assistant.load(settings=settings), settings)
    backend.watch(every=0.2)
    try:
        assert backend.n_articles() == 1
        shutil.copy(files[1], corpus / files[1].name)
        Assistant.build_index(settings)              # as `assistant index` would, elsewhere
        deadline = time.monotonic() + 30
        while backend.n_articles() != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert backend.n_articles() == 2
    finally:
        backend.stop()


def test_related_reading_highlights_the_passages_best_sentence(qa):
    from assistant.text import is_fragment, sentence_spans

    answer = qa.ask("Who won the 2018 football World Cup?")
    assert answer.abstained and answer.related
    texts = {p.article_id: qa.article(p.article_id).text for p in answer.related}
    html = sources_section(answer, 0, texts, "en")
    cards = re.findall(r'<article class="qa-src qa-related".*?</article>', html, re.S)
    shown = render.related_passages(answer.related)
    assert len(cards) == len(shown)
    for card, p in zip(cards, shown):
        text = texts[p.article_id]
        sentence = text[p.best_start:p.best_end]
        assert (p.best_start, p.best_end) in sentence_spans(text)
        # a statement, not a subheading or a fragment (« Un mariage idéal ? », « Pourquoi Google Cloud ? »)
        assert not is_fragment(text, p.best_start, p.best_end), sentence
        # the card marks that sentence, and its button opens the article on that sentence alone
        mark = re.search(r'<mark class="qa-quote">(.*?)</mark>', card, re.S).group(1)
        assert mark == render.esc(" ".join(sentence.split()))
        button = re.search(r'<button[^>]*class="qa-view"[^>]*>', card).group(0)
        assert f'data-start="{p.best_start}"' in button and f'data-end="{p.best_end}"' in button
        view = article_html(text, [(p.best_start, p.best_end)])
        highlighted = re.search(r'<mark class="qa-hl" id="qa-hl">(.*?)</mark>', view, re.S).group(1)
        assert highlighted == render.esc(sentence)


def test_conversation_files_share_one_folder_by_content_and_old_ones_go(tmp_path):
    folder = tempfile.TemporaryDirectory(dir=tmp_path)
    a = webapp._export_path(folder, "# one\n")
    assert webapp._export_path(folder, "# one\n") == a
    b = webapp._export_path(folder, "# two\n")
    assert b != a and b.read_text(encoding="utf-8") == "# two\n"
    assert a.parent.parent == b.parent.parent == Path(folder.name)
    old = time.time() - webapp.EXPORT_MAX_AGE_S - 10
    os.utime(a, (old, old))
    webapp._export_path(folder, "# three\n")
    assert not a.exists() and b.exists()
    folder.cleanup()
    assert not Path(folder.name).exists()

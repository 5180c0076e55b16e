"""Generated answers through the public API, against a scripted OpenAI-compatible server.

The server is ``tests/llm_fake_server.py`` on 127.0.0.1 (protocol tests: it answers what
each test scripts). This checks the core's side: evidence numbering, renumbered
citations that still point at exact quotes, and the extractive fallback with a notice.
"""

import re

import pytest

from assistant import Assistant

from llm_fake_server import FakeLLMServer, status, text


@pytest.fixture
def server():
    srv = FakeLLMServer().start()
    yield srv
    srv.stop()


def _qa(qa, server, **extra):
    settings = qa.settings.replace(llm_provider="openai-compatible", llm_base_url=server.base_url,
                                   llm_model="scripted", llm_timeout=5.0, **extra)
    return Assistant(qa._index, qa._embedder, settings)


def _evidence_number(server, needle):
    """The [n] the core gave the evidence sentence containing ``needle`` in the prompt."""
    prompt = server.requests[-1].content("user")
    for line in prompt.splitlines():
        if needle in line:
            return int(re.search(r"\[(\d+)\]", line).group(1))
    raise AssertionError(f"{needle!r} not in the evidence sent:\n{prompt}")


def test_scripted_server_faithful_answer_is_kept_and_renumbered(qa, server):
    question = "How much is the AWS deal worth?"
    server.steps = [text("placeholder")]
    _qa(qa, server).ask(question)  # learn which number the core gives the "Montant" sentence
    n = _evidence_number(server, "Montant annoncé")
    server.steps = [text(f"The deal is worth 38 billion dollars of cloud capacity [{n}].")]
    ans = _qa(qa, server).ask(question)
    assert ans.mode == "generated" and not ans.abstained
    assert ans.text == "The deal is worth 38 billion dollars of cloud capacity [1]."
    (c,) = ans.citations
    assert c.number == 1 and "38 milliards" in c.quote
    assert qa.article(c.article_id).text[c.start:c.end] == c.quote


def test_scripted_server_invented_figure_is_removed(qa, server):
    question = "How much is the AWS deal worth?"
    server.steps = [text("placeholder")]
    _qa(qa, server).ask(question)
    n = _evidence_number(server, "Montant annoncé")
    server.steps = [text(f"The deal is worth 38 billion dollars [{n}]. It employs 99,000 engineers [{n}].")]
    ans = _qa(qa, server).ask(question)
    assert ans.mode == "generated"
    assert "99" not in ans.text and "38 billion" in ans.text
    assert any("99" in r for r in ans.removed)


def test_scripted_server_failure_falls_back_to_extractive_with_notice(qa, server):
    server.steps = [status(429)]
    ans = _qa(qa, server).ask("Combien vaut l'accord entre OpenAI et AWS ?")
    assert ans.mode == "extractive" and "38 milliards" in ans.text
    assert ans.notices and "429" in ans.notices[0] and ans.notices[0].startswith("Réponse générée indisponible")


def test_unanswerable_questions_never_reach_the_model(qa, server):
    server.steps = [text("Argentina won [1].")]
    ans = _qa(qa, server).ask("Who won the 2022 World Cup?")
    assert ans.abstained and not server.requests


def test_stream_yields_only_verified_text(qa, server):
    question = "How much is the AWS deal worth?"
    server.steps = [text("placeholder")]
    _qa(qa, server).ask(question)
    n = _evidence_number(server, "Montant annoncé")
    server.steps = [text(f"It is worth 38 billion dollars [{n}]. Amazon paid 5 trillion [{n}].", chunk=3)]
    parts = list(_qa(qa, server).stream(question))
    final = parts[-1]
    assert "".join(parts[:-1]) == final.text == "It is worth 38 billion dollars [1]."

"""The calls to the model: a streamed, verified answer and a follow-up rewrite.

:func:`stream_generate` sends the answer prompt, cuts the reply into sentences as they
complete and yields only those that pass verification, then the
:class:`~.verification.GenerationResult`; an unverified claim never reaches the screen.
:func:`condense_question` is the one non-streamed call: a follow-up question rewritten
as a standalone one.
"""

from __future__ import annotations

import re
from typing import Iterator, Sequence

from ..config import Settings
from ..errors import LLMError
from ..types import Citation
from .prompt import CONDENSE_HISTORY, abstention_text, build_messages, condense_messages, one_line, recent
from .reply import Sentence, split_sentences, started, visible
from .verification import GenerationResult, Judge, Verdict, result

__all__ = ["condense_question", "stream_generate"]


def stream_generate(question: str, language: str, evidence: Sequence[Citation], settings: Settings, *,
                    history: Sequence[str] = ()) -> Iterator[str | GenerationResult]:
    """Yield text deltas as the model produces them, then the verified GenerationResult last.

    Deltas are whole verified sentences (with the space or line break before them), so
    an unverified claim never reaches the screen: joined, they equal ``result.text``
    unless ``result.fell_back``. Raises LLMError (and, for a broken configuration,
    ConfigError or BackendUnavailableError).
    """
    from .llm import get_client

    if not evidence:
        # nothing to cite: no need to ask the model
        text = abstention_text(language)
        yield text
        yield GenerationResult(text, (), (), 1.0, True, False, "")
        return
    client = get_client(settings)
    messages = build_messages(question, language, evidence, history)
    judge = Judge(evidence, question)
    raw = ""
    verdicts: list[Verdict] = []
    emitted = 0  # kept sentences already yielded

    def judge_upto(sentences: list[Sentence]) -> Iterator[str]:
        nonlocal emitted
        for s in sentences[len(verdicts):]:
            v = judge(s)
            verdicts.append(v)
            if v.ok:
                yield (v.sep if emitted else "") + v.text
                emitted += 1

    for delta in client.stream(messages):
        raw += delta
        sentences = split_sentences(visible(raw))
        # a sentence is complete once the next one has really started
        if sentences and not started(sentences[-1].text):
            sentences.pop()
        yield from judge_upto(sentences[:-1])
    yield from judge_upto(split_sentences(visible(raw)))
    if not visible(raw).strip():
        raise LLMError("the language model sent an empty reply")
    final = result(verdicts, raw, language, settings.llm_on_unverified)
    if final.abstained and final.text:
        yield final.text
    yield final


_REWRITE_LABEL = re.compile(r"^(?:standalone question|rewritten question|question autonome|question reformulée|"
                            r"question)\s*:\s*", re.I)


def condense_question(question: str, history: Sequence[str], language: str, settings: Settings) -> str:
    """The follow-up ``question`` rewritten as a standalone question, in the same language.

    Without history the question is returned as is (no model call). Raises LLMError.
    """
    past = recent(history, CONDENSE_HISTORY)
    if not past:
        return question
    from .llm import get_client

    reply = visible(get_client(settings).complete(condense_messages(question, history, language)))
    line = next((ln for ln in (x.strip() for x in reply.splitlines()) if ln), "")
    line = _REWRITE_LABEL.sub("", line)
    line = line.strip(" \t\"'«»“”`*").strip()
    if not line:
        raise LLMError("the language model sent an empty reply to the follow-up rewrite")
    if len(line) > max(400, 3 * len(question) + sum(len(h) for h in past)):
        raise LLMError("the language model's rewrite of the follow-up question is implausibly long")
    return one_line(line)

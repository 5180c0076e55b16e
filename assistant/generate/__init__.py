"""Generated answers from a configured LLM, every sentence checked against its citation.

The core retrieves and numbers the evidence (``Citation.number`` 1..N, ``.quote`` the
exact French sentences); this package

1. prompts the model (:mod:`.prompt`: French or English templates, the question's
   language) with the evidence between ``<evidence>`` tags, which the system prompt
   declares to be data, never instructions;
2. streams the reply (:mod:`.stream`) and cuts it into sentences as they complete
   (:mod:`.reply`);
3. verifies each sentence (:mod:`.verification`): it must cite ``[n]`` evidence that exists,
   and every number, amount, date and proper name in it must appear in the evidence it
   cites (:mod:`.facts`: "38 billion" = "38 milliards", "seven" = "sept",
   "10 %" = "10%", "1,400" = "1 400", "1.4 trillion" = "1 400 milliards");
4. yields only the sentences that pass, then a :class:`GenerationResult`.

A sentence that fails is dropped (``settings.llm_on_unverified == 'drop'``) or makes the
whole answer fall back to the extractive one (``'answer'``); either way ``removed`` says
which sentence went and why. A reply saying the evidence does not answer (in French or
English) is reported as an abstention. The clients (OpenAI-compatible servers, Ollama,
a local GGUF file) are in :mod:`.llm`, imported only when a model is called.
"""

from __future__ import annotations

from .facts import unsupported
from .prompt import ABSTAIN, MAX_SENTENCES, abstention_text, build_messages
from .reply import split_sentences
from .stream import condense_question, stream_generate
from .verification import GenerationResult, is_abstention, verify

__all__ = [
    "ABSTAIN",
    "GenerationResult",
    "MAX_SENTENCES",
    "abstention_text",
    "build_messages",
    "condense_question",
    "is_abstention",
    "split_sentences",
    "stream_generate",
    "unsupported",
    "verify",
]

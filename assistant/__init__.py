"""Cited answers over a corpus of news articles, in French or English, offline.

>>> from assistant import Assistant
>>> qa = Assistant.load()                                  # doctest: +SKIP
>>> ans = qa.ask("How much is the AWS deal worth?")        # doctest: +SKIP
>>> ans.text, ans.citations[0].quote                       # doctest: +SKIP

The public names are imported on first use (PEP 562), so ``import assistant`` and
``assistant --help`` do not pay for numpy, llama-index or the embedding model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "Answer": ".types",
    "Article": ".types",
    "Assistant": ".core",
    "AssistantError": ".errors",
    "BackendUnavailableError": ".errors",
    "BuildReport": ".index",
    "Chunk": ".types",
    "Citation": ".types",
    "ConfigError": ".errors",
    "CorpusError": ".errors",
    "IndexBusyError": ".errors",
    "IndexCorruptError": ".errors",
    "IndexMismatchError": ".errors",
    "IndexNotFoundError": ".errors",
    "IndexWriteError": ".errors",
    "InvalidQuestionError": ".errors",
    "LLMError": ".errors",
    "Passage": ".types",
    "Settings": ".config",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from .config import Settings
    from .core import Assistant
    from .errors import (AssistantError, BackendUnavailableError, ConfigError, CorpusError,
                         IndexBusyError, IndexCorruptError, IndexMismatchError, IndexNotFoundError,
                         IndexWriteError, InvalidQuestionError, LLMError)
    from .index import BuildReport
    from .types import Answer, Article, Chunk, Citation, Passage

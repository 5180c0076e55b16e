"""Cited answers over a corpus of news articles, in French or English, offline.

>>> from assistant import Assistant
>>> qa = Assistant.load()                                  # doctest: +SKIP
>>> ans = qa.ask("How much is the AWS deal worth?")        # doctest: +SKIP
>>> ans.text, ans.citations[0].quote                       # doctest: +SKIP
"""

from .config import Settings
from .core import Assistant
from .errors import (
    AssistantError,
    BackendUnavailableError,
    ConfigError,
    CorpusError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InvalidQuestionError,
    LLMError,
)
from .index import BuildReport
from .types import Answer, Article, Chunk, Citation, Passage

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Article",
    "Assistant",
    "AssistantError",
    "BackendUnavailableError",
    "BuildReport",
    "Chunk",
    "Citation",
    "ConfigError",
    "CorpusError",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexWriteError",
    "InvalidQuestionError",
    "LLMError",
    "Passage",
    "Settings",
    "__version__",
]

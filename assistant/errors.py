"""One small exception hierarchy: callers catch ``AssistantError`` and show its message.

Every message is a single line that says what went wrong and, where there is one,
what to do next. The CLI prints it without a traceback and exits non-zero.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class of every error the assistant raises on purpose."""

    exit_code = 1


class InvalidQuestionError(AssistantError, ValueError):
    """The question (or its history) is empty, too long, or not text a person would type.

    ``reason`` names the rule that failed, for programs: ``type``, ``encoding``,
    ``control``, ``empty``, ``too_long``, ``no_words`` or ``history``.
    """

    exit_code = 2

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class CorpusError(AssistantError):
    """The corpus folder is missing, empty, or holds files that cannot be read."""


class IndexNotFoundError(AssistantError):
    """No index has been built at the given place yet."""


class IndexCorruptError(AssistantError):
    """The index exists but its files are damaged or inconsistent."""


class IndexMismatchError(AssistantError):
    """The index was built with another embedder, format or chunking."""


class IndexWriteError(AssistantError):
    """The index cannot be written (disk full, folder not writable); the previous one stays."""


class IndexBusyError(AssistantError):
    """Another process is writing this index right now."""


class BackendUnavailableError(AssistantError):
    """An optional backend (embedder, LLM) is configured but not installed or not usable."""


class ConfigError(AssistantError, ValueError):
    """A setting has a value the assistant cannot use."""


class LLMError(AssistantError):
    """The configured language model failed (timeout, refused, malformed reply)."""

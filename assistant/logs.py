"""Secrets never reach a log line: a logging filter that redacts credentials.

The library only logs; whoever configures logging (the CLI does) adds
``RedactCredentials`` to its handlers, so records from every library (httpx, openai,
llama-index at ``-vv``) are cleaned too: ``user:password@`` in URLs, ``api_key=``-like
query values and ``Bearer`` tokens become ``***``.
"""

from __future__ import annotations

import logging
import re

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^\s/?#@]+@", re.I)
_SECRET_PARAM = re.compile(r"((?:api[_-]?key|access[_-]?token|token|secret|password|passwd|key)=)[^&\s'\"]+", re.I)
_BEARER = re.compile(r"(\bBearer\s+)[\w.~+/=\-]+", re.I)


def redact(text: str) -> str:
    """``text`` with credentials in URLs, secret query values and bearer tokens masked."""
    text = _USERINFO.sub(r"\1***@", text)
    text = _SECRET_PARAM.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)


class RedactCredentials(logging.Filter):
    """A handler filter that masks secrets in the message and the traceback of a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the formatter's business
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        return True

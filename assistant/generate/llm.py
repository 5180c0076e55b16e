"""LLM client plumbing for generated answers (optional; the default stays extractive).

Three providers, chosen by ``settings.llm_provider``:

* ``openai-compatible``: any server speaking OpenAI's ``/v1/chat/completions`` (vLLM,
  llama.cpp's server, LM Studio, a hosted API), through llama-index's ``OpenAILike``;
* ``ollama``: an Ollama server's ``/api/chat``, through llama-index's ``Ollama``;
* ``gguf``: a local GGUF file served by xllamacpp's llama.cpp server, started once per
  process in a child process on 127.0.0.1 and spoken to over its OpenAI-compatible API.

Everything heavy is imported lazily: without the extras installed, asking for a client
raises :class:`BackendUnavailableError` with the pip command that fixes it.

Every failure at request time (timeout, refused connection, HTTP 429 or other errors,
malformed or empty replies) becomes an :class:`LLMError` with a one-line message that
never contains the API key (nor anything the server echoed back).

>>> client = get_client(settings)                                   # doctest: +SKIP
>>> "".join(client.stream([{"role": "user", "content": "Bonjour"}]))   # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ..config import Settings
from ..errors import BackendUnavailableError, ConfigError, LLMError

log = logging.getLogger(__name__)

Message = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": str}

#: Retries are ours, not the libraries': at most this many, only for a refused connection
#: or an HTTP 5xx before any text arrived (never for a timeout, which would double the
#: wait, nor for a 429, where retrying at once only makes things worse).
MAX_RETRIES = 1
RETRY_PAUSE_S = 0.3
#: The context window asked of Ollama and of the local GGUF server: the prompt is the
#: instructions, up to ~10 evidence sentences and the question (~1-2k tokens).
CONTEXT_TOKENS = 4096
GGUF_START_TIMEOUT_S = 180.0

PIP_LLM = "pip install 'assistant[llm]'  (llama-index-llms-openai-like, llama-index-llms-ollama)"
PIP_GGUF = "pip install 'assistant[llm,gguf]'  (xllamacpp and llama-index-llms-openai-like)"


# --- public API ---------------------------------------------------------------------------


class LLMClient:
    """One configured model: ``stream`` yields text deltas, ``complete`` returns the reply.

    Thread-safe (the underlying HTTP clients are); built by :func:`get_client`.
    """

    def __init__(self, llm: Any, *, provider: str, where: str, timeout: float,
                 secret: str | None = None) -> None:
        self._llm = llm
        self.provider = provider
        self.where = where  # redacted base URL, safe to show
        self.timeout = timeout
        self._secret = secret

    def __repr__(self) -> str:
        return f"LLMClient(provider={self.provider!r}, where={self.where!r})"

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply's text as the model produces it. Raises LLMError."""
        chat = _to_chat_messages(messages)
        attempt = 0
        while True:
            produced = False
            try:
                for response in self._llm.stream_chat(chat):
                    delta = getattr(response, "delta", None)
                    if delta:
                        produced = True
                        yield delta
            except LLMError:
                raise
            except Exception as exc:  # noqa: BLE001 - every library error becomes an LLMError
                error = self._error(exc)
                if produced or attempt >= MAX_RETRIES or not _retryable(exc):
                    raise error from None
                attempt += 1
                log.info("LLM request failed (%s); retrying once", error)
                time.sleep(RETRY_PAUSE_S)
                continue
            if not produced:
                raise LLMError(f"the language model at {self.where} sent an empty reply")
            return

    def complete(self, messages: Sequence[Message]) -> str:
        """The whole reply, in one non-streamed request. Raises LLMError."""
        chat = _to_chat_messages(messages)
        attempt = 0
        while True:
            try:
                response = self._llm.chat(chat)
                content = response.message.content
                break
            except IndexError:  # an OpenAI reply with no choices at all
                content = None
                break
            except LLMError:
                raise
            except Exception as exc:  # noqa: BLE001 - every library error becomes an LLMError
                error = self._error(exc)
                if attempt >= MAX_RETRIES or not _retryable(exc):
                    raise error from None
                attempt += 1
                log.info("LLM request failed (%s); retrying once", error)
                time.sleep(RETRY_PAUSE_S)
        if not content or not str(content).strip():
            raise LLMError(f"the language model at {self.where} sent an empty reply")
        return str(content)

    def _error(self, exc: BaseException) -> LLMError:
        return LLMError(_scrub(describe_error(exc, self.where, self.timeout), self._secret))


def get_client(settings: Settings) -> LLMClient:
    """The client for ``settings`` (cached: one per distinct configuration).

    Raises ConfigError when the configuration is incomplete and BackendUnavailableError
    when the needed extra is not installed (or the local model cannot be started).
    """
    provider = settings.llm_provider
    if provider is None:
        raise ConfigError("no LLM is configured: set ASSISTANT_LLM_PROVIDER to openai-compatible, ollama or gguf")
    server = gguf_server(_gguf_path(settings)) if provider == "gguf" else None
    key = _cache_key(settings, server.address if server else None)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None:
            _CLIENTS.move_to_end(key)
            return client
    if provider == "openai-compatible":
        client = _openai_compatible(settings)
    elif provider == "ollama":
        client = _ollama(settings)
    elif provider == "gguf":
        client = _gguf(settings, server)
    else:  # Settings validates this already
        raise ConfigError(f"unknown llm_provider {provider!r}")
    with _CLIENTS_LOCK:
        _CLIENTS[key] = client
        while len(_CLIENTS) > 8:
            _CLIENTS.popitem(last=False)
    return client


def check(settings: Settings) -> None:
    """Fail fast at start-up: raise ConfigError / BackendUnavailableError now, not mid-answer."""
    if settings.llm_provider is not None:
        get_client(settings)


def redact_url(url: str) -> str:
    """``url`` without user:password, query or fragment (safe for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_error(exc: BaseException, where: str, timeout: float) -> str:
    """A one-line, secret-free description of a client library's exception."""
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    code = _status_code(exc)
    if code is not None:
        if code == 429:
            return f"the language model at {where} is rate-limiting requests (HTTP 429); try again later"
        if code in (401, 403):
            return (f"the language model at {where} refused the credentials (HTTP {code}); "
                    "check ASSISTANT_LLM_API_KEY")
        if code == 404:
            return (f"the language model at {where} answered HTTP 404: check ASSISTANT_LLM_MODEL "
                    "and ASSISTANT_LLM_BASE_URL")
        if code >= 500:
            return f"the language model at {where} failed with HTTP {code}; try again later"
        return f"the language model at {where} rejected the request (HTTP {code})"
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return f"the language model at {where} did not answer within {timeout:g} s"
    if name in {"RemoteProtocolError", "ReadError", "WriteError"}:
        return f"the connection to the language model at {where} broke off"
    if "Connect" in name or isinstance(exc, ConnectionError):
        return f"cannot reach the language model at {where}: is the server running?"
    if isinstance(exc, (json.JSONDecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError)) \
            or "Validation" in name or "Decode" in name:
        return f"the language model at {where} sent a malformed reply ({name})"
    if module.startswith(("openai", "httpx", "ollama")):
        return f"the language model at {where} failed ({name})"
    return f"the language model at {where} failed unexpectedly ({name})"


# --- providers -------------------------------------------------------------------------------


def _openai_like_class() -> Any:
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError:
        raise BackendUnavailableError(f"the LLM provider needs llama-index-llms-openai-like: {PIP_LLM}") from None
    return OpenAILike


def _openai_like(settings: Settings, *, api_base: str, model: str, api_key: str | None,
                 http_client: Any = None, extra: Mapping[str, Any] | None = None) -> Any:
    OpenAILike = _openai_like_class()
    return OpenAILike(
        model=model,
        api_base=api_base,
        # Never let the library fall back to OPENAI_API_KEY: that key is not meant for
        # whatever server ASSISTANT_LLM_BASE_URL points at.
        api_key=api_key or "no-key",
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=CONTEXT_TOKENS,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=0,  # see MAX_RETRIES
        reuse_client=True,
        http_client=http_client,
        additional_kwargs=dict(extra or {}),
    )


def _openai_compatible(settings: Settings) -> LLMClient:
    if not settings.llm_base_url:
        raise ConfigError("llm_provider openai-compatible needs ASSISTANT_LLM_BASE_URL "
                          "(for example http://127.0.0.1:8080/v1)")
    if not settings.llm_model:
        raise ConfigError("llm_provider openai-compatible needs ASSISTANT_LLM_MODEL (the model's name on the server)")
    base = normalise_openai_base(settings.llm_base_url)
    llm = _openai_like(settings, api_base=base, model=settings.llm_model, api_key=settings.llm_api_key)
    return LLMClient(llm, provider="openai-compatible", where=redact_url(base), timeout=settings.llm_timeout,
                     secret=settings.llm_api_key)


def normalise_openai_base(url: str) -> str:
    """Add ``/v1`` to a bare ``http://host:port`` (the path every OpenAI-compatible server uses)."""
    url, parts = _base_url(url)
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def _base_url(url: str) -> tuple[str, SplitResult]:
    """``url`` without trailing slashes, and its parts; ConfigError unless http(s) with a host."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError("ASSISTANT_LLM_BASE_URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("ASSISTANT_LLM_BASE_URL must start with http:// or https:// and name a host")
    return url, parts


def _ollama(settings: Settings) -> LLMClient:
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError:
        raise BackendUnavailableError(f"the ollama provider needs llama-index-llms-ollama: {PIP_LLM}") from None
    if not settings.llm_model:
        raise ConfigError("llm_provider ollama needs ASSISTANT_LLM_MODEL (for example qwen2.5:3b)")
    base, _ = _base_url(settings.llm_base_url or "http://127.0.0.1:11434")
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else None
    llm = Ollama(
        model=settings.llm_model,
        base_url=base,
        temperature=settings.llm_temperature,
        # explicit, or the client asks the server (/api/show) before every request
        context_window=CONTEXT_TOKENS,
        request_timeout=settings.llm_timeout,
        additional_kwargs={"num_predict": settings.llm_max_tokens},
        is_function_calling_model=False,
        headers=headers,
    )
    return LLMClient(llm, provider="ollama", where=redact_url(base), timeout=settings.llm_timeout,
                     secret=settings.llm_api_key)


def _gguf_path(settings: Settings) -> Path:
    if settings.llm_gguf is None:
        raise ConfigError("llm_provider gguf needs ASSISTANT_LLM_GGUF (the path of a .gguf model file)")
    path = Path(settings.llm_gguf).expanduser()
    if not path.is_file():
        raise ConfigError(f"ASSISTANT_LLM_GGUF: no model file at {path}")
    _openai_like_class()  # fail before starting a server we could not talk to
    return path


def _gguf(settings: Settings, server: "GGUFServer") -> LLMClient:
    path = server.model
    import httpx  # a dependency of the openai client; loopback only, so no proxies

    http_client = httpx.Client(trust_env=False, timeout=settings.llm_timeout)
    llm = _openai_like(settings, api_base=server.base_url, model=path.name, api_key=server.token,
                       http_client=http_client, extra={"seed": 42})  # reproducible answers
    return LLMClient(llm, provider="gguf", where=f"{server.base_url} ({path.name})",
                     timeout=settings.llm_timeout, secret=server.token)


# --- the local GGUF server ---------------------------------------------------------------------

# Runs in a child process so that a crash in llama.cpp cannot take the assistant down and
# the model's memory is freed when it stops. It prints one JSON line (its address or the
# error), then serves until its stdin closes, i.e. until the parent exits or stops it.
_SERVER_SCRIPT = r"""
import json, os, sys
try:
    import xllamacpp as xlc
except ImportError as exc:
    print(json.dumps({"error": "xllamacpp is not installed"}), flush=True)
    sys.exit(3)
model, n_ctx, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = xlc.CommonParams()
p.model.path = model
p.n_ctx = n_ctx
p.n_parallel = 1
p.cpuparams.n_threads = threads
p.cpuparams_batch.n_threads = threads
p.hostnames = ["127.0.0.1"]
p.port = 0
p.warmup = False
p.ui = False
p.verbosity = 0
token = os.environ.pop("ASSISTANT_GGUF_SERVER_TOKEN", "")
if token:
    p.api_keys = [token]
try:
    server = xlc.Server(p)
except Exception as exc:
    print(json.dumps({"error": f"llama.cpp could not load the model ({exc})"}), flush=True)
    sys.exit(4)
print(json.dumps({"address": server.listening_address}), flush=True)
sys.stdin.read()
del server
"""


def gguf_threads() -> int:
    """Threads for the local model: half the cores (the embedder and the web server need
    the rest; on a busy 2-core machine one thread is several times faster than two)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


class GGUFServer:
    """xllamacpp's llama.cpp server for one model file, in a child process on 127.0.0.1."""

    def __init__(self, model: Path, *, n_ctx: int = CONTEXT_TOKENS, threads: int | None = None,
                 start_timeout: float = GGUF_START_TIMEOUT_S) -> None:
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads or gguf_threads()
        self.start_timeout = start_timeout
        self.token = secrets.token_urlsafe(24)  # keeps other local users off the server
        self.address = ""
        self.started_in_s = 0.0
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return self.address + "/v1"

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "GGUFServer":
        try:
            import importlib.util

            found = importlib.util.find_spec("xllamacpp") is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise BackendUnavailableError(f"the gguf provider needs xllamacpp: {PIP_GGUF}")
        t0 = time.monotonic()
        env = dict(os.environ, ASSISTANT_GGUF_SERVER_TOKEN=self.token)
        self._log = tempfile.TemporaryFile(mode="w+b")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_SCRIPT, str(self.model), str(self.n_ctx), str(self.threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            close_fds=True,
        )
        line = _read_line(self._proc, self.start_timeout)
        try:
            info = json.loads(line) if line else {}
        except ValueError:
            info = {}
        if "address" not in info:
            reason = info.get("error") or self._last_log_line() or "it exited without saying why"
            if line is None:
                reason = f"it did not start within {self.start_timeout:g} s"
            self.stop()
            raise BackendUnavailableError(f"cannot start the local GGUF model {self.model.name}: {reason}")
        self.address = str(info["address"]).rstrip("/")
        self.started_in_s = time.monotonic() - t0
        log.info("local GGUF server for %s listening on %s (started in %.1f s, %d threads)",
                 self.model.name, self.address, self.started_in_s, self.threads)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            for stream in (proc.stdout,):
                try:
                    stream and stream.close()
                except OSError:
                    pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def _last_log_line(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0)
            lines = [ln.strip() for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""


_SERVERS: dict[tuple[str, int, int], GGUFServer] = {}
_SERVERS_LOCK = threading.Lock()


def gguf_server(model: Path, *, threads: int | None = None) -> GGUFServer:
    """The running server for ``model`` (started on first use, restarted if it died)."""
    key = (str(Path(model).resolve()), CONTEXT_TOKENS, threads or gguf_threads())
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is not None and server.alive:
            return server
        if server is not None:
            log.warning("the local GGUF server for %s had stopped; starting it again", Path(model).name)
            server.stop()
        server = GGUFServer(Path(model), threads=threads).start()
        _SERVERS[key] = server
        return server


@atexit.register
def stop_gguf_servers() -> None:
    """Stop every local model server this process started."""
    with _SERVERS_LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()


def _read_line(proc: subprocess.Popen, timeout: float) -> str | None:
    """The child's first stdout line, or None if it takes longer than ``timeout``."""
    out: list[str] = []

    def reader() -> None:
        try:
            out.append(proc.stdout.readline().decode("utf-8", "replace"))  # type: ignore[union-attr]
        except (OSError, ValueError):
            out.append("")

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return None
    return out[0].strip() if out else ""


# --- helpers ----------------------------------------------------------------------------------

_CLIENTS: "OrderedDict[tuple, LLMClient]" = OrderedDict()
_CLIENTS_LOCK = threading.Lock()


def _cache_key(settings: Settings, server_address: str | None) -> tuple:
    secret = hashlib.sha256((settings.llm_api_key or "").encode()).hexdigest()[:16]
    return (settings.llm_provider, settings.llm_base_url, settings.llm_model, secret,
            str(settings.llm_gguf), server_address, settings.llm_timeout, settings.llm_temperature,
            settings.llm_max_tokens)


def _to_chat_messages(messages: Sequence[Message]) -> list[Any]:
    from llama_index.core.llms import ChatMessage  # llama-index-core is a base dependency

    return [ChatMessage(role=m["role"], content=m["content"]) for m in messages]


def _status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and code >= 100:
        return code
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) and code >= 100 else None


def _retryable(exc: BaseException) -> bool:
    code = _status_code(exc)
    if code is not None:
        return code in (500, 502, 503, 504)
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return False
    return "Connect" in name or isinstance(exc, ConnectionError)


def _scrub(message: str, secret: str | None) -> str:
    """One line, without the secret (defence in depth: messages are built without it)."""
    message = " ".join(message.split())
    if secret and len(secret) >= 4:
        message = message.replace(secret, "***")
    return message

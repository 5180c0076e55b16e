"""A scripted LLM server for protocol tests: stdlib ``http.server`` on 127.0.0.1, in a thread.

It speaks just enough of two APIs for the assistant's clients:

* OpenAI's ``POST /v1/chat/completions``, plain JSON or ``stream: true`` (SSE chunks
  ending with ``data: [DONE]``);
* Ollama's ``POST /api/chat``, one JSON object or NDJSON lines when streaming.

Each request takes the next scripted :class:`Step` (the last one repeats), so a test
says exactly what the "model" answers: a text, an HTTP error, malformed JSON, an
empty reply, or a delay longer than the client's timeout. Every request is recorded
(path, headers, JSON body) so tests can look at the prompt that was sent.

Nothing here leaves the loopback interface, and every delay is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_DELAY_S = 10.0


@dataclass
class Step:
    """What the server does with one request.

    kind: ``text`` (answer ``text``), ``status`` (HTTP ``status`` with ``body``),
    ``malformed`` (200 with a body that is not JSON), ``empty`` (200 with no choices /
    empty content), ``hang`` (sleep ``delay`` seconds, then answer ``text``).
    """

    kind: str = "text"
    text: str = ""
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: for streams: how many characters per chunk
    chunk: int = 7


def text(t: str, **kw: Any) -> Step:
    return Step("text", text=t, **kw)


def status(code: int, body: str = "", **kw: Any) -> Step:
    return Step("status", status=code, body=body or json.dumps({"error": {"message": f"error {code}"}}), **kw)


def malformed() -> Step:
    return Step("malformed")


def empty() -> Step:
    return Step("empty")


def hang(delay: float, t: str = "too late [1].") -> Step:
    return Step("hang", text=t, delay=min(delay, MAX_DELAY_S))


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gives up (timeout tests) resets its connection: expected


class FakeLLMServer:
    """``with FakeLLMServer([text("... [1].")]) as srv: srv.base_url`` (OpenAI, with /v1)."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        self.steps: list[Step] = list(steps or [text("OK [1].")])
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") in ("/v1/models", "/api/tags"):
                    self._send(200, json.dumps({"data": [{"id": "fake"}], "models": []}))
                else:
                    self._send(404, json.dumps({"error": "not found"}))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with owner._lock:
                    owner.requests.append(req)
                    step = owner.steps.pop(0) if len(owner.steps) > 1 else owner.steps[0]
                path = self.path.split("?")[0].rstrip("/")
                if path.endswith("/chat/completions"):
                    self._openai(step, body)
                elif path == "/api/chat":
                    self._ollama(step, body)
                else:
                    self._send(404, json.dumps({"error": f"no route {path}"}))

            # -- helpers ------------------------------------------------------------

            def _send(self, code: int, payload: str, ctype: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                data = payload.encode("utf-8")
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _wait(self, step: Step) -> bool:
                """Sleep for a hang step; False when the server is stopping."""
                if step.kind == "hang":
                    return not owner._stop.wait(step.delay)
                return True

            def _pieces(self, s: str, n: int) -> list[str]:
                return [s[i:i + n] for i in range(0, len(s), n)] or [""]

            def _openai(self, step: Step, body: dict[str, Any]) -> None:
                if step.kind == "status":
                    self._send(step.status, step.body, headers=step.headers)
                    return
                if not self._wait(step):
                    return
                model = body.get("model", "fake")
                if not body.get("stream"):
                    if step.kind == "malformed":
                        self._send(200, '{"id": "x", "choices": [{"message": {"content": "Abil')
                    elif step.kind == "empty":
                        self._send(200, json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                                                    "model": model, "choices": []}))
                    else:
                        self._send(200, json.dumps({
                            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                            "model": model,
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": step.text}}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        }))
                    return
                # SSE stream, chunked transfer so the client sees pieces as they come
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()

                    def event(obj: Any) -> None:
                        payload = obj if isinstance(obj, str) else json.dumps(obj)
                        data = f"data: {payload}\n\n".encode("utf-8")
                        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()

                    def chunk(content: str | None, finish: str | None = None, role: bool = False) -> dict:
                        delta: dict[str, Any] = {}
                        if role:
                            delta["role"] = "assistant"
                        if content is not None:
                            delta["content"] = content
                        return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                "model": model,
                                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

                    if step.kind == "malformed":
                        event(chunk("Abilene", role=True))
                        event('{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "oops')
                    elif step.kind == "empty":
                        event(chunk("", role=True))
                        event(chunk(None, finish="stop"))
                    else:
                        event(chunk("", role=True))
                        for piece in self._pieces(step.text, step.chunk):
                            event(chunk(piece))
                            time.sleep(0.002)
                        event(chunk(None, finish="stop"))
                    event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _ollama(self, step: Step, body: dict[str, Any]) -> None:
                if step.kind == "status":
                    self._send(step.status, step.body, headers=step.headers)
                    return
                if not self._wait(step):
                    return
                model = body.get("model", "fake")
                stamp = "2025-01-01T00:00:00Z"

                def msg(content: str, done: bool) -> dict[str, Any]:
                    out: dict[str, Any] = {"model": model, "created_at": stamp,
                                           "message": {"role": "assistant", "content": content}, "done": done}
                    if done:
                        out.update({"done_reason": "stop", "total_duration": 1, "prompt_eval_count": 1,
                                    "eval_count": 1})
                    return out

                if body.get("stream") is False:
                    if step.kind == "malformed":
                        self._send(200, '{"model": "fake", "message": {"content": "Abil')
                    elif step.kind == "empty":
                        self._send(200, json.dumps(msg("", True)))
                    else:
                        self._send(200, json.dumps(msg(step.text, True)))
                    return
                lines: list[str] = []
                if step.kind == "malformed":
                    lines = [json.dumps(msg("Abilene", False)), '{"model": "fake", "message": {"content": "oo']
                elif step.kind == "empty":
                    lines = [json.dumps(msg("", True))]
                else:
                    lines = [json.dumps(msg(p, False)) for p in self._pieces(step.text, step.chunk)]
                    lines.append(json.dumps(msg("", True)))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for line in lines:
                        data = (line + "\n").encode("utf-8")
                        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (with ``/v1``)."""
        return self.root_url + "/v1"

    def start(self) -> "FakeLLMServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeLLMServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def script(self, *steps: Step) -> None:
        with self._lock:
            self.steps = list(steps)

    @property
    def last(self) -> Request:
        return self.requests[-1]


def refused_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


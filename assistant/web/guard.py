"""Request limits and a Host/Origin check in front of the web chat (ASGI middleware).

* ``Host`` must name this server: loopback, the bound address, or a configured
  host (``Settings.allowed_hosts``). A page on another site that resolves its own
  name to 127.0.0.1 (DNS rebinding) is refused.
* ``Origin``, when a browser sends one, must be one of those hosts too, so another
  site's page can neither upload files nor call the app.
* A request body over ``max_body`` bytes is refused before it is read
  (``Content-Length``) or as soon as it grows past the limit (chunked uploads).
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ANY = ("0.0.0.0", "::", "")


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the address the server is bound to (unless a wildcard), and ``extra``."""
    hosts = {*LOOPBACK, *(h.strip().lower() for h in extra if h.strip())}
    if bound not in _ANY:
        hosts.add(bound.strip("[]").lower())
    return frozenset(hosts)


def _hostname(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        return (urlsplit(value).hostname or "").lower()
    if value.startswith("["):  # [::1]:7860
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


async def _plain(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app, hosts: frozenset[str], max_body: int) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _hostname(headers.get("host", ""))
        if host not in self.hosts:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _plain(send, 421, "this server does not answer to that host name")
            return
        origin = headers.get("origin")
        if origin is not None and _hostname(origin) not in self.hosts:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _plain(send, 403, "requests from other sites are not allowed")
            return
        if scope["type"] == "http":
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                length = 0
            if length > self.max_body:
                await _plain(send, 413, f"request body over the {self.max_body}-byte limit")
                return
            receive = self._limited(receive, send)
        await self.app(scope, receive, send)

    def _limited(self, receive, send):
        seen = 0
        limit = self.max_body

        async def wrapped():
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    return {"type": "http.disconnect"}
            return message

        return wrapped

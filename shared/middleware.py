"""Pure ASGI middleware (no BaseHTTPMiddleware: it breaks streaming and context variables)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import language_var, new_request_id, principal_var, request_id_var, route_var, token_var
from shared.i18n import pick_language

REQUESTS = Counter("hamp_http_requests_total", "HTTP requests", ["component", "method", "status"])
LATENCY = Histogram(
    "hamp_http_request_seconds",
    "HTTP request latency",
    ["component", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# Every answer of every component, the gateway's and a service's alike (a service port reached
# directly must be no weaker); the gateway adds only what is its own (the console's CSP, HSTS).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# JSON answers carry patient and account data: no browser or proxy keeps a copy.
NO_STORE = {"Cache-Control": "no-store"}
_OWN = {name.lower().encode() for name in SECURITY_HEADERS}


def _is_json(content_type: bytes) -> bool:
    kind = content_type.split(b";")[0].strip().lower()
    return kind == b"application/json" or kind.endswith(b"+json")


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every answer (replacing any copy an upstream answer brought, so a
    proxied answer does not carry them twice), and Cache-Control: no-store to JSON answers that
    do not say otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OWN]
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                names = {k.lower(): v for k, v in headers}
                if b"cache-control" not in names and _is_json(names.get(b"content-type", b"")):
                    headers.append((b"cache-control", NO_STORE["Cache-Control"].encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestContextMiddleware:
    """Request id (kept from X-Request-ID or made), language, and request metrics."""

    def __init__(self, app: ASGIApp, component: str) -> None:
        self.app = app
        self.component = component
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming_id = accept_language = None
        for name, value in scope["headers"]:  # the two it reads, not a dict of every header
            if name == b"x-request-id":
                incoming_id = value.decode("latin-1")
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
        request_id = new_request_id(incoming_id)
        request_id_var.set(request_id)
        language_var.set(pick_language(accept_language))
        principal_var.set(None)
        token_var.set("")
        route_var.set(f"{scope.get('method', '')} {scope.get('path', '')}")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *[(k, v) for k, v in message["headers"] if k.lower() != b"x-request-id"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            requests, latency = self._metrics(scope.get("method", ""), status)
            requests.inc()
            latency.observe(time.perf_counter() - started)

    def _metrics(self, method: str, status: int) -> tuple[Any, Any]:
        # prometheus_client's labels() checks and locks on every call: keep each child it gives.
        key = (method, status)
        children = self._children.get(key)
        if children is None:
            children = (REQUESTS.labels(self.component, method, str(status)), LATENCY.labels(self.component, method))
            self._children[key] = children
        return children

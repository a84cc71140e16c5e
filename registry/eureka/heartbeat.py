"""The heartbeat, answered before the framework: `PUT /eureka/apps/{APP}/{id}`.

A registry serves heartbeats more than anything else (10,000 instances renewing every 30 s: ~330
a second, and a peer passes each on). Through FastAPI's routing, its dependencies and the platform's
middlewares each cost ~0.16 ms of CPU, four times the renewal itself (bench/registry.py), which kept
one registry process below a Spring Eureka server's rate. So this plain ASGI handler takes the
heartbeat as the route did — credentials, `lastDirtyTimestamp`, the replication header, Eureka's
200 / 404 / 400 and the bare 401 — and hands every other request on to the app.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from registry.cluster import Cluster
from registry.peers import REPLICATION_HEADER
from shared.registry_auth import basic_matches

_REPLICATION = REPLICATION_HEADER.encode()
_UNAUTHORIZED = [(b"www-authenticate", b'Basic realm="hamp-registry"'), (b"content-length", b"0")]
_EMPTY = [(b"content-length", b"0")]


class Heartbeats:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            # "", "eureka", "apps", APP, id: exactly that (…/status and …/metadata are the app's).
            parts = scope["path"].split("/")
            if len(parts) == 5 and parts[1] == "eureka" and parts[2] == "apps" and parts[3] and parts[4]:
                await self._renew(scope, parts[3], parts[4], send)
                return
        await self.app(scope, receive, send)

    async def _renew(self, scope: Scope, app: str, instance_id: str, send: Send) -> None:
        state = scope["app"].state
        headers = dict(scope["headers"])
        user, passwords = state.writers
        authorization = headers.get(b"authorization")
        if not basic_matches(authorization.decode("latin-1") if authorization else None, user, passwords):
            await _answer(send, 401, _UNAUTHORIZED)
            return
        raw = parse_qs(scope["query_string"].decode("latin-1")).get("lastDirtyTimestamp", [""])[0]
        try:
            last_dirty = int(raw) if raw else None
        except ValueError:
            await _answer(send, 400, [(b"content-type", b"text/plain; charset=utf-8")], b"Invalid lastDirtyTimestamp")
            return
        cluster: Cluster = state.cluster
        replicated = headers.get(_REPLICATION, b"").lower() == b"true"
        # The `status` parameter is ignored, as in Eureka.
        renewed = cluster.renew(app, instance_id, last_dirty, replicated=replicated)
        await _answer(send, 200 if renewed else 404, _EMPTY)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    if body:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

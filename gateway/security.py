"""Who may reach the gateway at all, and the headers only the gateway's answers carry.

Only addresses in `trusted_networks` (the hospital LAN and the VPN pool) are admitted; the
address is the TCP peer unless that peer is one of our own proxies (then X-Forwarded-For).
Health probes are answered to anyone: Kubernetes probes come from the node.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy.client_ip import forwarded_client
from gateway.settings import GatewaySettings
from shared.errors import problem_body
from shared.i18n import Text
from shared.middleware import NO_STORE, SECURITY_HEADERS

log = logging.getLogger("hamp.gateway.security")

# Element Plus sets inline styles; scripts and everything else only from our own origin.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PROBES = ("/health", "/health/ready", "/metrics")


class GatewaySecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings
        self.networks = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_networks]
        self.origins = set(settings.cors_origins)

    def _admitted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        peer = scope["client"][0] if scope.get("client") else ""
        caller = forwarded_client(peer, headers.get("x-forwarded-for", ""), self.settings.trusted_proxies)
        path = scope.get("path", "")
        if path not in PROBES and not self._admitted(caller):
            log.warning("refused a caller outside the trusted networks", extra={"ip": caller, "path": path})
            await self._refuse(send)
            return
        origin = headers.get("origin")
        https = scope.get("scheme") == "https" or (headers.get("x-forwarded-proto") == "https" and caller != peer)
        if origin and origin in self.origins and scope.get("method") == "OPTIONS":
            await self._preflight(send, origin)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # nosniff, frame and referrer rules come from shared.middleware, as on every component.
                extra: list[tuple[bytes, bytes]] = []
                if not path.startswith("/api/"):
                    extra.append((b"content-security-policy", CONSOLE_CSP.encode()))
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if origin and origin in self.origins:
                    extra += [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send: Send) -> None:
        import json

        body = problem_body(
            403,
            "untrusted_network",
            Text("只允许从医院内网或 VPN 访问", "Access is allowed only from the hospital network or the VPN"),
        )
        payload = json.dumps(body, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                    # Answered before the app's own middleware runs, so its headers are added here.
                    *[(k.lower().encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **NO_STORE}.items()],
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _preflight(self, send: Send, origin: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode()),
                    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE"),
                    (b"access-control-allow-headers", b"Authorization, Content-Type, Accept-Language, X-Request-ID"),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

"""Calling another service by its registry name.

`await client.request("DBS", "GET", "/api/dbs/doctors/3")`: the instances come from the
registry, in round robin, skipping those whose breaker is open; each call has a timeout;
the request id and language go along, and the caller's token — or, with `identity="service"`,
this service's own token (shared.service_auth), which is what calls between services use.
Only what is safe is retried on another instance: any method when the connection could not
be made (nothing was sent), and idempotent methods — or a request carrying an
Idempotency-Key — after a timeout or a 5xx.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import httpx2

from shared.balancer import Balancer
from shared.context import current_language, current_request_id, token_var
from shared.errors import Unavailable
from shared.i18n import Text
from shared.service_auth import ServiceTokens

log = logging.getLogger("hamp.service_client")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_ATTEMPTS = 3
Identity = Literal["caller", "service", "none"]


class ServiceClient:
    def __init__(
        self,
        balancer: Balancer,
        timeout: float = 10.0,
        http: httpx2.AsyncClient | None = None,
        tokens: ServiceTokens | None = None,
    ) -> None:
        self.balancer = balancer
        self.http = http or httpx2.AsyncClient(timeout=httpx2.Timeout(timeout, connect=min(timeout, 3.0)))
        self.tokens = tokens

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _headers(self, extra: dict[str, str] | None, identity: Identity) -> dict[str, str]:
        headers = {"X-Request-ID": current_request_id(), "Accept-Language": current_language()}
        token = token_var.get() if identity == "caller" else None
        if identity == "service":
            if self.tokens is None:
                raise RuntimeError("this client has no service identity")
            token = await self.tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return {**headers, **(extra or {})}

    async def request(
        self,
        app: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        identity: Identity = "caller",
    ) -> httpx2.Response:
        """`identity`: whose token goes along — the caller's, this service's, or none."""
        method = method.upper()
        response = await self._request(app, method, path, json, params, await self._headers(headers, identity))
        if response.status_code == 401 and identity == "service" and self.tokens is not None:
            self.tokens.forget()  # the gateway's key may have rotated: one more try with a new token
            response = await self._request(app, method, path, json, params, await self._headers(headers, identity))
        return response

    async def _request(
        self, app: str, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str]
    ) -> httpx2.Response:
        retry_safe = method in IDEMPOTENT or "Idempotency-Key" in headers
        last_error: Exception | None = None
        last_response: httpx2.Response | None = None
        candidates = self.balancer.candidates(app.upper())
        if not candidates:
            # Nothing known of that app yet (just started?): ask the registry now, not at the next fetch.
            await self.balancer.refresh()
            candidates = self.balancer.candidates(app.upper())
        for attempt, instance in enumerate(candidates):
            if attempt >= MAX_ATTEMPTS:
                break
            try:
                response = await self.http.request(
                    method, instance.base_url + path, json=json, params=params, headers=headers
                )
            except httpx2.ConnectError as exc:
                self.balancer.failed(instance, refused=True)
                last_error = exc
                continue
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                self.balancer.failed(instance)
                last_error = exc
                if retry_safe:
                    continue
                break
            if response.status_code >= 500:
                self.balancer.failed(instance)
                if retry_safe:
                    last_response = response
                    continue
                return response
            self.balancer.succeeded(instance)
            return response
        if last_response is not None:
            return last_response  # every instance tried answered 5xx: the caller sees the last answer
        log.warning("no answer from %s for %s %s: %s", app, method, path, last_error)
        raise Unavailable(
            Text(f"服务 {app.lower()} 暂时无法访问", f"Service {app.lower()} is not reachable"),
            code="dependency_unavailable",
        )

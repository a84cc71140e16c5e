"""Calling another service by its registry name.

`await client.request("DBS", "GET", "/api/dbs/doctors/3")`: the instances come from the
registry, in round robin, skipping those whose breaker is open; each call has a timeout;
the request id and language go along, and the caller's token — or, with `identity="service"`,
this service's own token (shared.service_auth), which is what calls between services use.
Only what is safe is retried on another instance: any method when the connection could not
be made (nothing was sent), and idempotent methods — or a request carrying an
Idempotency-Key — after a timeout or a 5xx.

`forward` is the gateway's proxy, with the same instances and breakers: a request streamed to
an instance as it came, its answer streamed back as it is.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
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


class _Body:
    """A request body streamed once; remembers whether sending began (then no retry)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self.chunks = chunks
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self.chunks:
            yield chunk


class ServiceClient:
    def __init__(
        self,
        balancer: Balancer,
        timeout: float = 10.0,
        tokens: ServiceTokens | None = None,
        limits: httpx2.Limits | None = None,
    ) -> None:
        self.balancer = balancer
        self.http = httpx2.AsyncClient(
            limits=limits or httpx2.Limits(), timeout=httpx2.Timeout(timeout, connect=min(timeout, 3.0))
        )
        self.tokens = tokens
        self._session: Any = None  # aiohttp's, made on the first `forward` (it needs the loop)

    async def aclose(self) -> None:
        await self.http.aclose()
        if self._session is not None:
            await self._session.close()

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

    async def forward(
        self,
        app: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: AsyncIterable[bytes] | None,
        timeouts: ForwardTimeouts,
    ) -> Forwarded | None:
        """`target` (path and query) on an instance of `app`; the answer's body still to be read
        (`Forwarded.read` or `chunks`). None when no instance took the connection.

        Through aiohttp, not httpx2: measured here it costs a proxied request 60-75 µs of CPU
        against 340-500 µs for httpx2's transport and 410-690 µs for its client (docs/decisions.md).
        It writes no log line per request either. Only a failure to connect moves on to the next
        instance, and only before the body began: then nothing was sent and any method is safe
        to resend. A timeout raises UpstreamTimeout; a broken connection UpstreamBroken.
        """
        import aiohttp  # only the gateway forwards: services do not pay for the import

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=timeouts.connections, keepalive_timeout=30),
                # Passed on as the service sent it (compressed or not), with the caller's headers only.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        once = _Body(body) if body is not None else None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect, sock_read=timeouts.read)
        for instance in self.balancer.candidates(app.upper()):
            try:
                response = await self._session.request(
                    method,
                    instance.base_url + target,
                    headers=headers,
                    data=once,
                    allow_redirects=False,
                    timeout=timeout,
                )
            except aiohttp.ClientConnectorError as exc:
                self.balancer.failed(instance, refused=True)
                log.warning("cannot connect to %s: %s", instance.instance_id, exc)
                if once is not None and once.started:
                    return None
                continue
            except TimeoutError as exc:
                self.balancer.failed(instance)
                raise UpstreamTimeout(instance.instance_id) from exc
            except aiohttp.ClientError as exc:
                self.balancer.failed(instance)
                raise UpstreamBroken(instance.instance_id) from exc
            self.balancer.succeeded(instance)
            return Forwarded(response)
        return None


@dataclass(frozen=True)
class ForwardTimeouts:
    connect: float
    read: float
    connections: int = 500


class UpstreamTimeout(Exception):
    pass


class UpstreamBroken(Exception):
    pass


class Forwarded:
    """A service's answer to a forwarded request: status and raw headers now, the body to read."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status
        self.raw_headers: list[tuple[bytes, bytes]] = list(response.raw_headers)
        self.content_length: int | None = response.content_length

    async def read(self) -> bytes:
        try:
            return b"".join([chunk async for chunk in self.chunks()])
        finally:
            self.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as exc:
            raise UpstreamTimeout(str(self._response.url.host)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(str(self._response.url.host)) from exc

    def close(self) -> None:
        """Back to the pool when the body was read, closed otherwise."""
        self._response.release()

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

import json as json_module
import logging
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from shared.balancer import Balancer, Instance
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


class AnswerError(Exception):
    """`ServiceAnswer.raise_for_status` of an answer that is not a success."""

    def __init__(self, status_code: int, url: str) -> None:
        super().__init__(f"{status_code} from {url}")
        self.status_code = status_code


class ServiceAnswer:
    """Another service's whole answer to `ServiceClient.request`, its body read."""

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json_module.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.is_success:
            raise AnswerError(self.status_code, self.url)


def _query(params: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """Query parameters as strings: true/false for booleans, a key repeated for a list, and
    nothing for None (aiohttp refuses all three as they are)."""
    if params is None:
        return None
    query = []
    for name, value in params.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is None:
                continue
            query.append((name, ("true" if one else "false") if isinstance(one, bool) else str(one)))
    return query


class ServiceClient:
    """Calls through aiohttp, whose client costs a call a tenth of httpx's CPU (measured for the
    gateway's proxy, docs/decisions.md); a registration is one such call from oms to dms."""

    def __init__(
        self,
        balancer: Balancer,
        timeout: float = 10.0,
        tokens: ServiceTokens | None = None,
        connections: int = 100,
    ) -> None:
        self.balancer = balancer
        self.timeout = timeout
        self.connections = connections
        self.tokens = tokens
        # Made on first use (aiohttp's need the running loop): one for calls, one for `forward`,
        # which passes bodies on as they are (not decompressed) with only the caller's headers.
        self._calls: Any = None
        self._session: Any = None

    async def aclose(self) -> None:
        for session in (self._calls, self._session):
            if session is not None:
                await session.close()

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
    ) -> ServiceAnswer:
        """`identity`: whose token goes along — the caller's, this service's, or none."""
        method = method.upper()
        response = await self._request(app, method, path, json, params, await self._headers(headers, identity))
        if response.status_code == 401 and identity == "service" and self.tokens is not None:
            self.tokens.forget()  # the gateway's key may have rotated: one more try with a new token
            response = await self._request(app, method, path, json, params, await self._headers(headers, identity))
        return response

    async def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ServiceAnswer:
        """One request to one instance, as it is: no instance chosen, no retry, no token."""
        if self._calls is None:
            self._calls = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(self.timeout, 3.0)),
            )
        async with self._calls.request(method, url, json=json, params=query, headers=headers) as response:
            return ServiceAnswer(response.status, response.headers, await response.read(), url)

    async def _candidates(self, app: str) -> list[Instance]:
        candidates = self.balancer.candidates(app.upper())
        if not candidates:
            # Nothing known of that app yet (just started, or just UP): ask the registry now, not
            # at the next fetch (30 s away in production).
            await self.balancer.refresh()
            candidates = self.balancer.candidates(app.upper())
        return candidates

    async def _request(
        self, app: str, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str]
    ) -> ServiceAnswer:
        retry_safe = method in IDEMPOTENT or "Idempotency-Key" in headers
        last_error: Exception | None = None
        last_response: ServiceAnswer | None = None
        query = _query(params)
        for attempt, instance in enumerate(await self._candidates(app)):
            if attempt >= MAX_ATTEMPTS:
                break
            try:
                response = await self.send(method, instance.base_url + path, json=json, query=query, headers=headers)
            except aiohttp.ClientConnectorError as exc:  # the connection was not made: nothing was sent
                self.balancer.failed(instance, refused=True)
                last_error = exc
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
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

        Measured here, aiohttp costs a proxied request 60-75 µs of CPU against 340-500 µs for
        httpx2's transport and 410-690 µs for its client (docs/decisions.md), and writes no log
        line per request. A failure to connect moves on to the next instance when the body
        had not begun: then nothing was sent and any method is safe to resend. A connection closed
        before the answer moves on only for an idempotent method with no body sent. A timeout raises
        UpstreamTimeout; a broken connection otherwise UpstreamBroken.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=timeouts.connections, keepalive_timeout=30),
                # Passed on as the service sent it (compressed or not), with the caller's headers only.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        once = _Body(body) if body is not None else None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect, sock_read=timeouts.read)
        for instance in await self._candidates(app):
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
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # Closed before any answer: typically a pooled connection to an instance that has just
                # died. An idempotent request is sent again to the next one (RFC 9112 9.3.1); any other
                # may have been carried out, so the caller is told.
                self.balancer.failed(instance, refused=True)
                log.warning("%s closed the connection before answering: %r", instance.instance_id, exc)
                if method not in IDEMPOTENT or (once is not None and once.started):
                    raise UpstreamBroken(instance.instance_id) from exc
                continue
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

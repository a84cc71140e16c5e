"""Registering with the registry and finding other services, over py-eureka-client.

Every HAMP service runs one RegistryClient (see shared.app.registry_part). It wraps
py-eureka-client's ``EurekaClient`` class directly, not the library's process-wide client
cache, so several can live in one process (tests, ``hamp up``).

One thing is done differently from the library: its heartbeat runs in a daemon thread whose
``while True`` loop never ends once started, so ``stop()`` cannot stop it and the next
heartbeat registers the stopped instance again. Here the library's timer is replaced before
``start()`` and the same heartbeat (renew, re-register on any failure such as a 404, then
fetch the registry delta) runs as an asyncio task on the service's own loop, which ``stop()``
cancels before it cancels the lease. This touches two private names of py-eureka-client
0.13 (``_EurekaClient__heartbeat_timer``/``__heartbeat`` and ``__applications`` for reading
the last fetch without the library's un-awaited refetch); tests/registry fails if they change.

A second: the library always registers UP — at start, and when its heartbeat re-registers. A
service registers STARTING instead and says UP once it can serve (``up()``, from
shared.app.announce_part), as Eureka's own clients do: the gateway and the other services route
only to UP instances, so none is sent a request before it listens and can check a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import Message
from io import BytesIO
from urllib.error import HTTPError, URLError

import httpx
from py_eureka_client import INSTANCE_STATUS_UNKNOWN, INSTANCE_STATUS_UP, eureka_client, http_client
from py_eureka_client import logger as eureka_logger

from shared.registry_auth import urls_with_credentials
from shared.settings import ServiceSettings
from shared.tasks import stop_tasks

log = logging.getLogger("hamp.registry_client")

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class _Client(eureka_client.EurekaClient):
    """py-eureka-client's client, registering with the status the service is in rather than UP."""

    status = INSTANCE_STATUS_UP

    async def register(self, status: str | None = None, overriddenstatus: str = INSTANCE_STATUS_UNKNOWN) -> None:
        await super().register(status or self.status, overriddenstatus)


@dataclass(frozen=True)
class InstanceAddress:
    app: str
    instance_id: str
    host: str
    port: int
    base_url: str  # "http://ip:port"


class _NoThread:
    """Stands in for EurekaClient's heartbeat Timer; RegistryClient runs the heartbeat itself."""

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return False

    def cancel(self) -> None:
        pass


class _HttpClient(http_client.HttpClient):
    """py-eureka-client's HTTP client, with one TLS context for the process: the library's makes
    a new one for every call to the registry (`httpx.AsyncClient()` loads the CA bundle, about 20 ms
    of CPU), two or three calls per heartbeat in every process. Otherwise as the library's: a new
    connection per call (each call may run on another event loop, in tests), errors as urllib's."""

    _tls: ssl.SSLContext | None = None

    async def urlopen(
        self,
        request: str | http_client.HttpRequest | None = None,
        data: bytes | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the library calls it so
    ) -> http_client.HttpResponse:
        req = http_client.HttpRequest(request) if isinstance(request, str) else request  # type: ignore[no-untyped-call]  # the library is untyped
        if req is None:
            raise URLError("Invalid URL")
        if data is not None:
            req.content = data
        req.add_header("Connection", "close")
        req.add_header("Accept-Encoding", "gzip, deflate")
        if _HttpClient._tls is None:
            _HttpClient._tls = httpx.create_ssl_context()
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=_HttpClient._tls) as client:
                res = await client.send(req._to_httpx_request())
                res.raise_for_status()
                return http_client.HttpResponse(res)
        except httpx.HTTPStatusError as e:
            headers = Message()
            for name, value in e.response.headers.items():
                headers[name] = value
            raise HTTPError(
                str(e.request.url), e.response.status_code, str(e), headers, BytesIO(e.response.content)
            ) from e
        except httpx.RequestError as e:
            raise URLError(str(e)) from e


http_client.set_http_client(_HttpClient())


class RegistryClient:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        discover: bool = False,
        start_timeout: float = 3.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._discover = discover
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_refresh = 0.0
        self.instance_id = ""

    async def start(self, status: str = INSTANCE_STATUS_UP) -> None:
        """Register as settings.app_name, with this status (STARTING until `up()`). Waits at most
        `start_timeout` for the first registration (and first registry fetch); when no registry
        answers by then, start returns and the heartbeat keeps trying. Never raises for an
        absent registry."""
        settings = self._settings
        if self._task is not None:
            return  # already started
        if not settings.registry_url_list:
            log.info("registry_urls is empty: %s neither registers nor discovers", settings.component)
            return
        urls = urls_with_credentials(settings, settings.registry_url_list)
        if settings.port <= 0 or not settings.app_name:
            log.warning("not registering %r: it has no port or no app name", settings.component)
            return
        eureka_logger.set_custom_logger(logging.getLogger("py_eureka_client"))
        host = announced_host(settings)
        ip = await _ip_of(host)
        self.instance_id = f"{host}:{settings.component}:{settings.port}"
        client = _Client(
            eureka_server=",".join(urls),
            app_name=settings.app_name,
            instance_id=self.instance_id,
            instance_host=host,
            instance_ip=ip,
            instance_port=settings.port,
            renewal_interval_in_secs=settings.registry_renewal_seconds,
            duration_in_secs=settings.registry_lease_seconds,
            home_page_url="/",
            status_page_url="/health/ready",
            health_check_url="/health",
            should_register=True,
            should_discover=self._discover,
            metadata={"component": settings.component},
        )
        client._EurekaClient__heartbeat_timer = _NoThread()  # type: ignore[attr-defined]  # private: no public way
        client.status = status
        self._client = client
        first_round = asyncio.Event()
        self._task = asyncio.create_task(self._run(client, first_round), name=f"registry-{settings.component}")
        try:
            await asyncio.wait_for(first_round.wait(), self._start_timeout)
        except TimeoutError:
            log.warning(
                "the registry did not answer within %.1f s; %s keeps registering in the background",
                self._start_timeout,
                settings.app_name,
            )

    async def _run(self, client: eureka_client.EurekaClient, first_round: asyncio.Event) -> None:
        try:
            # Registers (on failure: logs, and the next heartbeat registers) and pulls the registry.
            await client.start()
        except Exception:
            log.exception("registry client start failed; retrying on the next heartbeat")
        finally:
            first_round.set()
        while True:
            await asyncio.sleep(max(1, self._settings.registry_renewal_seconds))
            try:
                # py-eureka-client's own heartbeat: renew, or register when the renewal fails
                # (a 404 after the registry lost the lease), then fetch the delta.
                await client._EurekaClient__heartbeat()  # type: ignore[attr-defined]  # private: no public way
            except Exception:
                log.exception("registry heartbeat failed")

    async def up(self) -> None:
        """Say UP (registered STARTING): others route here from their next registry fetch. When
        no registry answers, the heartbeat's next registration says it."""
        client = self._client
        if client is None or client.status == INSTANCE_STATUS_UP:
            return
        client.status = INSTANCE_STATUS_UP
        await client.register()
        log.info("%s is UP in the registry", self.instance_id)

    async def announced(self) -> bool:
        """A readiness check: UP was said (registered STARTING until then), or nothing registers."""
        return self._client is None or self._client.status == INSTANCE_STATUS_UP

    async def stop(self) -> None:
        """Stop the heartbeat, then mark the instance DOWN and cancel its lease (best effort,
        at most `stop_timeout`)."""
        task, self._task = self._task, None
        if task is None or self._client is None:
            return
        await stop_tasks(task)
        try:
            await asyncio.wait_for(self._client.stop(), self._stop_timeout)
        except Exception:
            log.warning("could not cancel the registry lease of %s", self.instance_id, exc_info=True)

    async def refresh(self) -> None:
        """Fetches the whole registry now (at most once a second), for a caller that knows no
        instance of an app yet: right after start-up the next scheduled fetch may be seconds away."""
        if not self._discover or self._client is None or time.monotonic() < self._next_refresh:
            return
        self._next_refresh = time.monotonic() + 1.0
        try:
            await self._client._EurekaClient__pull_full_registry()  # type: ignore[attr-defined]  # private: no public way
        except Exception:
            log.warning("registry fetch failed", exc_info=True)

    def instances(self, app_name: str) -> list[InstanceAddress]:
        """UP instances of `app_name` from the last registry fetch, ordered by instance id;
        [] when discovery is off or nothing was fetched yet."""
        if not self._discover or self._client is None:
            return []
        apps = self._client._EurekaClient__applications  # type: ignore[attr-defined]  # private: no public way
        if apps is None:
            return []
        found = []
        for ins in apps.get_application(app_name).up_instances:
            if ins.port.enabled and ins.port.port:
                scheme, port = "http", ins.port.port
            elif ins.securePort.enabled and ins.securePort.port:
                scheme, port = "https", ins.securePort.port
            else:
                continue
            found.append(
                InstanceAddress(
                    app=(ins.app or app_name).upper(),
                    instance_id=ins.instanceId,
                    host=ins.hostName or ins.ipAddr,
                    port=port,
                    base_url=f"{scheme}://{_url_host(ins.ipAddr or ins.hostName)}:{port}",
                )
            )
        return sorted(found, key=lambda a: a.instance_id)


def announced_host(settings: ServiceSettings) -> str:
    """public_host, else the listen address, else (listening on all addresses) the host name."""
    if settings.public_host:
        return settings.public_host
    if settings.host not in WILDCARD_HOSTS:
        return settings.host
    return socket.gethostname()


async def _ip_of(host: str) -> str:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    try:
        return await asyncio.wait_for(asyncio.to_thread(socket.gethostbyname, host), 2.0)
    except (OSError, TimeoutError):
        log.warning("cannot resolve %s; announcing it as the address", host)
        return host


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address

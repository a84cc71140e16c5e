"""A real registry (uvicorn in a thread, loopback, a free port) and real py-eureka-clients."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from py_eureka_client.eureka_client import EurekaClient

from registry.leases import LeaseStore
from registry.main import create_app
from registry.settings import RegistrySettings

LOOPBACK = "127.0.0.1"
USER, PASSWORD = "hamp", "registry-test-pw"
WRITER = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fast_settings(**overrides: Any) -> RegistrySettings:
    """Registry settings for tests: no log file, timers in fractions of a second."""
    values: dict[str, Any] = {
        "log_to_file": False,
        "eviction_interval_seconds": 0.25,
        "dashboard_refresh_seconds": 0,
        "registry_password": PASSWORD,
        **overrides,
    }
    return RegistrySettings(**values)


def _bound_socket(port: int = 0) -> socket.socket:
    """Bound but not listening: connections to it are refused until a server takes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


class LiveRegistry:
    """The registry app served by uvicorn in a background thread. The port is reserved at
    construction, so clients can be pointed at it before it starts; restart() keeps the
    port and starts with an empty lease store."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self._sock: socket.socket | None = _bound_socket()
        self.port: int = self._sock.getsockname()[1]
        # What a client is given: the credentials in the URL, as py-eureka-client reads them.
        self.url = f"http://{USER}:{PASSWORD}@{LOOPBACK}:{self.port}/eureka/"
        self.plain_url = f"http://{LOOPBACK}:{self.port}/eureka/"
        self.base = f"http://{LOOPBACK}:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: Any = None

    @property
    def store(self) -> LeaseStore:
        return self.app.state.leases

    def start(self) -> LiveRegistry:
        sock = self._sock or _bound_socket(self.port)
        self._sock = None
        self.app = create_app(fast_settings(port=self.port, **self.overrides))
        config = uvicorn.Config(self.app, log_config=None, access_log=False, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the registry did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            assert not self._thread.is_alive(), "the registry did not stop"
        self._server = self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def live_registry() -> Iterator[Callable[..., LiveRegistry]]:
    """Factory: live_registry(start=True, **settings) -> a LiveRegistry, stopped after the test."""
    made: list[LiveRegistry] = []

    def make(*, start: bool = True, **overrides: Any) -> LiveRegistry:
        registry = LiveRegistry(**overrides)
        made.append(registry)
        return registry.start() if start else registry

    yield make
    for registry in made:
        registry.stop()


@pytest.fixture
def registry(live_registry: Callable[..., LiveRegistry]) -> LiveRegistry:
    return live_registry()


@pytest.fixture
def api() -> Iterator[TestClient]:
    """The registry in process (lifespan run), for protocol tests."""
    with TestClient(create_app(fast_settings()), headers=WRITER) as client:
        yield client


@pytest.fixture
async def eureka_clients() -> AsyncIterator[Callable[..., Awaitable[EurekaClient]]]:
    """Factory for started py-eureka-client EurekaClients on loopback.

    The library's heartbeat thread loops forever once it has fired, and nothing in the
    library stops it; at teardown its clients are made inert (nothing to register or
    discover), so a finished test leaves only idle daemon threads behind."""
    made: list[EurekaClient] = []

    async def make(registry: LiveRegistry, app_name: str, port: int, **kwargs: Any) -> EurekaClient:
        options: dict[str, Any] = {
            "eureka_server": registry.url,
            "app_name": app_name,
            "instance_host": LOOPBACK,
            "instance_ip": LOOPBACK,
            "instance_port": port,
            "renewal_interval_in_secs": 30,
            "duration_in_secs": 90,
            "should_discover": False,
            **kwargs,
        }
        client = EurekaClient(**options)
        made.append(client)
        await client.start()
        return client

    yield make
    for client in made:
        client._EurekaClient__should_register = False  # type: ignore[attr-defined]
        client._EurekaClient__should_discover = False  # type: ignore[attr-defined]
        client._EurekaClient__heartbeat_timer.cancel()  # type: ignore[attr-defined]


async def _eventually(check: Callable[[], Any], within: float = 8.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s: {check}")
        await asyncio.sleep(interval)


@pytest.fixture
def eventually() -> Callable[..., Awaitable[Any]]:
    """await eventually(check, within=8.0): poll `check` (sync or async) until it returns
    something truthy, and return that; fail after `within` seconds."""
    return _eventually

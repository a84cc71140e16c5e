"""Starting real processes for tests: free ports, readiness waits, clean stops."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from shared import components
from tests.support import launcher

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip outside CI; under CI a missing server is a failure, not a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# Below the kernel's ephemeral range (32768-60999), from which a port bound to 0 comes and
# every outgoing connection takes its local port: a port handed out there can be taken by a
# client connection before the test's server binds it, and two servers then answer as one.
_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never handed out twice in this test run."""
    for _ in range(1000):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port")


def wait_http(url: str, timeout: float = 60.0, status: int = 200, process: launcher.Forked | None = None) -> None:
    """Until `url` answers `status`; with `process`, no longer than that process lives."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited ({process.returncode}) before {url} answered")
        try:
            answer = httpx2.get(url, timeout=2)
            if answer.status_code == status:
                return
            last = answer.status_code
        except httpx2.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready in {timeout} s (last: {last})")


@dataclass
class Component:
    """One `hamp run <name>` child process."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: launcher.Forked | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        # Forked from the session's launcher, which imported the code once (tests/support/launcher.py).
        self.process = launcher.fork(self.name, self.port, self.env, self.log)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        assert self.process is not None
        probe = "/health" if self.name == "registry" else "/health/ready"
        try:
            wait_http(self.url + probe, process=self.process)
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}); another server answered")
        except (TimeoutError, RuntimeError):
            print(f"== {self.name}", self.log.read_text(errors="replace")[-3000:], sep="\n")
            raise

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.signal(sig)
        self.wait_stopped()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)

    def wait_stopped(self) -> None:
        if self.process:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def platform_env(var_dir: Path, registry_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{registry_port}/eureka/",
        HAMP_REGISTRY_RENEWAL_SECONDS="1",
        HAMP_REGISTRY_LEASE_SECONDS="3",
        HAMP_LOG_TO_FILE="false",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class ThreadServer:
    """An ASGI app served by uvicorn in a background thread, on a real loopback port."""

    def __init__(self, app: object, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.thread:
            self.thread.join(10)


@contextmanager
def running_platform(
    var_dir: Path, names: Iterable[str], password: str, **extra: str
) -> Iterator[dict[str, Component]]:
    """These components as real processes (`hamp run`) on free ports, discovering one another
    through the registry, with a superadmin of this password and test-speed limits; stopped,
    last first, when the block ends. `extra`: more HAMP_* variables (databases, demo data)."""
    registry_port, gateway_port = free_port(), free_port()
    env = platform_env(
        var_dir,
        registry_port,
        # Tests call far faster than people click: the per-user API rate limit has tests of its own.
        HAMP_GATEWAY_API_RATE_PER_SECOND="100000",
        HAMP_GATEWAY_API_BURST="100000",
        HAMP_GATEWAY_LOGIN_RATE_PER_IP_PER_MINUTE="100000",
        # An instance that refused connections (stopped or killed by a test, then started again on its
        # port) is tried again after 2 s rather than the production 10: the same breaker, on the
        # test-speed clock of the 1 s renewals and 3 s leases above.
        HAMP_GATEWAY_BREAKER_OPEN_SECONDS="2",
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=password,
        # Two-step login is tested on its own (tests/e2e/test_console_second_factor.py).
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        HAMP_JWKS_URL=f"http://127.0.0.1:{gateway_port}/api/auth/jwks",
        HAMP_DEMO_DATA="false",
        **extra,
    )
    ports = {"registry": registry_port, "gateway": gateway_port}
    running = {
        name: Component(name, ports.get(name) or free_port(), dict(env), var_dir / f"{name}.out") for name in names
    }
    started: list[Component] = []
    try:
        # The registry first, then the rest together, as `hamp up` starts them: none needs another
        # to start (the gateway finds the services, and they its keys, when they need them).
        for wave in (
            [c for c in running.values() if c.name == "registry"],
            [c for c in running.values() if c.name != "registry"],
        ):
            for component in wave:
                component.start(wait=False)
                started.append(component)
            for component in wave:
                component.wait_ready()
        # The gateway discovers the services through the registry; wait until it routes to each.
        for name in running:
            if name in components.SERVICES:
                try:
                    wait_http(f"{running['gateway'].url}/api/{name}/openapi.json", timeout=60)
                except TimeoutError:
                    for shown in (name, "gateway", "registry"):
                        print(f"== {shown}", running[shown].log.read_text(errors="replace")[-3000:], sep="\n")
                    raise
        yield running
    finally:
        # As `hamp up` stops them: the gateway first (nothing new comes in), then the services
        # together, the registry last (the others cancel their leases there as they stop).
        for wave in (
            [c for c in started if c.name == "gateway"],
            [c for c in started if c.name not in ("gateway", "registry")],
            [c for c in started if c.name == "registry"],
        ):
            for component in wave:
                component.signal()
            for component in wave:
                component.wait_stopped()

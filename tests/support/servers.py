"""Starting real processes for tests: free ports, readiness waits, clean stops."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from shared import components

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


def wait_http(url: str, timeout: float = 60.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
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
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "run", self.name, "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if wait:
            probe = "/health" if self.name == "registry" else "/health/ready"
            try:
                wait_http(self.url + probe)
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({self.process.returncode}); another server answered")
            except (TimeoutError, RuntimeError):
                print(self.log.read_text(errors="replace")[-3000:])
                raise

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
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
        for component in running.values():
            component.start()
            started.append(component)
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
        for component in reversed(started):
            component.stop()

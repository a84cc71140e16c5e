"""`hamp up`: every component as a supervised child process on this machine.

Starts the registry, then the services and the gateway together (none needs another to start:
the services fetch their service tokens and the gateway its routes when they need them);
migrates (each service does at start); loads demo data on the first start; waits until all
answer their readiness probe; prints the console URL and login; restarts a child that dies
(with back-off); and on Ctrl-C or SIGTERM stops everything in order: the gateway (nothing new
comes in), the services, the registry last (the others cancel their leases there as they stop).

Each child is forked from one fork server (multiprocessing's "forkserver") that has imported
FastAPI, SQLAlchemy, pydantic and the shared core once (PRELOAD): that import is most of the
1.5-2 CPU s a component spends starting, paid once instead of by every child. A child still
starts as a process of its own (`hamp run <name>`, as `ps` shows it), with its own environment
and its output piped to the supervisor.

The children learn nothing from a terminal's Ctrl-C (`hamp run` ignores SIGINT under a
supervisor, see SUPERVISED): it reaches the whole process group at once, and a registry
stopping beside the services would leave a traceback in every service's log.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import reduction
from pathlib import Path
from typing import IO, Any

from shared import components
from shared.logging import scrub
from shared.settings import HampSettings
from shared.var_files import private_umask, tighten

READY_TIMEOUT_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 30.0
# On one machine there is no reason to wait Eureka's production 30 s for a change to show.
EMBEDDED_DEFAULTS = {"HAMP_REGISTRY_RENEWAL_SECONDS": "5", "HAMP_REGISTRY_LEASE_SECONDS": "15"}
# Set in every child's environment: the supervisor stops it (SIGTERM), in order.
SUPERVISED = "HAMP_SUPERVISED"


# What every component imports at start; the fork server imports it once, before the first fork.
PRELOAD = ["shared.app", "shared.paging", "shared.audit_router", "shared.registry_client", "uvicorn"]


def _forks() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class _Output:
    """The write end of a child's output pipe, handed to the forked child (as multiprocessing
    hands a Connection: duplicated through the fork server)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        return _Output._received, (reduction.DupFd(self.fd),)

    @staticmethod
    def _received(dup: Any) -> _Output:
        return _Output(dup.detach())


def _child_main(name: str, target: Callable[[str], None] | None, env: dict[str, str], output: _Output) -> None:
    from shared.cli import become

    become(name, env, output.fd, target=target)


@dataclass
class Child:
    name: str
    port: int
    probe: str
    env: dict[str, str]
    log_path: Path
    process: Any = None  # a multiprocessing Process
    target: Callable[[str], None] | None = None  # run in the forked child; default `hamp run <name>`
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pid_path.parent.mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe()
        try:
            self.process = _forks().Process(
                target=_child_main, args=(self.name, self.target, self.env, _Output(write_end)), name=self.name
            )
            self.process.start()
        finally:
            os.close(write_end)
        # Not straight into the file: a child's print or crash traceback may hold an ID card or
        # a password, so every line goes through the loggers' scrubber first.
        threading.Thread(
            target=copy_scrubbed,
            args=(os.fdopen(read_end, "rb"), self.log_path),
            name=f"{self.name}-out",
            daemon=True,
        ).start()
        self.started_at = time.monotonic()
        self.pid_path.write_text(str(self.process.pid))

    @property
    def pid_path(self) -> Path:
        return self.log_path.parent.parent / "run" / f"{self.name}.pid"

    @property
    def exit_code(self) -> int | None:
        """As a shell tells it: negative for the signal that ended it; None while it runs."""
        return None if self.process is None else self.process.exitcode

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.probe}", timeout=2) as answer:
                status: int = answer.status
                return status == 200
        except (urllib.error.URLError, OSError):
            return False

    def terminate(self) -> None:
        """Asks the child to stop (uvicorn's graceful shutdown) without waiting for it."""
        self.pid_path.unlink(missing_ok=True)
        if self.process is not None and self.alive():
            self.process.terminate()

    def stop(self, timeout: float = 15.0) -> None:
        self.terminate()
        if not self.alive():
            return
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def copy_scrubbed(stream: IO[bytes], path: Path) -> None:
    """Appends what a child prints to `path`, line by line, with personal data and secrets masked
    (shared.logging.scrub), until the child closes its output."""
    with stream, path.open("a", encoding="utf-8") as out:
        for line in stream:
            out.write(scrub(line.decode("utf-8", errors="replace")))
            out.flush()


def _say(message: str) -> None:
    print(f"[hamp] {message}", flush=True)


def _port_of(name: str, env: dict[str, str]) -> int:
    settings_class = components.settings_class(name)
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return settings_class().port
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _first_start_env(var_dir: Path, env: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """On the first start: demo data, and a generated superadmin password we can print."""
    marker = var_dir / ".initialized"
    if marker.exists():
        return {}, None
    extra = {"HAMP_DEMO_DATA": "true"}
    password = None
    if not (env.get("HAMP_GATEWAY_SUPERADMIN_PASSWORD") or env.get("HAMP_SUPERADMIN_PASSWORD")):
        password = secrets.token_urlsafe(12)
        extra["HAMP_GATEWAY_SUPERADMIN_PASSWORD"] = password
        extra["HAMP_GATEWAY_SUPERADMIN_PASSWORD_IS_INITIAL"] = "true"
    return extra, password


def up(only: list[str] | None = None) -> int:
    started = time.monotonic()
    base = HampSettings()
    var_dir = base.var_dir.resolve()
    private_umask()
    var_dir.mkdir(parents=True, exist_ok=True)
    tighten(var_dir)
    env = {**EMBEDDED_DEFAULTS, **os.environ, "HAMP_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1", SUPERVISED: "1"}
    # Each log line once, in the JSON <name>.log; <name>.out keeps what is printed outside the
    # logging (a crash before it is configured).
    env["HAMP_LOG_TO_STDOUT"] = "false"
    first_start, password = _first_start_env(var_dir, env)
    env.update(first_start)

    # Every service needs the registry, and the gateway for its tokens: a service is ready (and UP)
    # only once it can check a user's token against the gateway's revocations.
    names = [n for n in components.available() if not only or n in only or n in ("registry", "gateway")]
    children = []
    for name in names:
        probe = "/health" if name == "registry" else "/health/ready"
        children.append(Child(name, _port_of(name, env), probe, env, var_dir / "logs" / f"{name}.out"))

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    # The registry first: the others register with it as they start.
    waves = [[c for c in children if c.name == "registry"], [c for c in children if c.name != "registry"]]
    try:
        for wave in waves:
            for child in wave:
                _say(f"starting {child.name} on port {child.port}")
                child.start()
            if not _wait_ready(wave, lambda: stopping):
                return 1
        (var_dir / ".initialized").touch()
        gateway = next((c for c in children if c.name == "gateway"), None)
        _say(f"all {len(children)} components ready in {time.monotonic() - started:.1f} s")
        if gateway:
            _say(f"console: http://127.0.0.1:{gateway.port}/")
            user = env.get("HAMP_GATEWAY_SUPERADMIN_USERNAME", "admin")
            if password:
                _say(
                    f"login:   {user} / {password}   (one-time: change it at first login; "
                    f"`hamp reset-password {user}` gives a new one)"
                )
            elif env.get("HAMP_GATEWAY_SUPERADMIN_PASSWORD") or env.get("HAMP_SUPERADMIN_PASSWORD"):
                _say(f"login:   {user} / the password in HAMP_GATEWAY_SUPERADMIN_PASSWORD")
            else:
                _say(f"login:   {user} (password shown at the first start; `hamp reset-password {user}` resets it)")
        _say(f"logs in {var_dir / 'logs'}; Ctrl-C stops everything")
        _supervise(children, lambda: stopping)
        return 0
    finally:
        _say("stopping")
        for wave in (
            [c for c in children if c.name == "gateway"],
            [c for c in children if c.name not in ("registry", "gateway")],
            [c for c in children if c.name == "registry"],
        ):
            for child in wave:
                child.terminate()
            for child in wave:
                child.stop()
        _say("stopped")


def _wait_ready(wave: list[Child], stopping: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = list(wave)
    while pending:
        if stopping():
            return False
        for child in list(pending):
            if not child.alive():
                _say(f"{child.name} exited while starting (code {child.exit_code}), log: {child.log_path}")
                _tail(child.log_path)
                return False
            if child.ready():
                _say(f"{child.name} ready ({time.monotonic() - child.started_at:.1f} s)")
                pending.remove(child)
        if time.monotonic() > deadline:
            _say(f"timed out waiting for {', '.join(c.name for c in pending)}")
            return False
        time.sleep(0.2)
    return True


def _supervise(children: list[Child], stopping: Callable[[], bool]) -> None:
    while not stopping():
        now = time.monotonic()
        for child in children:
            if child.alive():
                if child.restarts and now - child.started_at > 60:
                    child.restarts = 0  # it stayed up: forget old crashes
                continue
            if child.next_start == 0.0:
                delay = min(MAX_BACKOFF_SECONDS, 2.0**child.restarts)
                _say(f"{child.name} exited (code {child.exit_code}); restarting in {delay:.0f} s")
                _tail(child.log_path)
                child.next_start = now + delay
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start()
                _say(f"{child.name} restarted")
        time.sleep(0.5)


def _tail(path: Path, lines: int = 5) -> None:
    try:
        for line in path.read_text(errors="replace").splitlines()[-lines:]:
            print(f"    {line}", flush=True)
    except OSError:
        pass

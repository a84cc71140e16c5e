"""Test platforms' components forked from one process that imported their code once.

A component started as `python -m shared.cli run <name>` spends most of its 2-3 CPU s importing
FastAPI, SQLAlchemy and its own routers and models; a platform of nine then costs two cores over
twenty seconds, and the suite starts one in about twenty modules. So, as `hamp up`
(shared/supervisor.py) and .ci/production.sh (`launch`) do, one launcher process per test session
imports every component once, and each component is a child forked from it: still a process of
its own (`hamp run <name>` in `ps`), with its own port, environment, var dir and output file,
running `hamp run <name> --port <port>` as a started process would (shared.cli.become).

The launcher is the children's parent, so it reaps them and tells the test their exit status:
each child has its own connection to the launcher, which answers its pid, then its exit code when
it ends (negative for a signal, as subprocess tells it). `Forked` reads them with Popen's methods.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class Forked:
    """A component forked by the launcher, with the Popen methods the tests use."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._buffer = b""
        self.returncode: int | None = None
        self.pid = int(self._line(timeout=60))

    def _line(self, timeout: float | None) -> str:
        self._connection.settimeout(timeout)
        while b"\n" not in self._buffer:
            chunk = self._connection.recv(64)
            if not chunk:
                raise RuntimeError("the test launcher went away")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = int(self._line(timeout=0))
            except (TimeoutError, BlockingIOError):
                return None
            self._connection.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = int(self._line(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired(f"hamp run (pid {self.pid})", timeout or 0) from None
            self._connection.close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        # Only while the launcher has not told its end: after that its pid may be another process's.
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass  # it ended just now; poll() and wait() tell how

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Launcher:
    """The launcher process, started at the first fork a session asks for."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="hamp-launcher-")
        self.address = str(Path(self._directory.name) / "socket")
        errors = Path(self._directory.name) / "launcher.err"
        with errors.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.launcher", self.address],
                cwd=ROOT,
                stdin=subprocess.PIPE,  # closed when the tests end: the launcher then stops too
                stdout=subprocess.PIPE,
                stderr=err,
                env={k: v for k, v in os.environ.items() if not k.startswith("HAMP_")},
            )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            code = self.process.wait()
            raise RuntimeError(f"the test launcher did not start (exit {code}):\n{errors.read_text()[-3000:]}")

    def fork(self, name: str, port: int, env: dict[str, str], log: Path) -> Forked:
        request = {"name": name, "port": port, "env": env, "log": str(log)}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.address)
        connection.sendall(json.dumps(request).encode() + b"\n")
        return Forked(connection)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._directory.cleanup()


_launcher: Launcher | None = None
_lock = threading.Lock()


def fork(name: str, port: int, env: dict[str, str], log: Path) -> Forked:
    """`hamp run <name> --port <port>` with this environment and its output appended to `log`."""
    global _launcher
    with _lock:
        if _launcher is None or _launcher.process.poll() is not None:
            _launcher = Launcher()
            atexit.register(_launcher.close)
        launcher = _launcher
    return launcher.fork(name, port, env, log)


# --- the launcher process ------------------------------------------------------------------------


def _child(request: dict[str, Any]) -> None:
    """In the forked child: becomes `hamp run <name> --port <port>`; never returns."""
    try:
        from shared.cli import become

        out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        become(request["name"], request["env"], out, port=request["port"])
    finally:
        os._exit(1)  # only when something failed before `become`, which never returns


# What `hamp run` imports only as it starts (the server, its protocols, the registry client and their
# libraries): imported here as well, or every child would import (and, where no .pyc files are
# written, compile) them again. A name missing here costs a child time, never correctness.
STARTUP = (
    "shared.cli",
    "shared.supervisor",
    "shared.registry_client",
    "uvicorn.main",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "uvicorn.lifespan.on",
    "fastapi.telemetry._runtime",
    "cryptography.hazmat.backends.openssl.backend",
    "py_eureka_client.eureka_client",
    "aiosqlite",
    "httpcore",
    "httpcore2",
    "truststore",
    "dns.resolver",
    "anyio._backends._asyncio",
    "logging.config",
    "encodings.idna",
    "multiprocessing.connection",
)


def _read_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _serve(address: str) -> None:
    from shared import components

    for name in components.available():
        try:
            components.load(name)
        except Exception:
            pass  # the child's own import then fails, into its output, as `hamp run` would
    for module in STARTUP:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    # What the import made lives as long as every child: out of the collector's sight, a child's
    # collections neither walk it nor write to (and so copy) the pages it shares with the others.
    gc.collect()
    gc.freeze()

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    # A child's pidfd becomes readable when it ends: then it is reaped and its connection told.
    children: dict[int, tuple[int, socket.socket]] = {}
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                for pid in children:
                    os.kill(pid, signal.SIGTERM)  # the tests ended (or died) without stopping it
                return
            if key.fileobj is listener:
                connection, _ = listener.accept()
                request = json.loads(_read_line(connection))
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    connection.close()
                    for pidfd, other in children.values():
                        os.close(pidfd)
                        other.close()
                    _child(request)
                pidfd = os.pidfd_open(pid)
                children[pid] = (pidfd, connection)
                selector.register(pidfd, selectors.EVENT_READ, pid)
                connection.sendall(f"{pid}\n".encode())
                continue
            pid = key.data
            pidfd, connection = children.pop(pid)
            selector.unregister(pidfd)
            os.close(pidfd)
            _, status = os.waitpid(pid, 0)
            try:
                connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass  # the test no longer listens
            connection.close()


if __name__ == "__main__":
    _serve(sys.argv[1])

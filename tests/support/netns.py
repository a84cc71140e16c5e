"""Network namespaces for tests: small networks of their own, joined by veth pairs, with processes
run inside them; nothing in them can reach, or be reached from, the machine's own network.

    with Namespaces("vpn") as net:
        net.add("a", "b")
        net.link("a", "eth0", "192.0.2.1/24", "b", "eth0", "192.0.2.2/24")
        net.spawn("b", ["openvpn", ...], log)
        status, headers, body = net.http("a", "GET", "http://192.0.2.2:8080/")

Everything made is removed when the block ends, failed or not: the processes first (a namespace
lives on while a process is inside), then the namespaces, which take their veth ends with them.
Each process also gets SIGTERM if the test process dies; namespaces left by a test process that was
killed, and whatever still runs in them, are removed by the next run.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PREFIX = "hamp-test"
_PR_SET_PDEATHSIG = 1


def unavailable() -> str:
    """Why namespaces cannot be made here ("" when they can): root, iproute2 and a working `ip netns add`."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed"
    probe = f"{PREFIX}-{os.getpid()}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def _die_with_parent() -> None:
    # Kept across `ip netns exec`'s exec: a killed test run leaves no server behind.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale() -> None:
    """Namespaces of test runs that were killed before they could remove them, and what still runs
    inside: a server that changed its user (OpenVPN's `user nobody`) lost its parent-death signal."""
    listed = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True)
    for entry in json.loads(listed.stdout or "[]"):
        found = re.fullmatch(rf"{PREFIX}-(\d+)-.+", entry.get("name", ""))
        if not found or _alive(int(found.group(1))):
            continue
        inside = subprocess.run(["ip", "netns", "pids", entry["name"]], capture_output=True, text=True)
        for pid in inside.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", entry["name"]], capture_output=True)


class Namespaces:
    def __init__(self, tag: str) -> None:
        self.prefix = f"{PREFIX}-{os.getpid()}-{tag}"
        self.names: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Namespaces:
        _remove_stale()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            stop(process)
        for name in reversed(self.names.values()):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)

    def ns(self, short: str) -> str:
        return self.names[short]

    def add(self, *shorts: str) -> None:
        """New namespaces, each with its loopback up (a server may probe itself on 127.0.0.1)."""
        for short in shorts:
            name = f"{self.prefix}-{short}"
            self.names[short] = name
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")

    def link(self, a: str, a_dev: str, a_cidr: str, b: str, b_dev: str, b_cidr: str) -> None:
        """A veth pair made straight inside the two namespaces: neither end ever exists outside them."""
        ip("link", "add", a_dev, "netns", self.ns(a), "type", "veth", "peer", "name", b_dev, "netns", self.ns(b))
        for short, dev, cidr in ((a, a_dev, a_cidr), (b, b_dev, b_cidr)):
            ip("-n", self.ns(short), "addr", "add", cidr, "dev", dev)
            ip("-n", self.ns(short), "link", "set", dev, "up")

    def ip(self, short: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return ip("-n", self.ns(short), *args, check=check)

    def run(self, short: str, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(short), *cmd], capture_output=True, text=True, check=check, timeout=timeout
        )

    def spawn(
        self, short: str, cmd: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """A process inside the namespace, its output in `log`, stopped when the block ends.
        (`ip netns exec` execs the command: the process is the command itself.)"""
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.ns(short), *cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                preexec_fn=_die_with_parent,
            )
        self.processes.append(process)
        return process

    def addresses(self, short: str, dev: str) -> list[str]:
        """The IPv4 addresses of a device, [] when there is no such device."""
        shown = self.ip(short, "-j", "-4", "addr", "show", "dev", dev, check=False)
        if shown.returncode != 0:
            return []
        return [a["local"] for link in json.loads(shown.stdout or "[]") for a in link.get("addr_info", [])]

    def http(
        self, short: str, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """One request made with curl from inside the namespace: status, headers (lower-case), body.
        A connection that cannot be made raises ConnectionError with curl's message."""
        cmd = ["curl", "-sS", "-m", "10", "-X", method, "-D", "-", "-H", "Accept-Language: zh-CN"]
        for key, value in (headers or {}).items():
            cmd += ["-H", f"{key}: {value}"]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        # Bytes: text mode would turn the header block's CRLFs into the body's kind of line end.
        done = subprocess.run(["ip", "netns", "exec", self.ns(short), *cmd, url], capture_output=True, timeout=30)
        if done.returncode != 0:
            raise ConnectionError(f"curl exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
        head, _, body_bytes = done.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body_bytes.decode()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def stop(process: subprocess.Popen[bytes], timeout: float = 5) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, alive: subprocess.Popen[bytes] | None = None
) -> None:
    """Polls `check` until it holds; fails after `timeout` s, or at once when `alive` has exited."""
    deadline = time.monotonic() + timeout
    while not check():
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({alive.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"

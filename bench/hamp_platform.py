"""Starting and stopping a scratch platform (`hamp up`) for the benchmarks in bench/.

Not named `platform.py`: a script in bench/ puts bench/ first on sys.path, and that name
would shadow the standard library's `platform` module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from shared import components

# The tests' own: below the kernel's ephemeral range, whose ports outgoing connections take (a
# port bound to 0 could be handed to a client connection before the component binds it).
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]

SUPERADMIN_USER = "admin"
# Set rather than generated: `hamp up` then prints no password, and the script knows it anyway.
SUPERADMIN_PASSWORD = "bench-superadmin-2024"


def free_ports() -> dict[str, int]:
    """A free loopback port for every component this checkout has, so a bench never meets a
    platform (or another bench) already running on the default ports."""
    return {name: free_port() for name in components.available()}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far: what work costs, whatever else loads the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def component_pids(var_dir: Path) -> dict[str, int]:
    """The pid of each component `hamp up` runs in var_dir, from the pid files it writes."""
    return {p.stem: int(p.read_text()) for p in sorted((var_dir / "run").glob("*.pid"))}


def start_platform(
    var_dir: Path, ports: dict[str, int], extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, float, list[str]]:
    """`hamp up` in var_dir on the given ports; returns the process (its own process group),
    the seconds until it said it was ready, and what it printed until then."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update({f"HAMP_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{ports['registry']}/eureka/",
        HAMP_JWKS_URL=f"http://127.0.0.1:{ports['gateway']}/api/auth/jwks",
        HAMP_LOG_LEVEL="WARNING",
        HAMP_GATEWAY_SUPERADMIN_USERNAME=SUPERADMIN_USER,
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=SUPERADMIN_PASSWORD,
        # One benchmark user sends what a whole hospital would: lift the per-user API limit.
        HAMP_GATEWAY_API_RATE_PER_SECOND="1000000",
        HAMP_GATEWAY_API_BURST="1000000",
        # The benchmark logs in once as the superadmin, by script: no authenticator app to ask.
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
    )
    env.update(extra_env or {})
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: SIGINT reaches the supervisor, not us
    )
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if "console: http" in line:
            return process, time.monotonic() - started, lines
        if process.poll() is not None:
            break
    process.wait()
    raise SystemExit("hamp up did not become ready:\n" + "\n".join(lines) + f"\nlogs: {var_dir / 'logs'}")


def stop_platform(process: subprocess.Popen) -> None:
    """Ctrl-C to the supervisor, which stops its children; kill the group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def login(gateway: str, username: str = SUPERADMIN_USER, password: str = SUPERADMIN_PASSWORD) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{gateway}/api/auth/login", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["access_token"]


def _mysql_connect(server_url: str):
    import pymysql

    url = make_url(server_url)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        charset="utf8mb4",
        autocommit=True,
    )


def create_mysql_databases(server_url: str, prefix: str) -> dict[str, str]:
    """A fresh database per service with tables (every component but the registry) on the
    server of `server_url` (mysql+aiomysql://user:pw@host:port/); returns the HAMP_<SVC>_DATABASE_URL
    variables pointing at them."""
    url = make_url(server_url)
    env = {}
    with _mysql_connect(server_url) as connection, connection.cursor() as cursor:
        for name in components.available():
            if name == "registry":
                continue
            database = f"{prefix}_{name}"
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            env[f"HAMP_{name.upper()}_DATABASE_URL"] = url.set(database=database).render_as_string(hide_password=False)
    return env


def drop_mysql_databases(server_url: str, prefix: str) -> None:
    with _mysql_connect(server_url) as connection, connection.cursor() as cursor:
        for name in components.available():
            cursor.execute(f"DROP DATABASE IF EXISTS `{prefix}_{name}`")


@dataclass(frozen=True)
class Scratch:
    """A running scratch platform: where it answers, what it runs on, where it keeps its files."""

    gateway: str
    database: str
    var_dir: Path


@contextmanager
def scratch_platform(
    name: str, mysql: str | None = None, extra_env: dict[str, str] | None = None, keep: bool = False
) -> Iterator[Scratch]:
    """`hamp up` in a fresh directory on free ports — on SQLite, or with `mysql` (a server URL) every
    service on a fresh database of its own — stopped, and its databases and files removed, at the
    end (`keep`: the files stay, for a post-mortem of var/logs)."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"hamp-bench-{name}-"))
    prefix = f"hamp_bench_{os.getpid()}"  # unique: other benches may share the server
    ports = free_ports()
    process = None
    try:
        env = {**(create_mysql_databases(mysql, prefix) if mysql else {}), **(extra_env or {})}
        host = make_url(mysql) if mysql else None
        process, seconds, _ = start_platform(var_dir, ports, env)
        print(f"hamp up ready in {seconds:.1f} s")
        database = f"MariaDB/MySQL at {host.host}:{host.port}" if host else "SQLite"
        yield Scratch(f"http://127.0.0.1:{ports['gateway']}", database, var_dir)
    finally:
        if process is not None:
            stop_platform(process)
        if mysql:
            drop_mysql_databases(mysql, prefix)
        if keep:
            print(f"scratch directory kept: {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)

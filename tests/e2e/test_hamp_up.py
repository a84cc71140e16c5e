"""README's first command, as a newcomer runs it: the platform comes up, serves, heals, stops."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pyotp
import pytest

from shared import components
from tests.support.servers import ROOT, free_port, wait_http

pytestmark = pytest.mark.e2e


@dataclass
class Running:
    process: subprocess.Popen
    lines: list[str]
    gateway_url: str
    var_dir: Path
    seconds_to_ready: float
    # The superadmin's password once the generated one has been changed (required at first login),
    # and the recovery codes of the second factor enrolled then (one per later login).
    admin_password: str = ""
    recovery_codes: list[str] = field(default_factory=list)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if match := re.search(pattern, line):
                    return match
            seen = len(self.lines)
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))


@pytest.fixture(scope="module")
def hamp_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    var_dir = tmp_path_factory.mktemp("hamp-up")
    ports = {name: free_port() for name in components.available()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update({f"HAMP_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{ports['registry']}/eureka/",
        HAMP_JWKS_URL=f"http://127.0.0.1:{ports['gateway']}/api/auth/jwks",
        # A heartbeat a second, so that a few idle seconds would show one if it were logged.
        HAMP_REGISTRY_RENEWAL_SECONDS="1",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [str(ROOT / "hamp"), "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    running = Running(process, lines, f"http://127.0.0.1:{ports['gateway']}", var_dir, 0.0)
    try:
        running.wait_for_line(r"console: http://", timeout=240)
        running.seconds_to_ready = time.monotonic() - started
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _post(running: Running, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Generous: a login hashes with argon2, slow on a busy 2-core CI machine.
    answer = httpx2.post(f"{running.gateway_url}{path}", json=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _login(running: Running) -> str:
    """The superadmin's first login as README tells it: change the printed one-time password, enrol
    a second factor (as an authenticator app would), then log in with password and a recovery code."""
    match = running.wait_for_line(r"login:\s+(\S+) / (\S+)", timeout=1)
    username, password = match.group(1), running.admin_password or match.group(2)
    tokens = _post(running, "/api/auth/login", {"username": username, "password": password})
    if running.admin_password:
        assert tokens["second_factor_required"] is True and "access_token" not in tokens
        code = running.recovery_codes.pop()
        return _post(running, "/api/auth/login/second-factor", {"challenge": tokens["challenge"], "code": code})[
            "access_token"
        ]
    # The printed password is a one-time password: it opens nothing but the change form ...
    assert tokens["user"]["must_change_password"] is True
    running.admin_password = "Hamp-up-chosen-1"
    body = {"current_password": password, "new_password": running.admin_password}
    changed = _post(running, "/api/auth/password", body, tokens["access_token"])
    # ... and then nothing but the enrolment of a second factor (等保三级: administrators use two).
    assert changed["user"]["second_factor_enrolment_required"] is True
    enrolment = _post(running, "/api/auth/second-factor/enrolment", {}, changed["access_token"])
    code = pyotp.TOTP(enrolment["secret"]).now()
    confirmed = _post(running, "/api/auth/second-factor/confirm", {"code": code}, changed["access_token"])
    running.recovery_codes = list(confirmed["recovery_codes"])
    return confirmed["tokens"]["access_token"]


def test_prints_console_url_and_a_working_login(hamp_up: Running) -> None:
    token = _login(hamp_up)
    page = httpx2.get(hamp_up.gateway_url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    departments = httpx2.get(f"{hamp_up.gateway_url}/api/dbs/departments", headers={"Authorization": f"Bearer {token}"})
    assert departments.status_code == 200
    assert departments.json()["total"] >= 5, "demo data is loaded on the first start"
    doctors = httpx2.get(
        f"{hamp_up.gateway_url}/api/dbs/doctors?size=100", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert doctors["total"] >= 5 and all(d["department_name"] for d in doctors["items"])


def test_each_line_is_logged_once_and_an_idle_platform_logs_nothing(hamp_up: Running) -> None:
    logs = hamp_up.var_dir / "logs"
    for name in components.available():
        assert (logs / f"{name}.log").read_text().strip(), f"{name} logs to its .log"
        # The .out keeps only what is printed outside the logging: no JSON line twice.
        assert '"level"' not in (logs / f"{name}.out").read_text()
    deadline = time.monotonic() + 30
    while True:  # the first start's lines (the gateway's first service tokens) may still be coming
        sizes = {p.name: p.stat().st_size for p in logs.iterdir()}
        time.sleep(3)  # three registry heartbeats, three revocation polls
        grown = [p.name for p in logs.iterdir() if p.stat().st_size != sizes.get(p.name)]
        if not grown or time.monotonic() > deadline:
            break
    assert grown == [], "an idle platform writes no log lines"


def test_restarts_a_component_that_dies(hamp_up: Running) -> None:
    pid_file = hamp_up.var_dir / "run" / "dbs.pid"
    old_pid = int(pid_file.read_text())
    os.kill(old_pid, signal.SIGKILL)
    hamp_up.wait_for_line(r"dbs restarted", timeout=30)
    new_pid = int(pid_file.read_text())
    assert new_pid != old_pid
    token = _login(hamp_up)
    # The restarted dbs imports and starts again: a minute on a busy 2-core machine.
    deadline = time.monotonic() + 90
    status = 0
    while time.monotonic() < deadline and status != 200:
        status = httpx2.get(
            f"{hamp_up.gateway_url}/api/dbs/units", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        time.sleep(0.3)
    assert status == 200


def _stopped_at(log: Path, name: str) -> str:
    return next(e["ts"] for e in map(json.loads, log.read_text().splitlines()) if e["message"] == f"{name} stopped")


def test_ctrl_c_stops_everything_in_order_and_quietly(hamp_up: Running) -> None:
    pids = [int(p.read_text()) for p in (hamp_up.var_dir / "run").glob("*.pid")]
    assert len(pids) == len(components.available())
    # A terminal's Ctrl-C reaches the whole process group, not only the supervisor.
    os.killpg(hamp_up.process.pid, signal.SIGINT)
    assert hamp_up.process.wait(60) == 0
    hamp_up.wait_for_line(r"\[hamp\] stopped", timeout=1)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(TimeoutError):
        wait_http(hamp_up.gateway_url + "/health", timeout=1)
    logs = hamp_up.var_dir / "logs"
    for path in logs.iterdir():
        assert "Traceback" not in path.read_text(), f"{path.name} holds a traceback after a clean stop"
    # The gateway first (nothing new comes in), the registry last (the others cancel their leases there).
    stopped = {name: _stopped_at(logs / f"{name}.log", name) for name in components.available()}
    services = [stopped[n] for n in stopped if n not in ("gateway", "registry")]
    assert stopped["gateway"] <= min(services) and max(services) <= stopped["registry"]

"""`hamp up`'s supervisor starts cheaply: it learns ports from settings alone, and each child's log
lines are written once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from shared import components
from shared.supervisor import SUPERVISED
from tests.support.servers import ROOT, Component, free_port, platform_env, wait_http


@pytest.mark.parametrize("name", components.available())
def test_the_settings_table_names_each_components_settings(name: str) -> None:
    assert components.settings_class(name) is components.load(name).settings_class


def test_ports_are_learnt_without_importing_any_component() -> None:
    script = (
        "import json, sys\n"
        "from shared import components, supervisor\n"
        "ports = {n: supervisor._port_of(n, {'HAMP_DBS_PORT': '18104'}) for n in components.available()}\n"
        "heavy = (*components.ALL, 'fastapi', 'alembic')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "                and m not in components.ALL and not m.endswith('.settings'))\n"
        "print(json.dumps([ports, loaded]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    ports, loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded == []
    assert ports["dbs"] == 18104 and ports["gateway"] == 8080 and ports["registry"] == 8761


@pytest.mark.parametrize("to_stdout", [True, False])
def test_a_log_line_goes_to_stdout_only_when_asked(to_stdout: bool, tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from shared.logging import configure_logging\n"
        "from shared.settings import HampSettings\n"
        "class S(HampSettings):\n"
        "    component = 'probe'\n"
        "configure_logging(S())\n"
        "logging.getLogger('hamp.probe').warning('one line')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HAMP_VAR_DIR": str(tmp_path), "HAMP_LOG_TO_STDOUT": str(to_stdout).lower()}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    logged = [json.loads(line)["message"] for line in (tmp_path / "logs" / "probe.log").read_text().splitlines()]
    assert logged == ["one line"]
    assert ("one line" in done.stdout) is to_stdout


@pytest.mark.parametrize("supervised", [True, False])
def test_a_supervised_child_leaves_ctrl_c_to_the_supervisor(supervised: bool, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HAMP_VAR_DIR": str(tmp_path), "HAMP_LOG_TO_FILE": "false"}
    env.pop(SUPERVISED, None)
    if supervised:
        env[SUPERVISED] = "1"
    child = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "run", "registry", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=60)
        child.send_signal(signal.SIGINT)
        if supervised:
            with pytest.raises(subprocess.TimeoutExpired):
                child.wait(2)
            child.terminate()  # what the supervisor sends, in its order
        # uvicorn shuts down gracefully, then re-raises the signal it caught: SIGTERM ends the process.
        assert child.wait(30) == (-signal.SIGTERM if supervised else 0)
        assert "Traceback" not in (child.stdout.read() if child.stdout else "")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_component_whose_port_is_taken_stops_before_it_registers(tmp_path: Path) -> None:
    """Registered first and failing to listen after, it would send the gateway's callers, for as
    long as its lease lived, to whatever else holds the port."""
    registry = Component("registry", free_port(), platform_env(tmp_path, 0), tmp_path / "registry.out")
    registry.env["HAMP_REGISTRY_URLS"] = ""
    registry.start()
    try:
        env = platform_env(tmp_path, registry.port)
        with socket.socket() as taken:
            port = free_port()
            taken.bind(("127.0.0.1", port))
            taken.listen()
            done = subprocess.run(
                [sys.executable, "-m", "shared.cli", "run", "dbs", "--port", str(port)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert done.returncode == 3
        assert "端口可能已被占用" in done.stderr
        delta = httpx2.get(f"{registry.url}/eureka/apps/delta", headers={"Accept": "application/json"}).text
        assert "DBS" not in delta.upper()
    finally:
        registry.stop()

"""Seconds from `hamp up` to ready, and GET /api/dbs/departments through the gateway vs direct.

Starts the platform with `hamp up` in a scratch directory on free loopback ports (first
start: migrations and demo data; then a warm restart), then loads the same endpoint through
the gateway and directly on dbs with wrk (Debian package `wrk`), same connections and
duration, and prints requests/second and latency percentiles. Not a test: it prints figures.

    .venv/bin/python bench/gateway_overhead.py [--seconds 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_platform(var_dir: Path, ports: dict[str, int]) -> tuple[subprocess.Popen, float, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_PORT=str(ports["registry"]),
        HAMP_DBS_PORT=str(ports["dbs"]),
        HAMP_GATEWAY_PORT=str(ports["gateway"]),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{ports['registry']}/eureka/",
        HAMP_JWKS_URL=f"http://127.0.0.1:{ports['gateway']}/api/auth/jwks",
        HAMP_LOG_LEVEL="WARNING",
        # One benchmark user sends what a whole hospital would: lift the per-user API limit.
        HAMP_GATEWAY_API_RATE_PER_SECOND="1000000",
        HAMP_GATEWAY_API_BURST="1000000",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if "console: http" in line:
            return process, time.monotonic() - started, lines
        if process.poll() is not None:
            break
    raise SystemExit("hamp up did not become ready:\n" + "\n".join(lines))


def read_rest(process: subprocess.Popen, lines: list[str], until: str) -> None:
    for line in process.stdout:
        lines.append(line.rstrip())
        if until in line:
            return


def stop_platform(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def login(gateway: str, username: str, password: str) -> str:
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{gateway}/api/auth/login", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["access_token"]


def wrk(url: str, token: str, seconds: int, connections: int) -> dict[str, str]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}
    for pct in ("50", "99"):
        figures[f"p{pct}"] = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = errors.group(1) if errors else "0"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    var_dir = Path(tempfile.mkdtemp(prefix="hamp-bench-"))
    ports = {name: free_port() for name in ("registry", "dbs", "gateway")}
    gateway, dbs = f"http://127.0.0.1:{ports['gateway']}", f"http://127.0.0.1:{ports['dbs']}"
    try:
        process, first, lines = start_platform(var_dir, ports)
        user, password = re.search(
            r"login:\s+(\S+) / (\S+)", "\n".join(lines) + "\n" + process.stdout.readline()
        ).groups()
        stop_platform(process)
        process, warm, lines = start_platform(var_dir, ports)
        try:
            token = login(gateway, user, password)
            path = "/api/dbs/departments"
            wrk(gateway + path, token, 3, args.connections)  # warm-up: connection pools, caches
            via_gateway = wrk(gateway + path, token, args.seconds, args.connections)
            direct = wrk(dbs + path, token, args.seconds, args.connections)
        finally:
            stop_platform(process)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    print(
        f"machine: {os.cpu_count()} cores; wrk -t{min(2, args.connections)} -c{args.connections} "
        f"-d{args.seconds}s; SQLite (embedded)"
    )
    print(f"hamp up to ready, first start (migrations + demo data): {first:.1f} s")
    print(f"hamp up to ready, warm restart:                          {warm:.1f} s")
    print(f"{'GET ' + path:<34} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8}")
    for label, figures in (("through the gateway", via_gateway), ("directly to dbs", direct)):
        print(f"{label:<34} {figures['rps']:>9} {figures['p50']:>9} {figures['p99']:>9} {figures['non_2xx']:>8}")


if __name__ == "__main__":
    main()

"""Seconds from `hamp up` to ready, and GET /api/dbs/departments through the gateway vs direct.

Starts the platform with `hamp up` in a scratch directory on free loopback ports (first
start: migrations and demo data; then a warm restart), then loads the same endpoint through
the gateway and directly on dbs with wrk (Debian package `wrk`), same connections and
duration, and prints requests/second and latency percentiles. Not a test: it prints figures.

    .venv/bin/python bench/gateway_overhead.py [--seconds 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from hamp_platform import free_ports, login, start_platform, stop_platform


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
    ports = free_ports()
    gateway, dbs = f"http://127.0.0.1:{ports['gateway']}", f"http://127.0.0.1:{ports['dbs']}"
    try:
        process, first, _ = start_platform(var_dir, ports)
        stop_platform(process)
        process, warm, _ = start_platform(var_dir, ports)
        try:
            token = login(gateway)
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

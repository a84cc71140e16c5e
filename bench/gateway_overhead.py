"""What the gateway costs a request: `GET /api/dbs/departments` directly on dbs, through the
gateway and through nginx as a plain reverse proxy, measured in one run.

Starts the platform with `hamp up` in a scratch directory on free loopback ports, logs in once,
starts nginx (Debian package `nginx-light`) in front of the same dbs with pooled upstream
connections, then loads the three with wrk (Debian package `wrk`) at each connection count,
the three in turn within each round so a busy machine weighs on all of them alike; prints the
median of the rounds: requests/second, the ratio to direct, p50, the p50 added over direct,
p99, non-2xx answers, and the gateway process's CPU time per request (the figure a busy
machine disturbs least). Not a test: it prints figures.

    .venv/bin/python bench/gateway_overhead.py [--seconds 10] [--rounds 3] [--connections 1 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from hamp_platform import component_pids, cpu_seconds, free_port, free_ports, login, start_platform, stop_platform

PATH = "/api/dbs/departments"
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream dbs {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://dbs;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(figure: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", figure).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, token: str, seconds: int, connections: int, pid: int | None = None) -> dict[str, float]:
    """`pid`: also the CPU time that process spent per request (a busy machine slows a request
    down but hardly changes what it costs)."""
    cpu = cpu_seconds(pid) if pid else 0.0
    auth = f"Authorization: Bearer {token}"
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", auth, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "cpu_ms": (cpu_seconds(pid) - cpu) * 1000 / max(requests, 1) if pid else 0.0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50(?:\.000)?%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"\s99(?:\.000)?%\s+([\d.]+\w+)", out).group(1)),
        "non_2xx": float(errors.group(1) if errors else 0),
    }


def start_nginx(scratch: Path, upstream: int) -> tuple[subprocess.Popen, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = scratch / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=scratch, upstream=upstream, port=port))
    process = subprocess.Popen(
        [nginx, "-p", str(scratch), "-e", str(scratch / "error.log"), "-c", str(conf), "-g", "daemon off;"]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"nginx did not start: {(scratch / 'error.log').read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    for tool, package in (("wrk", "wrk"), ("nginx", "nginx-light")):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is needed: apt-get install {package}")

    scratch = Path(tempfile.mkdtemp(prefix="hamp-bench-gateway-"))
    ports = free_ports()
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    process, _, _ = start_platform(scratch / "var", ports)
    try:
        nginx, nginx_port = start_nginx(scratch, ports["dbs"])
        try:
            token = login(f"http://127.0.0.1:{ports['gateway']}")
            pids = component_pids(scratch / "var")
            targets = {
                "direct": f"http://127.0.0.1:{ports['dbs']}{PATH}",
                "gateway": f"http://127.0.0.1:{ports['gateway']}{PATH}",
                "nginx": f"http://127.0.0.1:{nginx_port}{PATH}",
            }
            for url in targets.values():  # warm-up: connection pools, route tables, caches
                wrk(url, token, 2, 32)
            for connections in args.connections:
                for _ in range(args.rounds):
                    for name, url in targets.items():
                        results.setdefault((name, connections), []).append(
                            wrk(url, token, args.seconds, connections, pids.get(name))
                        )
        finally:
            nginx.terminate()
            nginx.wait()
    finally:
        stop_platform(process)
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; GET {PATH}; wrk -d{args.seconds}s, "
        f"median of {args.rounds} rounds; SQLite (embedded)"
    )
    print(
        f"{'':<10} {'conns':>5} {'req/s':>9} {'x direct':>9} {'p50 ms':>8} {'+p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'gateway CPU ms/req':>19}"
    )
    for connections in args.connections:
        median = {
            name: {
                k: statistics.median(r[k] for r in results[(name, connections)])
                for k in ("rps", "p50", "p99", "cpu_ms")
            }
            | {"non_2xx": sum(r["non_2xx"] for r in results[(name, connections)])}
            for name in ("direct", "gateway", "nginx")
        }
        base = median["direct"]
        for name, m in median.items():
            print(
                f"{name:<10} {connections:>5} {m['rps']:>9.0f} {m['rps'] / base['rps']:>9.2f} {m['p50']:>8.2f} "
                f"{m['p50'] - base['p50']:>+8.2f} {m['p99']:>8.2f} {m['non_2xx']:>8.0f} "
                + (f"{m['cpu_ms']:>19.2f}" if name == "gateway" else "")
            )


if __name__ == "__main__":
    main()

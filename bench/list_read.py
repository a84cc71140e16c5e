"""`GET /api/dbs/departments` on dbs vs a minimal FastAPI + SQLAlchemy app, in the same run.

Starts dbs alone (`hamp run dbs`: embedded SQLite in a scratch directory, demo data, no
registry, revocation checks off, a token minted with a scratch key) and a minimal app — plain
FastAPI, SQLAlchemy async with its default engine, no auth, no middleware — over the same
SQLite file, answering the same two queries (the count and the first page of 20, by id) in
the same JSON shape. Both run as one uvicorn process. Then wrk loads each in turn, at 1 and 32
connections, `--rounds` times interleaved, and prints the medians: req/s, p50, p99 and the
ratio dbs / minimal. Not a test: it prints figures.

    .venv/bin/python bench/list_read.py [--seconds 10] [--rounds 3] [--connections 1,32]

`HAMP_DBS_*` variables in the environment reach dbs, to try a setting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from hamp_platform import ROOT, cpu_seconds, free_port
from pydantic import BaseModel

PATH = "/api/dbs/departments"


class Department(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    phone: str | None
    location: str | None
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class DepartmentPage(BaseModel):
    items: list[Department]
    total: int
    page: int
    size: int


def minimal_app(database: str) -> Any:
    """What one would write without the platform: the same two queries, the same answer, as
    FastAPI is meant to be used (a response model)."""
    from fastapi import FastAPI
    from sqlalchemy import MetaData, Table, func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    departments: Table | None = None
    app = FastAPI()

    @app.get(PATH, response_model=DepartmentPage)
    async def list_departments(page: int = 1, size: int = 20) -> Any:
        nonlocal departments
        async with engine.connect() as conn:
            if departments is None:
                departments = await conn.run_sync(lambda c: Table("departments", MetaData(), autoload_with=c))
            query = select(departments)
            total = (await conn.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
            rows = await conn.execute(query.order_by(departments.c.id).offset((page - 1) * size).limit(size))
            items = [dict(row._mapping) for row in rows]
        return {"items": items, "total": total, "page": page, "size": size}

    return app


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
    figures["requests"] = re.search(r"(\d+) requests in", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = errors.group(1) if errors else "0"
    return figures


def measure(url: str, token: str, seconds: int, connections: int, pid: int) -> dict[str, str]:
    before = cpu_seconds(pid)
    figures = wrk(url, token, seconds, connections)
    figures["cpu_ms"] = str((cpu_seconds(pid) - before) * 1000 / max(1, int(figures["requests"])))
    return figures


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{url} not ready in {timeout} s")


def seconds_of(latency: str) -> float:
    for unit, factor in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if latency.endswith(unit):
            return float(latency[: -len(unit)]) * factor
    raise ValueError(latency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--serve-minimal", nargs=2, metavar=("PORT", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_minimal:
        import uvicorn

        port, database = args.serve_minimal
        uvicorn.run(minimal_app(database), host="127.0.0.1", port=int(port), log_level="warning")
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    sys.path.insert(0, str(ROOT))
    from tests.support.tokens import SigningKey

    key = SigningKey.generate()
    token = key.token(["*"], user_id=1, username="bench", expires_in=3600)
    var_dir = Path(tempfile.mkdtemp(prefix="hamp-bench-list-"))
    database = var_dir / "dbs.db"
    dbs_port, minimal_port = free_port(), free_port()
    # HAMP_DBS_* set by the caller reach dbs, for trying a setting (HAMP_DBS_SQLITE_POOL_SIZE=3).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_") or k.startswith("HAMP_DBS_")}
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_DBS_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        HAMP_REGISTRY_URLS="",
        HAMP_JWKS=key.jwks_json,
        HAMP_CHECK_REVOCATIONS="false",
        HAMP_DEMO_DATA="true",
        HAMP_LOG_LEVEL="WARNING",
        HAMP_LOG_TO_FILE="false",
    )
    processes: list[subprocess.Popen] = []
    try:
        dbs = f"http://127.0.0.1:{dbs_port}"
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "run", "dbs", "--port", str(dbs_port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(var_dir / "dbs.out").open("w"),
            )
        )
        wait_ready(f"{dbs}/health/ready")
        minimal = f"http://127.0.0.1:{minimal_port}"
        processes.append(
            subprocess.Popen(
                [sys.executable, __file__, "--serve-minimal", str(minimal_port), str(database)],
                cwd=ROOT,
                env=env,
                stderr=(var_dir / "minimal.out").open("w"),
            )
        )
        wait_ready(f"{minimal}{PATH}")
        same_answer(dbs + PATH, minimal + PATH, token)
        targets = {"dbs": (dbs + PATH, processes[0].pid), "minimal": (minimal + PATH, processes[1].pid)}
        connections = [int(c) for c in args.connections.split(",")]
        runs: dict[tuple[str, int], list[dict[str, str]]] = {}
        for url, _pid in targets.values():  # warm-up: pools, caches, the schema reflection
            wrk(url, token, 2, max(connections))
        for _ in range(args.rounds):
            for c in connections:
                for name, (url, pid) in targets.items():
                    runs.setdefault((name, c), []).append(measure(url, token, args.seconds, c, pid))
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        shutil.rmtree(var_dir, ignore_errors=True)
    report(runs, connections, args)


def same_answer(dbs: str, minimal: str, token: str) -> None:
    answers = []
    for url in (dbs, minimal):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as answer:
            answers.append(json.load(answer))
    ours, theirs = answers
    if ours["total"] != theirs["total"] or [d["id"] for d in ours["items"]] != [d["id"] for d in theirs["items"]]:
        raise SystemExit(f"the two apps answer differently:\n{ours}\n{theirs}")


def report(runs: dict[tuple[str, int], list[dict[str, str]]], connections: list[int], args: argparse.Namespace) -> None:
    print(
        f"machine: {os.cpu_count()} cores; wrk -d{args.seconds}s, median of {args.rounds} interleaved rounds; "
        f"GET {PATH} (20 of 12 rows + count), SQLite"
    )
    print(f"{'app':<9} {'conns':>5} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8} {'ratio':>6} {'CPU/req':>9}")
    for c in connections:
        medians = {}
        for name in ("dbs", "minimal"):
            figures = runs[(name, c)]
            medians[name] = (
                statistics.median(float(f["rps"]) for f in figures),
                statistics.median(seconds_of(f["p50"]) for f in figures) * 1000,
                statistics.median(seconds_of(f["p99"]) for f in figures) * 1000,
                sum(int(f["non_2xx"]) for f in figures),
                statistics.median(float(f["cpu_ms"]) for f in figures),
            )
        for name, (rps, p50, p99, errors, cpu) in medians.items():
            ratio = f"{rps / medians['minimal'][0]:.2f}x" if name == "dbs" else ""
            print(f"{name:<9} {c:>5} {rps:>9.0f} {p50:>7.2f}ms {p99:>7.2f}ms {errors:>8} {ratio:>6} {cpu:>7.2f}ms")


if __name__ == "__main__":
    main()

"""Seconds from `hamp up` to ready, and what the idle platform holds in memory.

Starts the platform with `hamp up` in a scratch directory on free loopback ports: a first start
(migrations and demo data), then `--warm` warm restarts of the same directory. For each it
prints the seconds until the supervisor printed the console URL and the CPU seconds all the
platform's processes spent getting there (a busy machine stretches the seconds, the CPU time
much less), and for the warm starts their medians. After the last warm start it lets the
platform idle `--idle` seconds, then prints each process's resident memory (RSS and PSS from
/proc, the supervisor and the fork server included) and the totals, how many lines the logs
grew by while idle, and which logs hold a traceback after the clean stops. Not a test: it prints figures.

    .venv/bin/python bench/startup.py [--warm 3] [--idle 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

from hamp_platform import component_pids, cpu_seconds, free_ports, start_platform, stop_platform


def ctrl_c(process) -> None:
    """Stops the platform as a terminal's Ctrl-C does: SIGINT to the whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    stop_platform(process)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: a page shared with the fork server and the other children counts
    once over all of them, so the total is what the platform really holds."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def platform_pids(var_dir: Path, supervisor: int) -> dict[str, int]:
    """Every process of the platform's process group: the supervisor, the fork server,
    multiprocessing's resource tracker and the components (named by their pid files)."""
    named = {pid: name for name, pid in component_pids(var_dir).items()}
    pids = {"supervisor": supervisor}
    for stat in sorted(Path("/proc").glob("[0-9]*/stat")):
        try:
            group = int(stat.read_text().rsplit(")", 1)[1].split()[2])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        pid = int(stat.parent.name)
        if group == supervisor and pid != supervisor:
            pids[named.get(pid) or ("fork server" if b"forkserver" in command else "resource tracker")] = pid
    return pids


def log_lines(logs: Path) -> dict[str, int]:
    return {p.name: len(p.read_bytes().splitlines()) for p in sorted(logs.glob("*")) if p.is_file()}


def figures(values: list[float]) -> str:
    return f"{', '.join(f'{v:.1f}' for v in values)}; median {statistics.median(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=3, help="warm restarts to time (the median is printed)")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds idle before memory is read")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="hamp-bench-"))
    ports = free_ports()
    # The default level, not the benchmarks' WARNING: what the idle logs hold is part of the figure.
    env = {"HAMP_LOG_LEVEL": "INFO"}
    try:
        process, first, _ = start_platform(var_dir, ports, env)
        first_cpu = sum(cpu_seconds(pid) for pid in platform_pids(var_dir, process.pid).values())
        ctrl_c(process)
        warm, warm_cpu = [], []
        for _ in range(args.warm):
            process, seconds, _ = start_platform(var_dir, ports, env)
            warm.append(seconds)
            warm_cpu.append(sum(cpu_seconds(pid) for pid in platform_pids(var_dir, process.pid).values()))
            if len(warm) < args.warm:
                ctrl_c(process)
        try:
            logs = var_dir / "logs"
            before = log_lines(logs)
            time.sleep(args.idle)
            after = log_lines(logs)
            pids = platform_pids(var_dir, process.pid)
            memory = {name: (rss_mb(pid), pss_mb(pid)) for name, pid in pids.items()}
        finally:
            ctrl_c(process)
        tracebacks = [p.name for p in sorted(logs.glob("*")) if b"Traceback" in p.read_bytes()]
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    print(f"machine: {os.cpu_count()} cores; SQLite (embedded); {len(pids) - 3} components")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"hamp up to ready, first start (migrations + demo data): {first:.1f} s, {first_cpu:.1f} CPU s")
    print(f"hamp up to ready, warm (s): {figures(warm)}")
    print(f"CPU seconds to ready, warm: {figures(warm_cpu)}")
    print(f"idle memory after {args.idle:.0f} s (RSS, and PSS: shared pages counted once):")
    for name, (rss, pss) in memory.items():
        print(f"  {name:<12} {rss:7.1f} MB  {pss:7.1f} MB")
    print(f"  {'total':<12} {sum(m[0] for m in memory.values()):7.1f} MB  {sum(m[1] for m in memory.values()):7.1f} MB")
    grown = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    which = ", ".join(f"{name} +{count}" for name, count in grown.items() if count)
    print(f"log lines written while idle: {sum(grown.values())} ({which or 'none'})")
    print(f"logs with a traceback after {args.warm + 1} clean stops: {', '.join(tracebacks) or 'none'}")


if __name__ == "__main__":
    main()

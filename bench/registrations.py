"""Registrations (挂号) per second through the gateway, on SQLite or on MariaDB/MySQL.

Starts the platform with `hamp up` in a scratch directory on free loopback ports, gives every
demo doctor the whole day as working hours (the desk refuses a shift that has ended) and
schedules them for today (morning and afternoon, quota 500), adds `--patients` patients, then
runs `--concurrency` asyncio workers, each posting `POST /api/oms/visits` (paid in cash, a
fresh Idempotency-Key each) through the gateway for `--seconds` after a 3 s warm-up. Each
registration is of a patient not registered before (a second one with the same doctor and
shift is a 409 `already_registered`): the workers stop early, and say so, once every patient
has registered. Prints
registrations/second, latency percentiles of the 201s and every other answer by status and
problem code, then checks that dms booked exactly as many places as oms answered 201.
Not a test: it prints figures.

    uv run python bench/registrations.py [--seconds 20] [--concurrency 16] [--patients 2000]
    uv run python bench/registrations.py --mysql mysql+aiomysql://hamp:hamp-test@127.0.0.1:3307/

With --mysql every service gets a fresh database on that server (dropped at the end).
--keep leaves the scratch directory (var/logs/*.log) for a post-mortem.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import httpx2
from hamp_platform import component_pids, cpu_seconds, login, scratch_platform

HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")  # the platform's default `timezone`: "today" is computed there
QUOTA = 500  # the most dms allows on one schedule
WARM_UP_SECONDS = 3.0
# Doctor's hours under which both of today's shifts take registrations whenever the bench runs (but
# in the day's last two minutes): the same as tests/oms/outpatient_desk.py's ALL_DAY.
ALL_DAY = {"am_start": "00:00", "am_end": "23:58", "pm_start": "23:58", "pm_end": "23:59"}
DOCTOR_FIELDS = ("code", "name", "sex", "title", "department_id", "registration_type_id", "phone", "introduction")
ROUTE_WAIT_SECONDS = 120.0


async def wait_for_routes(client: httpx2.AsyncClient) -> None:
    """`hamp up` is ready when every process answers its probe; the gateway still has to see oms
    and dms in the registry before it routes to them, so poll their OpenAPI through it."""
    deadline = time.monotonic() + ROUTE_WAIT_SECONDS
    pending = ["/api/oms/openapi.json", "/api/dms/openapi.json"]
    while pending:
        answer = await client.get(pending[0])
        if answer.status_code == 200:
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise SystemExit(f"the gateway does not route {pending[0]}: {answer.status_code} {answer.text[:300]}")
        await asyncio.sleep(0.5)


def checked(answer: httpx2.Response, *expected: int) -> dict:
    if answer.status_code not in expected:
        request = answer.request
        raise SystemExit(f"{request.method} {request.url.path}: {answer.status_code} {answer.text[:500]}")
    return answer.json()


async def setup_call(client: httpx2.AsyncClient, method: str, url: str, **kwargs) -> httpx2.Response:
    """A setup request, repeated while it answers 503: `hamp up` says ready before the services
    have fetched the gateway from the registry (the gateway starts last; they fetch every few
    seconds), and until then dms cannot get its service token to call dbs."""
    deadline = time.monotonic() + ROUTE_WAIT_SECONDS
    while True:
        answer = await client.request(method, url, **kwargs)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(1.0)


async def schedule_today(client: httpx2.AsyncClient, today: dt.date) -> list[int]:
    """A morning and an afternoon of every doctor today with QUOTA places, the doctor working
    ALL_DAY so that neither shift is over whatever the time; the schedule ids.

    The dms demo roster (loaded in the background on the first start) may already hold today's
    shifts with a small quota: a 409 `schedule_exists` (or, when both write it at the same moment, the
    unique index's plain `conflict`) says so, and then the quota is raised."""
    doctors = checked(await setup_call(client, "GET", "/api/dbs/doctors", params={"size": 200}), 200)["items"]
    doctors = [d for d in doctors if d["enabled"]]
    if not doctors:
        raise SystemExit("dbs has no doctors: was the demo data loaded?")
    for doctor in doctors:
        if any(doctor[k] != v for k, v in ALL_DAY.items()):
            body = {**{k: doctor[k] for k in DOCTOR_FIELDS}, **ALL_DAY}
            checked(await setup_call(client, "PUT", f"/api/dbs/doctors/{doctor['id']}", json=body), 200)
        for shift in ("morning", "afternoon"):
            body = {
                "doctor_id": doctor["id"],
                "date": today.isoformat(),
                "shift": shift,
                "registration_type_id": doctor["registration_type_id"],
                "quota": QUOTA,
            }
            answer = await setup_call(client, "POST", "/api/dms/schedules", json=body)
            if answer.status_code == 409 and answer.json().get("code") in ("schedule_exists", "conflict"):
                continue  # the roster made it (a plain conflict: at this very moment); raised below
            checked(answer, 201)
    day = {"date_from": today.isoformat(), "date_to": today.isoformat()}
    schedules = checked(await client.get("/api/dms/schedules", params=day), 200)["items"]
    for schedule in schedules:
        if schedule["quota"] != QUOTA:
            update = {"registration_type_id": schedule["registration_type_id"], "quota": QUOTA}
            checked(await setup_call(client, "PUT", f"/api/dms/schedules/{schedule['id']}", json=update), 200)
    open_ids = [s["id"] for s in schedules if s["status"] == "open"]
    if not open_ids:
        raise SystemExit(f"no open schedule today ({today})")
    return open_ids


async def add_patients(client: httpx2.AsyncClient, count: int, concurrency: int) -> list[int]:
    """`count` patients, added by `concurrency` requests at a time; their ids in order."""
    ids: list[int] = [0] * count
    numbers = iter(range(count))

    async def adder() -> None:
        for n in numbers:
            body = {"name": f"压测患者{n:05d}", "sex": "female" if n % 2 else "male", "birth_date": "1980-01-01"}
            ids[n] = checked(await setup_call(client, "POST", "/api/oms/patients", json=body), 201)["id"]

    await asyncio.gather(*(adder() for _ in range(concurrency)))
    return ids


def problem_code(answer: httpx2.Response) -> str:
    try:
        return str(answer.json().get("code", ""))
    except ValueError:  # not problem+json: a proxy or server error page
        return answer.text[:80]


class Tally:
    """Answers of the measured window: 201 latencies, and everything else by status and code;
    and every 201 of the run, warm-up included, since dms booked a place for each of them."""

    def __init__(self) -> None:
        self.created = 0
        self.latencies: list[float] = []
        self.others: Counter[tuple[int | str, str]] = Counter()
        self.ran_out_at: float | None = None  # when the last patient was taken, if before the end


async def worker(
    client: httpx2.AsyncClient,
    patients: Iterator[tuple[int, int]],
    schedules: list[int],
    measure_from: float,
    stop_at: float,
    tally: Tally,
) -> None:
    """Registers the next patient not yet taken (shared by the workers), each with the next
    schedule in turn, until `stop_at` or until no patient is left."""
    while time.monotonic() < stop_at:
        taken = next(patients, None)
        if taken is None:
            tally.ran_out_at = tally.ran_out_at or time.monotonic()
            return
        i, patient_id = taken
        body = {"patient_id": patient_id, "schedule_id": schedules[i % len(schedules)], "payment_method": "cash"}
        started = time.monotonic()
        try:
            answer = await client.post("/api/oms/visits", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        except httpx2.HTTPError as exc:
            status, code = type(exc).__name__, ""
        else:
            status = answer.status_code
            code = problem_code(answer) if status != 201 else ""
        elapsed = time.monotonic() - started
        if status == 201:
            tally.created += 1
        if started < measure_from:
            continue
        if status == 201:
            tally.latencies.append(elapsed)
        else:
            tally.others[(status, code)] += 1


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def cpu_over_window(pids: dict[str, int], measure_from: float) -> dict[str, float]:
    """Each process's CPU seconds at the start of the measured window (the workers' warm-up done)."""
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def bench(gateway: str, args: argparse.Namespace, database: str, pids: dict[str, int]) -> None:
    limits = httpx2.Limits(max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4)
    async with httpx2.AsyncClient(base_url=gateway, timeout=60.0, limits=limits) as client:
        await wait_for_routes(client)
        client.headers["Authorization"] = f"Bearer {await asyncio.to_thread(login, gateway)}"
        today = dt.datetime.now(HOSPITAL_TZ).date()
        schedules = await schedule_today(client, today)
        patients = await add_patients(client, args.patients, args.concurrency)

        tally = Tally()
        measure_from = time.monotonic() + WARM_UP_SECONDS
        stop_at = measure_from + args.seconds
        unused = enumerate(patients)  # one iterator for all workers: each patient registers once
        # The bench's own process too: its client is part of the machine's load.
        pids = {**pids, "bench client": os.getpid()}
        cpu_at_start = asyncio.create_task(cpu_over_window(pids, measure_from))
        await asyncio.gather(
            *(worker(client, unused, schedules, measure_from, stop_at, tally) for _ in range(args.concurrency))
        )
        at_start = await cpu_at_start
        cpu = {name: cpu_seconds(pid) - at_start[name] for name, pid in pids.items()}
        measured = time.monotonic() - measure_from
        if measured <= 0:
            raise SystemExit(f"all {len(patients)} patients registered during the warm-up: raise --patients")

        day = {"date_from": today.isoformat(), "date_to": today.isoformat()}
        booked = sum(s["booked"] for s in checked(await client.get("/api/dms/schedules", params=day), 200)["items"])

    ok = tally.latencies
    print(f"machine: {os.cpu_count()} cores; database: {database}")
    print(
        f"concurrency {args.concurrency}; {args.seconds} s measured after {WARM_UP_SECONDS:.0f} s warm-up; "
        f"{len(patients)} patients; {len(schedules)} schedules today ({today}), quota {QUOTA} each"
    )
    print(f"registrations/s (201 per second): {len(ok) / measured:.1f}   ({len(ok)} in {measured:.1f} s)")
    if tally.ran_out_at is not None:
        print(
            f"every patient had registered {tally.ran_out_at - measure_from:.1f} s into the window: "
            "the workers stopped early (raise --patients to measure the whole window)"
        )
    print(
        f"latency of 201s: p50 {percentile(ok, 50) * 1000:.0f} ms, p95 {percentile(ok, 95) * 1000:.0f} ms, "
        f"p99 {percentile(ok, 99) * 1000:.0f} ms"
    )
    per = max(1, len(ok))
    spent = ", ".join(f"{name} {seconds * 1000 / per:.1f}" for name, seconds in cpu.items() if seconds > 0)
    print(f"CPU ms per registration in the window: {spent}; total {sum(cpu.values()) * 1000 / per:.1f}")
    if tally.others:
        print("non-201 answers (measured window):")
        for (status, code), count in tally.others.most_common():
            print(f"    {status} {code or '-'}: {count}")
    else:
        print("non-201 answers: none")
    verdict = "OK" if booked == tally.created else "MISMATCH"
    print(f"dms booked today: {booked}; oms 201s (warm-up included): {tally.created} -> {verdict}")
    if verdict != "OK":
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql", help="server URL, e.g. mysql+aiomysql://hamp:hamp-test@127.0.0.1:3307/")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--patients", type=int, default=2000, help="patients added first; each registers once, so at most this many"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs) at the end")
    args = parser.parse_args()
    with scratch_platform("registrations", args.mysql, keep=args.keep) as platform:
        asyncio.run(bench(platform.gateway, args, platform.database, component_pids(platform.var_dir)))


if __name__ == "__main__":
    main()

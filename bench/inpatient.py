"""The inpatient service (hms) through the gateway: a stay's full cycle time, and admissions per second.

Starts the platform with `hamp up` in a scratch directory on free loopback ports (SQLite, or every
service on its own fresh MariaDB/MySQL database with --mysql), then:

(a) cycle: `--stays` stays one after another, each: 入院登记 with a deposit, two charge items,
    a drug order of two drugs, the pharmacy receiving it (hms's outbox) and dispensing it, the
    dispensed report reaching hms (pms's outbox), and the discharge settlement. Prints the median
    and p95 of the whole cycle and of each step, and checks every settlement's figures against
    the prices booked (total, insured at the charge type's ratio, self-pay, refund).
(b) admissions: `--concurrency` asyncio workers, each admitting new patients into beds of its
    own ward (`--admissions` beds and patients made first, shared out), for `--seconds` after a
    3 s warm-up. Prints admissions/second (201 per second), p50/p95/p99 of the 201s and every
    other answer by status and problem code (there should be none), then checks that hms holds
    exactly one stay per 201 and that every bed of the run is occupied by the stay that took it.

Not a test: it prints figures.

    .venv/bin/python bench/inpatient.py [--stays 20] [--seconds 20] [--concurrency 16] [--admissions 2000]
    .venv/bin/python bench/inpatient.py --mysql mysql+aiomysql://hamp:hamp-test@127.0.0.1:3308/
    .venv/bin/python bench/inpatient.py --stays 3 --seconds 3 --concurrency 4 --admissions 400   # a smoke run

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
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx2
from hamp_platform import login, scratch_platform
from registrations import ROUTE_WAIT_SECONDS, checked, percentile, problem_code, setup_call

WARM_UP_SECONDS = 3.0
POLL_SECONDS = 0.02  # how often the cycle looks for an outbox message's effect
DEPARTMENT = "NKBQ"  # dbs demo: 内科病区, an inpatient department
DOCTOR = "D001"
CHARGE_TYPE = "城镇职工医保"  # dbs demo: ratio 0.70
ITEMS = (("XM0010", 2), ("XM0014", 1))  # 静脉输液 ×2, 一级护理 ×1
DRUGS = (("YP0001", 1), ("YP0006", 2))  # 阿莫西林胶囊 ×1, 0.9%氯化钠注射液 ×2
DEPOSIT = Decimal("1000.00")
BED_PRICE = Decimal("40.00")
CENT = Decimal("0.01")
Row = dict[str, Any]
STEPS = ("admit", "items", "drug order", "to pharmacy", "dispense", "report to hms", "settle")


async def wait_for_routes(client: httpx2.AsyncClient) -> None:
    """The gateway routes a service once it has seen it in the registry: poll each OpenAPI through it."""
    deadline = time.monotonic() + ROUTE_WAIT_SECONDS
    for service in ("dbs", "oms", "pms", "hms"):
        while (answer := await client.get(f"/api/{service}/openapi.json")).status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"the gateway does not route {service}: {answer.status_code} {answer.text[:300]}")
            await asyncio.sleep(0.5)


async def one_of(client: httpx2.AsyncClient, path: str, field: str, value: str) -> dict[str, Any]:
    found = checked(await setup_call(client, "GET", path, params={"q": value, "size": 100}), 200)["items"]
    match = [row for row in found if row[field] == value]
    if not match:
        raise SystemExit(f"{path}: no {field} {value!r} (was the demo data loaded?)")
    return dict(match[0])


class Setup:
    """What every admission names: the department, the doctor, the charge type, and the prices."""

    def __init__(self, department: Row, doctor: Row, charge_type: Row, items: dict[str, Row], drugs: dict[str, Row]):
        self.department, self.doctor, self.charge_type = department, doctor, charge_type
        self.items, self.drugs = items, drugs  # by code


async def master_data(client: httpx2.AsyncClient) -> Setup:
    return Setup(
        await one_of(client, "/api/dbs/departments", "code", DEPARTMENT),
        await one_of(client, "/api/dbs/doctors", "code", DOCTOR),
        await one_of(client, "/api/dbs/charge-types", "name", CHARGE_TYPE),
        {code: await one_of(client, "/api/dbs/charge-items", "code", code) for code, _ in ITEMS},
        {code: await one_of(client, "/api/dbs/drugs", "code", code) for code, _ in DRUGS},
    )


async def in_parallel(count: int, concurrency: int, make: Any) -> list[Any]:
    """`make(i)` for i in range(count), `concurrency` at a time; the answers in order."""
    out: list[Any] = [None] * count
    numbers = iter(range(count))

    async def runner() -> None:
        for i in numbers:
            out[i] = await make(i)

    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return out


async def new_ward(client: httpx2.AsyncClient, setup: Setup, beds: int, concurrency: int) -> list[int]:
    """A ward of its own with `beds` free beds; their ids."""
    tag = uuid.uuid4().hex[:8]
    body = {"code": f"BW{tag}", "name": f"压测病区{tag}", "department_id": setup.department["id"]}
    ward = checked(await setup_call(client, "POST", "/api/hms/wards", json=body), 201)

    async def bed(i: int) -> int:
        body = {"ward_id": ward["id"], "number": str(i + 1), "daily_price": str(BED_PRICE)}
        return int(checked(await setup_call(client, "POST", "/api/hms/beds", json=body), 201)["id"])

    return await in_parallel(beds, concurrency, bed)


async def new_patients(client: httpx2.AsyncClient, count: int, concurrency: int) -> list[int]:
    async def patient(i: int) -> int:
        body = {"name": f"住院压测{i:05d}", "sex": "female" if i % 2 else "male", "birth_date": "1960-03-01"}
        return int(checked(await setup_call(client, "POST", "/api/oms/patients", json=body), 201)["id"])

    return await in_parallel(count, concurrency, patient)


async def stock_pharmacy(client: httpx2.AsyncClient, setup: Setup, stays: int) -> None:
    """Enough of each drug for every stay, delivered as the warehouse does."""
    lines = [
        {
            "drug_id": setup.drugs[code]["id"], "code": code, "name": setup.drugs[code]["name"],
            "spec": setup.drugs[code].get("spec") or "", "unit": "盒", "batch_no": f"BENCH-{code}",
            "production_date": (dt.date.today() - dt.timedelta(days=100)).isoformat(), "expiry_date": "2099-12-31",
            "supplier_id": 1, "purchase_price": "1.00", "quantity": quantity * stays + 1,
        }
        for code, quantity in DRUGS
    ]  # fmt: skip
    outbound = int(time.time()) % 1_000_000
    body = {"outbound_id": outbound, "outbound_number": f"CK-HMS-BENCH-{outbound}", "warehouse_id": 1, "lines": lines}
    key = {"Idempotency-Key": f"bench-delivery-{uuid.uuid4()}"}
    checked(await setup_call(client, "POST", "/api/pms/deliveries", json=body, headers=key), 201)


def admission(setup: Setup, patient_id: int, bed_id: int, deposit: Decimal | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": patient_id, "department_id": setup.department["id"], "doctor_id": setup.doctor["id"],
        "bed_id": bed_id, "diagnosis": "社区获得性肺炎", "charge_type_id": setup.charge_type["id"],
    }  # fmt: skip
    if deposit is not None:
        body["deposit"] = {"amount": str(deposit), "method": "cash"}
    return body


async def until(check: Any) -> Any:
    """Polls `check()` (an outbox message on its way) until it answers something; gives up after a minute."""
    deadline = time.monotonic() + 60
    while (found := await check()) is None:
        if time.monotonic() > deadline:
            raise SystemExit("an outbox message did not arrive within 60 s")
        await asyncio.sleep(POLL_SECONDS)
    return found


def expected_settlement(setup: Setup) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(total, insured, self-pay, refund) of one cycle's stay, from the prices: one bed-day (a stay
    admitted and discharged the same day is one day), the items, the drugs."""
    total = BED_PRICE
    total += sum((Decimal(setup.items[c]["price"]) * q for c, q in ITEMS), Decimal("0.00"))
    total += sum((Decimal(setup.drugs[c]["price"]) * q for c, q in DRUGS), Decimal("0.00"))
    insured = (total * Decimal(setup.charge_type["reimbursement_ratio"])).quantize(CENT, rounding=ROUND_HALF_UP)
    return total, insured, total - insured, DEPOSIT - (total - insured)


async def cycle(client: httpx2.AsyncClient, setup: Setup, patient_id: int, bed_id: int) -> tuple[dict[str, float], Row]:
    """One stay from admission to settlement; the seconds each step took, and the settlement."""
    spent: dict[str, float] = {}
    mark = time.monotonic()

    def step(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        spent[name], mark = now - mark, now

    stay = checked(await client.post("/api/hms/stays", json=admission(setup, patient_id, bed_id, DEPOSIT)), 201)
    step("admit")
    lines = [{"charge_item_id": setup.items[c]["id"], "quantity": q} for c, q in ITEMS]
    checked(await client.post(f"/api/hms/stays/{stay['id']}/items", json={"lines": lines}), 201)
    step("items")
    lines = [{"drug_id": setup.drugs[c]["id"], "quantity": q, "usage": "口服"} for c, q in DRUGS]
    order = checked(await client.post(f"/api/hms/stays/{stay['id']}/drug-orders", json={"lines": lines}), 201)
    step("drug order")

    async def at_pharmacy() -> Any:
        found = checked(await client.get("/api/pms/dispensing-orders", params={"q": order["number"]}), 200)["items"]
        return next((o for o in found if o["source"] == "hms" and o["order_id"] == order["id"]), None)

    received = await until(at_pharmacy)
    step("to pharmacy")
    checked(await client.post(f"/api/pms/dispensing-orders/{received['id']}/dispense"), 200)
    step("dispense")

    async def reported() -> Any:
        state = checked(await client.get(f"/api/hms/drug-orders/{order['id']}"), 200)["state"]
        return True if state == "dispensed" else None

    await until(reported)
    step("report to hms")
    settlement = checked(await client.post(f"/api/hms/stays/{stay['id']}/settlement", json={"method": "cash"}), 201)
    step("settle")
    return spent, settlement


def ms(values: list[float], pct: int) -> str:
    return f"{percentile(values, pct) * 1000:.0f} ms"


async def bench_cycles(client: httpx2.AsyncClient, setup: Setup, stays: int) -> None:
    beds = await new_ward(client, setup, stays, 8)
    patients = await new_patients(client, stays, 8)
    await stock_pharmacy(client, setup, stays)
    total, insured, self_pay, refund = expected_settlement(setup)
    wholes: list[float] = []
    steps: dict[str, list[float]] = defaultdict(list)
    wrong = 0
    for patient_id, bed_id in zip(patients, beds, strict=True):
        started = time.monotonic()
        spent, settlement = await cycle(client, setup, patient_id, bed_id)
        wholes.append(time.monotonic() - started)
        for name, seconds in spent.items():
            steps[name].append(seconds)
        figures = tuple(Decimal(settlement[k]) for k in ("total", "insured", "self_pay", "refunded"))
        wrong += figures != (total, insured, self_pay, refund)
    print(f"(a) full cycle of one stay, {stays} stays one after another:")
    print(f"    cycle time: median {statistics.median(wholes) * 1000:.0f} ms, p95 {ms(wholes, 95)}")
    print("    by step (median / p95): " + ", ".join(f"{n} {ms(steps[n], 50)} / {ms(steps[n], 95)}" for n in STEPS))
    print(
        f"    each settlement: total {total}, insured {insured} ({CHARGE_TYPE}), self-pay {self_pay}, "
        f"refund {refund} -> {'OK' if not wrong else f'{wrong} MISMATCHED'}"
    )
    if wrong:
        raise SystemExit(1)


class Tally:
    def __init__(self) -> None:
        self.created: list[tuple[int, int]] = []  # (bed, stay) of every 201, warm-up included
        self.latencies: list[float] = []
        self.others: Counter[tuple[int | str, str]] = Counter()
        self.ran_out_at: float | None = None


async def admitter(
    client: httpx2.AsyncClient, setup: Setup, beds: list[int], patients: list[int],
    measure_from: float, stop_at: float, tally: Tally,
) -> None:  # fmt: skip
    """Admits a new patient into the next free bed of its own ward until `stop_at` or no bed is left."""
    for bed_id, patient_id in zip(beds, patients, strict=True):
        if time.monotonic() >= stop_at:
            return
        started = time.monotonic()
        status: int | str
        try:
            answer = await client.post("/api/hms/stays", json=admission(setup, patient_id, bed_id))
        except httpx2.HTTPError as exc:
            status, code = type(exc).__name__, ""
        else:
            status = answer.status_code
            code = problem_code(answer) if status != 201 else ""
            if status == 201:
                tally.created.append((bed_id, answer.json()["id"]))
        elapsed = time.monotonic() - started
        if started < measure_from:
            continue
        if status == 201:
            tally.latencies.append(elapsed)
        else:
            tally.others[(status, code)] += 1
    tally.ran_out_at = tally.ran_out_at or time.monotonic()


async def count_stays(client: httpx2.AsyncClient, ward_ids: set[int]) -> int:
    total = 0
    for ward_id in ward_ids:
        total += checked(await client.get("/api/hms/stays", params={"ward_id": ward_id, "size": 1}), 200)["total"]
    return total


async def occupied_by(client: httpx2.AsyncClient, ward_ids: set[int]) -> dict[int, int]:
    """{bed: the stay occupying it} over these wards."""
    held: dict[int, int] = {}
    for ward_id in ward_ids:
        page = 1
        while True:
            params: dict[str, str | int] = {"ward_id": ward_id, "state": "occupied", "page": page, "size": 100}
            found = checked(await client.get("/api/hms/beds", params=params), 200)
            held.update({bed["id"]: bed["stay_id"] for bed in found["items"]})
            if page * 100 >= found["total"]:
                break
            page += 1
    return held


async def bench_admissions(client: httpx2.AsyncClient, setup: Setup, args: argparse.Namespace) -> None:
    per_worker = max(1, args.admissions // args.concurrency)
    wards = [await new_ward(client, setup, per_worker, args.concurrency) for _ in range(args.concurrency)]
    patients = await new_patients(client, per_worker * args.concurrency, args.concurrency)
    ward_ids = {
        checked(await client.get(f"/api/hms/beds/{beds[0]}"), 200)["ward_id"] for beds in wards
    }  # fmt: skip
    tally = Tally()
    measure_from = time.monotonic() + WARM_UP_SECONDS
    stop_at = measure_from + args.seconds
    await asyncio.gather(
        *(
            admitter(client, setup, beds, patients[i * per_worker : (i + 1) * per_worker], measure_from, stop_at, tally)
            for i, beds in enumerate(wards)
        )
    )
    measured = min(time.monotonic(), stop_at) - measure_from
    if measured <= 0:
        raise SystemExit(f"(b) all {len(tally.created)} admissions happened during the warm-up: raise --admissions")
    ok = tally.latencies
    print(f"(b) admissions, {args.concurrency} workers, each into its own ward of {per_worker} beds:")
    print(f"    admissions/s (201 per second): {len(ok) / measured:.1f}   ({len(ok)} in {measured:.1f} s)")
    if tally.ran_out_at is not None and tally.ran_out_at < stop_at:
        print(
            f"    a worker ran out of beds {tally.ran_out_at - measure_from:.1f} s into the window "
            "(raise --admissions to measure the whole window)"
        )
    print(f"    latency of 201s: p50 {ms(ok, 50)}, p95 {ms(ok, 95)}, p99 {ms(ok, 99)}")
    if tally.others:
        print("    non-201 answers (measured window):")
        for (status, code), count in tally.others.most_common():
            print(f"        {status} {code or '-'}: {count}")
    else:
        print("    non-201 answers: none")
    stays = await count_stays(client, ward_ids)
    held = await occupied_by(client, ward_ids)
    same = held == dict(tally.created)
    verdict = "OK" if stays == len(tally.created) and same else "MISMATCH"
    print(
        f"    hms stays in the run's wards: {stays}; 201s (warm-up included): {len(tally.created)}; "
        f"every bed held by the stay that took it: {same} -> {verdict}"
    )
    if verdict != "OK" or tally.others:
        raise SystemExit(1)


async def bench(gateway: str, args: argparse.Namespace, database: str) -> None:
    limits = httpx2.Limits(max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4)
    async with httpx2.AsyncClient(base_url=gateway, timeout=60.0, limits=limits) as client:
        client.headers["Authorization"] = f"Bearer {await asyncio.to_thread(login, gateway)}"
        await wait_for_routes(client)
        setup = await master_data(client)
        print(f"machine: {os.cpu_count()} cores; database: {database}")
        if args.stays:
            await bench_cycles(client, setup, args.stays)
        if args.seconds:
            await bench_admissions(client, setup, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql", help="server URL, e.g. mysql+aiomysql://hamp:hamp-test@127.0.0.1:3308/")
    parser.add_argument("--stays", type=int, default=20, help="(a) stays taken through the full cycle; 0 skips it")
    parser.add_argument("--seconds", type=int, default=20, help="(b) seconds measured; 0 skips it")
    parser.add_argument("--concurrency", type=int, default=16, help="(b) workers admitting at once")
    parser.add_argument(
        "--admissions", type=int, default=2000, help="(b) beds and patients made first: at most this many admissions"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs) at the end")
    args = parser.parse_args()
    # The warehouse's demo stock would reach the same shelf as the bench's delivery.
    extra_env = {"HAMP_SMS_DEMO_DATA": "false"}
    with scratch_platform("inpatient", args.mysql, extra_env, keep=args.keep) as platform:
        asyncio.run(bench(platform.gateway, args, platform.database))


if __name__ == "__main__":
    main()

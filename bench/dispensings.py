"""Dispensings (发药) per second through the gateway, on SQLite or MariaDB/MySQL, and the stock
ledger's audit after the run.

Starts the platform with `hamp up` in a scratch directory on free loopback ports, delivers stock
to the pharmacy as the warehouse does (`POST /api/pms/deliveries`: `--drugs` drugs, three batches
each), receives `--orders` dispensing orders as oms sends paid prescriptions (two drugs each), then
runs `--concurrency` asyncio workers, each dispensing the next order not yet taken
(`POST /api/pms/dispensing-orders/{id}/dispense`) for `--seconds` after a 3 s warm-up. Every
dispense takes stock first-expiry-first-out, atomically, with a ledger row per batch taken. Prints
dispensings/second, latency percentiles and every other answer by status and problem code, then
the ledger audit (`GET /api/pms/stock/audit`) and whether the units that left equal what the
dispensed orders asked for. Not a test: it prints figures.

    .venv/bin/python bench/dispensings.py [--seconds 20] [--concurrency 16] [--orders 3000]
    .venv/bin/python bench/dispensings.py --mysql mysql+aiomysql://hamp:hamp-test@127.0.0.1:3307/

The orders refer to no real oms order, so the pharmacy's reports back to oms are refused there and
set aside in pms's outbox (消息队列): a little background work the figure includes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid
from collections import Counter

import httpx2
from hamp_platform import login, scratch_platform
from registrations import ROUTE_WAIT_SECONDS, checked, percentile, problem_code, setup_call

WARM_UP_SECONDS = 3.0
PER_LINE = 2  # units of each drug an order asks for


async def wait_for_pms(client: httpx2.AsyncClient) -> None:
    deadline = time.monotonic() + ROUTE_WAIT_SECONDS
    while (answer := await client.get("/api/pms/openapi.json")).status_code != 200:
        if time.monotonic() > deadline:
            raise SystemExit(f"the gateway does not route pms: {answer.status_code} {answer.text[:300]}")
        await asyncio.sleep(0.5)


def drug(drug_id: int) -> dict:
    return {"drug_id": drug_id, "code": f"YP{drug_id:03d}", "name": f"测试药品{drug_id}", "spec": "10片", "unit": "盒"}


async def deliver(client: httpx2.AsyncClient, drugs: int, per_drug: int) -> int:
    """Enough of every drug for every order, in three batches of different expiry."""
    today = dt.date.today()
    lines = []
    for drug_id in range(1, drugs + 1):
        for n, months in enumerate((6, 12, 24)):
            lines.append(
                {
                    **drug(drug_id),
                    "batch_no": f"B{drug_id:03d}-{n}",
                    "production_date": (today - dt.timedelta(days=300)).isoformat(),
                    "expiry_date": (today + dt.timedelta(days=30 * months)).isoformat(),
                    "supplier_id": 1,
                    "purchase_price": "3.20",
                    "quantity": per_drug // 3 + 1,
                }
            )
    body = {"outbound_number": "CK-BENCH-00001", "outbound_id": 1, "warehouse_id": 1, "lines": lines}
    key = {"Idempotency-Key": f"bench-delivery-{uuid.uuid4()}"}
    checked(await setup_call(client, "POST", "/api/pms/deliveries", json=body, headers=key), 201)
    return sum(line["quantity"] for line in lines)


async def receive_orders(client: httpx2.AsyncClient, count: int, drugs: int, concurrency: int) -> list[int]:
    ids: list[int] = []

    async def one(i: int) -> None:
        a, b = 1 + i % drugs, 1 + (i + 1) % drugs
        body = {
            "source": "oms",
            "order_id": i + 1,
            "order_number": f"CF-BENCH-{i + 1:05d}",
            "visit_number": f"MZ-BENCH-{i + 1:05d}",
            "patient_name": "压测患者",
            "doctor_name": "压测医生",
            "department_name": "内科",
            "lines": [
                {**drug(a), "line_id": 2 * i + 1, "quantity": PER_LINE},
                {**drug(b), "line_id": 2 * i + 2, "quantity": PER_LINE},
            ],
        }
        headers = {"Idempotency-Key": f"bench-order-{uuid.uuid4()}"}
        ids.append(checked(await client.post("/api/pms/dispensing-orders", json=body, headers=headers), 201)["id"])

    pending = list(range(count))
    while pending:
        batch, pending = pending[:concurrency], pending[concurrency:]
        await asyncio.gather(*(one(i) for i in batch))
    return sorted(ids)


class Tally:
    def __init__(self) -> None:
        self.dispensed = 0
        self.latencies: list[float] = []
        self.others: Counter[tuple[int | str, str]] = Counter()


async def worker(
    client: httpx2.AsyncClient, orders: list[int], measure_from: float, stop_at: float, tally: Tally
) -> None:
    while time.monotonic() < stop_at and orders:
        order_id = orders.pop()
        started = time.monotonic()
        try:
            answer = await client.post(f"/api/pms/dispensing-orders/{order_id}/dispense")
        except httpx2.HTTPError as exc:
            status, code = type(exc).__name__, ""
        else:
            status = answer.status_code
            code = problem_code(answer) if status != 200 else ""
        if status == 200:
            tally.dispensed += 1
        if started < measure_from:
            continue
        if status == 200:
            tally.latencies.append(time.monotonic() - started)
        else:
            tally.others[(status, code)] += 1


async def bench(gateway: str, args: argparse.Namespace, database: str) -> None:
    limits = httpx2.Limits(max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4)
    async with httpx2.AsyncClient(base_url=gateway, timeout=60.0, limits=limits) as client:
        await wait_for_pms(client)
        client.headers["Authorization"] = f"Bearer {await asyncio.to_thread(login, gateway)}"
        delivered = await deliver(client, args.drugs, args.orders * 2 * PER_LINE // args.drugs + PER_LINE)
        orders = await receive_orders(client, args.orders, args.drugs, args.concurrency)
        unused = list(reversed(orders))  # one list for all workers: each order is dispensed once
        tally = Tally()
        measure_from = time.monotonic() + WARM_UP_SECONDS
        stop_at = measure_from + args.seconds
        await asyncio.gather(*(worker(client, unused, measure_from, stop_at, tally) for _ in range(args.concurrency)))
        measured = min(time.monotonic(), stop_at) - measure_from
        audit = checked(await client.get("/api/pms/stock/audit"), 200)
        shelf = 0
        page = 1
        while True:
            rows = checked(await client.get("/api/pms/stock", params={"page": page, "size": 100}), 200)
            shelf += sum(row["quantity"] for row in rows["items"])
            if page * 100 >= rows["total"]:
                break
            page += 1

    ok = tally.latencies
    print(f"machine: {os.cpu_count()} cores; database: {database}")
    print(f"concurrency {args.concurrency}; {args.seconds} s measured after {WARM_UP_SECONDS:.0f} s warm-up")
    print(f"orders: {len(orders)} of two drugs x {PER_LINE}; {args.drugs} drugs in three batches each")
    print(f"dispensings/s (200 per second): {len(ok) / measured:.1f}   ({len(ok)} in {measured:.1f} s)")
    if not unused:
        print("every order was dispensed before the window ended: raise --orders to measure the whole window")
    print(
        f"latency of 200s: p50 {percentile(ok, 50) * 1000:.0f} ms, p95 {percentile(ok, 95) * 1000:.0f} ms, "
        f"p99 {percentile(ok, 99) * 1000:.0f} ms"
    )
    for (status, code), count in tally.others.most_common():
        print(f"    non-200 {status} {code or '-'}: {count}")
    left = delivered - shelf
    expected = tally.dispensed * 2 * PER_LINE
    print(
        f"ledger audit: {'balanced' if audit['balanced'] else 'MISMATCH'} over {audit['batches']} batches "
        f"({len(audit['mismatches'])} mismatches); units out {left}, dispensed orders asked {expected} -> "
        f"{'OK' if left == expected else 'MISMATCH'}"
    )
    if not audit["balanced"] or left != expected:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql", help="server URL, e.g. mysql+aiomysql://hamp:hamp-test@127.0.0.1:3307/")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--orders", type=int, default=3000, help="orders received first; each is dispensed once")
    parser.add_argument("--drugs", type=int, default=20)
    args = parser.parse_args()
    # The warehouse's demo stock would reach the same shelf while the bench counts it.
    with scratch_platform("dispensings", args.mysql, {"HAMP_SMS_DEMO_DATA": "false"}) as platform:
        asyncio.run(bench(platform.gateway, args, platform.database))


if __name__ == "__main__":
    main()

"""Statistics (tms) at a hospital's size: ingestion rate from the feeds, and each report's time.

Starts the platform with `hamp up` in a scratch directory on free loopback ports (SQLite, or every
service on its own fresh MariaDB/MySQL database with --mysql), with tms reading oms's feed from a
generated feed server instead of oms: `--visits` outpatient visits spread evenly over the two
years up to now, three changes each (the registration, its fee paid, then a drug or item paid —
or, for one visit in 17, the fee refunded, and for one in 29 the registration cancelled), in oms's
feed format, served page by page (`after`, `limit`) as tms asks. Then:

(a) ingestion: the time from tms's start until its cursor reaches the feed's head; changes/s and
    fact rows/s (each change writes one fact row, and its share of the daily rollups).
(b) reports: each report asked `--runs` times through the gateway (after two warm-up asks), with
    its default filters and with the two years as its period; p50 and p99 in milliseconds.

Not a test: it prints figures.

    .venv/bin/python bench/tms_reports.py [--visits 1000000] [--runs 30]
    .venv/bin/python bench/tms_reports.py --mysql mysql+aiomysql://hamp:hamp-test@127.0.0.1:3308/
    .venv/bin/python bench/tms_reports.py --visits 20000 --runs 5        # a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics as stats
import threading
import time
from decimal import Decimal
from typing import Any

import httpx2
from aiohttp import web
from hamp_platform import login, scratch_platform
from registrations import percentile

PER_VISIT = 3
DOCTORS = 40
DEPARTMENTS = 12
METHODS = ("cash", "wechat", "alipay", "card", "insurance")
FEES = (Decimal("5.00"), Decimal("10.00"), Decimal("20.00"))
SPAN = dt.timedelta(days=730)


class Feed:
    """oms's feed for `visits` visits, computed from the seq alone: nothing is held in memory."""

    def __init__(self, visits: int, end: dt.datetime) -> None:
        self.visits = visits
        self.head = visits * PER_VISIT
        self.start = end - SPAN
        self.step = SPAN / visits

    def change(self, seq: int) -> dict[str, Any]:
        i, k = divmod(seq - 1, PER_VISIT)
        at = self.start + self.step * i
        doctor = 1 + (i * 7919) % DOCTORS
        department = 1 + doctor % DEPARTMENTS
        fee = FEES[i % len(FEES)]
        visit = {"number": f"MZ{i + 1:08d}", "visit_date": (at + dt.timedelta(hours=8)).date().isoformat(),
                 "department_id": department, "doctor_id": doctor}  # fmt: skip
        if k == 0:
            data = {**visit, "registration_type_id": 1, "fee": str(fee)}
            return self._change(seq, at, "visit", i + 1, "registered", data)
        method = METHODS[i % len(METHODS)]
        if k == 1:
            return self._payment(seq, at, 2 * i + 1, "paid", "registration", fee, method, i, doctor, department)
        if i % 29 == 0:
            return self._change(seq, at, "visit", i + 1, "cancelled", visit)
        if i % 17 == 0:
            return self._payment(seq, at, 2 * i + 2, "refunded", "registration", -fee, method, i, doctor, department)
        amount = Decimal(500 + (i * 104729) % 29500) / 100
        category = "drug" if i % 3 else "item"
        return self._payment(seq, at, 2 * i + 2, "paid", category, amount, method, i, doctor, department)

    @staticmethod
    def _change(seq: int, at: dt.datetime, entity: str, id_: int, action: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"seq": seq, "at": at.isoformat(), "entity": entity, "entity_id": str(id_), "action": action,
                "data": data}  # fmt: skip

    def _payment(self, seq: int, at: dt.datetime, id_: int, action: str, category: str, amount: Decimal, method: str,
                 i: int, doctor: int, department: int) -> dict[str, Any]:  # fmt: skip
        at = at + dt.timedelta(minutes=5)
        insured = (amount * Decimal("0.7")).quantize(Decimal("0.01")) if method == "insurance" else Decimal("0.00")
        data = {"number": f"SF{id_:09d}", "kind": "refund" if action == "refunded" else category, "method": method,
                "amount": str(amount), "visit_id": i + 1, "department_id": department, "doctor_id": doctor,
                "order_id": None, "refund_of": None, "category": category, "insured_amount": str(insured),
                "cashier": f"cashier{i % 8}", "created_at": at.isoformat()}  # fmt: skip
        return self._change(seq, at, "payment", id_, action, data)

    def page(self, after: int, limit: int) -> dict[str, Any]:
        last = min(after + limit, self.head)
        items = [self.change(seq) for seq in range(after + 1, last + 1)]
        return {"items": items, "next": last if items else after, "head": self.head}


def serve_feed(feed: Feed) -> tuple[int, threading.Thread]:
    async def answer(request: web.Request) -> web.Response:
        page = feed.page(int(request.query.get("after", 0)), int(request.query.get("limit", 100)))
        return web.Response(body=json.dumps(page).encode(), content_type="application/json")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def run() -> None:
        app = web.Application()
        app.router.add_get("/api/oms/feed", answer)
        web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=False)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def wait_ingested(client: httpx2.Client, head: int) -> tuple[float, int]:
    started = time.monotonic()
    last_print = started
    while True:
        answer = client.get("/api/tms/feeds")
        if answer.status_code == 200:
            oms = next(f for f in answer.json() if f["source"] == "oms")
            if oms["after"] >= head:
                return time.monotonic() - started, oms["after"]
            if time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                rate = oms["after"] / (last_print - started)
                print(f"  … {oms['after']:,} of {head:,} changes ({rate:,.0f}/s)", flush=True)
        time.sleep(0.5)


def time_reports(client: httpx2.Client, runs: int, end: dt.date) -> list[tuple[str, float, float, int]]:
    first = (end - SPAN).isoformat()
    doctor = {"doctor_id": 7}
    asks: list[tuple[str, str, dict[str, Any]]] = [
        ("门诊月度统计 (this year)", "outpatient-monthly", {}),
        ("门诊月度统计 (two years)", "outpatient-monthly", {"date_from": first, "date_to": end.isoformat()}),
        ("门诊月度统计 (two years, one doctor)", "outpatient-monthly",
         {"date_from": first, "date_to": end.isoformat(), **doctor}),
        ("门诊年度统计", "outpatient-yearly", {}),
        ("医生统计对比 (this month)", "doctors", {}),
        ("医生统计对比 (two years)", "doctors", {"date_from": first, "date_to": end.isoformat()}),
        ("门诊当天统计", "outpatient-today", {}),
        ("收费员日结 (today)", "cashiers", {}),
        ("收费员日结 (two years)", "cashiers", {"date_from": first, "date_to": end.isoformat()}),
    ]  # fmt: skip
    results = []
    for label, key, params in asks:
        times = []
        for n in range(runs + 2):
            started = time.perf_counter()
            answer = client.get(f"/api/tms/reports/{key}", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200, f"{key}: {answer.status_code} {answer.text[:300]}"
            if n >= 2:
                times.append(elapsed)
        rows = len(answer.json()["rows"])
        results.append((label, stats.median(times), percentile(times, 99), rows))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--mysql", help="a MariaDB/MySQL server URL (default: SQLite)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    now = dt.datetime.now(dt.UTC)
    feed = Feed(args.visits, now)
    port, _ = serve_feed(feed)
    env = {
        "HAMP_TMS_SERVICE_URLS": json.dumps({"OMS": f"http://127.0.0.1:{port}"}),
        "HAMP_TMS_FEED_SOURCES": json.dumps(["oms"]),
        "HAMP_TMS_FEED_POLL_SECONDS": "0.5",
    }
    print(f"{args.visits:,} visits, {feed.head:,} feed changes over two years")
    with scratch_platform("statistics", args.mysql, env, keep=args.keep) as platform:
        client = httpx2.Client(base_url=platform.gateway, timeout=120,
                               headers={"Authorization": f"Bearer {login(platform.gateway)}"})  # fmt: skip
        seconds, applied = wait_ingested(client, feed.head)
        print(f"\ndatabase: {platform.database}")
        print(f"ingestion: {applied:,} changes in {seconds:.1f} s = {applied / seconds:,.0f} changes/s "
              f"(one fact row each: {applied / seconds:,.0f} rows/s)")  # fmt: skip
        end = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        print(f"\n{'report':<40} {'p50 ms':>8} {'p99 ms':>8} {'rows':>6}   ({args.runs} runs through the gateway)")
        for label, p50, p99, rows in time_reports(client, args.runs, end):
            print(f"{label:<40} {p50:>8.1f} {p99:>8.1f} {rows:>6}")


if __name__ == "__main__":
    main()

"""导出 (`GET /api/system/exports`): a list walked through its own API as the caller, to XLSX or CSV.

A real gateway and oms (threads of this process, SQLite): 100,000 payments filled straight into
oms's table, exported through the gateway within bounded memory and equal to the list; the export
permission and the list's own both needed; ID cards and phones masked in the file as on screen;
one audit row per export; the row limit refused up front.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, insert, text

from gateway.system.exports.service import Caller, walk
from oms.payments.models import Payment
from oms.visits.models import Visit
from shared.auth import Principal
from shared.errors import Problem
from shared.migrations import sync_url
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

BIG = 100_000
SMALL = 250  # two pages, the second part-full
LIMIT = BIG + 100
ID_CARD = "11010519491231002X"
PHONE = "13812345678"
READ = ["oms:payment:read", "oms:patient:read", "oms:data:export"]
COLUMNS = (
    '[{"key":"number","label":"缴费单号"},{"key":"patient_name","label":"患者"},'
    '{"key":"method","label":"支付方式","values":{"cash":"现金","wechat":"微信"}},'
    '{"key":"amount","label":"金额"},{"key":"created_at","label":"时间"}]'
)


@dataclass
class Platform:
    stack: Stack
    gateway: str
    oms: Any  # a sync engine on oms's database
    big_visit: int
    small_visit: int
    users: Iterator[int]

    def headers(self, permissions: list[str]) -> dict[str, str]:
        # A user of their own each: the gateway's rate limit counts per user.
        return self.stack.bearer(permissions, user_id=next(self.users), username="export-clerk")

    def export(self, permissions: list[str], **params: Any) -> httpx2.Response:
        with httpx2.Client(base_url=self.gateway, timeout=120) as client:
            return client.get("/api/system/exports", params=params, headers=self.headers(permissions))


def _visit(conn: Any, patient_id: int, number: str) -> int:
    now = datetime.now(UTC)
    values = {
        "number": number, "patient_id": patient_id, "patient_name": "张三", "department_id": 1,
        "department_name": "内科", "doctor_id": 1, "doctor_name": "李医生", "registration_type_id": 1,
        "registration_type_name": "普通号", "schedule_id": 1, "booking_key": number, "visit_date": now.date(),
        "shift": "morning", "queue_no": 1, "fee": Decimal("10.00"), "fee_paid": True, "state": "done",
        "created_by": "test", "created_at": now, "updated_at": now,
    }  # fmt: skip
    return int(conn.execute(insert(Visit.__table__).values(**values)).inserted_primary_key[0])  # type: ignore[attr-defined]


def _payments(conn: Any, visit_id: int, prefix: str, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        amount = Decimal(i % 1000) + Decimal("0.50")
        rows.append(
            {"number": f"{prefix}{i:07d}", "visit_id": visit_id, "kind": "drug",
             "method": "cash" if i % 2 else "wechat", "amount": amount, "cashier": "cashier",
             "created_at": start + timedelta(seconds=i), "insured_amount": Decimal("0.00"),
             "self_amount": amount, "self_method": "cash"}
        )  # fmt: skip
    conn.execute(insert(Payment.__table__), rows)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("exports")
    with fresh_databases("sqlite", ["oms"], directory) as urls, Stack(directory, urls) as stack:
        stack.start("oms")  # first: the gateway's pollers would find it away and open its breaker
        # A slow rate limit: walking 500 pages must not be charged to the user.
        stack.start("gateway", api_rate_per_second=1, api_burst=30, export_max_rows=LIMIT)
        with httpx2.Client(base_url=stack.url("gateway"), timeout=30) as client:
            created = client.post(
                "/api/oms/patients",
                json={"name": "张三", "id_card": ID_CARD, "phone": PHONE},
                headers=stack.bearer(["oms:patient:write"], user_id=2),
            )
            assert created.status_code == 201, created.text
        engine = create_engine(sync_url(urls["oms"]))
        with engine.begin() as conn:
            big = _visit(conn, created.json()["id"], "MZ-BIG")
            small = _visit(conn, created.json()["id"], "MZ-SMALL")
            _payments(conn, big, "B", BIG)
            _payments(conn, small, "S", SMALL)
        try:
            yield Platform(stack, stack.url("gateway"), engine, big, small, iter(range(100, 10_000)))
        finally:
            engine.dispose()


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class PeakMemory:
    """The process's peak resident memory above where it stood at the start (gateway, oms and this
    test share the process: whatever any of them held for the export shows)."""

    def __init__(self) -> None:
        self.base = _rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def test_a_hundred_thousand_rows_stream_within_bounded_memory_and_equal_the_list(
    platform: Platform, tmp_path: Path
) -> None:
    target = tmp_path / "payments.xlsx"
    params = {"path": "/api/oms/payments", "format": "xlsx", "visit_id": platform.big_visit, "columns": COLUMNS}
    started = time.monotonic()
    with (
        PeakMemory() as memory,
        httpx2.Client(base_url=platform.gateway, timeout=300) as client,
        client.stream("GET", "/api/system/exports", params=params, headers=platform.headers(READ)) as answer,
    ):
        assert answer.status_code == 200, answer.read()
        with target.open("wb") as file:
            for chunk in answer.iter_bytes():
                file.write(chunk)
        disposition = answer.headers["content-disposition"]
    took = time.monotonic() - started
    size = target.stat().st_size
    print(f"\n100k XLSX: {took:.1f} s, {size / 1e6:.1f} MB, peak memory growth {memory.growth / 1e6:.1f} MB")
    # The rows as the API sends them are ~45 MB of JSON (several times that as Python objects), the
    # file 2.6 MB zipped and ~30 MB of sheet XML: holding the rows, or the sheet, in memory would
    # show. A page at a time measured 7 MB.
    assert memory.growth < 25e6, f"{memory.growth / 1e6:.0f} MB"
    assert "filename*=utf-8''" in disposition and ".xlsx" in disposition

    sheet = load_workbook(target, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    assert next(rows) == ("缴费单号", "患者", "支付方式", "金额", "时间")
    exported = list(rows)
    with platform.oms.connect() as conn:
        listed = conn.execute(
            text("SELECT number, method, amount FROM payments WHERE visit_id = :v ORDER BY id DESC"),
            {"v": platform.big_visit},
        ).all()
    assert len(exported) == BIG
    assert [r[0] for r in exported] == [r.number for r in listed]
    assert [r[2] for r in exported] == [{"cash": "现金", "wechat": "微信"}[r.method] for r in listed]
    # Money as numbers, to the cent; instants as the hospital's local time.
    assert [Decimal(str(r[3])).quantize(Decimal("0.01")) for r in exported[:500]] == [r.amount for r in listed[:500]]
    assert exported[-1][4] == "2026-01-01 08:00:00"


def test_csv_of_a_filtered_list_opens_in_excel_and_equals_the_list(platform: Platform) -> None:
    answer = platform.export(READ, path="/api/oms/payments", format="csv", visit_id=platform.small_visit)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    with httpx2.Client(base_url=platform.gateway, timeout=30) as client:
        listed = client.get(
            "/api/oms/payments",
            params={"visit_id": platform.small_visit, "size": 200, "page": 2},
            headers=platform.headers(["oms:payment:read"]),
        ).json()
    assert len(rows) == SMALL == listed["total"]
    # Without columns: every scalar field under its key, in the list's order.
    assert [r["number"] for r in rows[200:]] == [p["number"] for p in listed["items"]]
    assert rows[0]["amount"] == listed_first_amount(platform)
    assert "refunded_line_ids" not in rows[0]


def listed_first_amount(platform: Platform) -> str:
    with platform.oms.connect() as conn:
        amount = conn.execute(
            text("SELECT amount FROM payments WHERE visit_id = :v ORDER BY id DESC LIMIT 1"),
            {"v": platform.small_visit},
        ).scalar_one()
    return f"{Decimal(amount):.2f}"


@pytest.mark.parametrize(
    "permissions",
    [["oms:payment:read"], ["oms:patient:read", "oms:data:export"], ["oms:payment:read", "dbs:data:export"]],
    ids=["no-export", "no-list-permission", "other-module-export"],
)
def test_export_needs_the_export_permission_and_the_lists_own(platform: Platform, permissions: list[str]) -> None:
    answer = platform.export(permissions, path="/api/oms/payments", visit_id=platform.small_visit)
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "permission_denied"
    assert "权限" in answer.json()["detail"]


@pytest.mark.parametrize("reveal", [False, True], ids=["masked", "pii-read"])
def test_id_cards_and_phones_are_masked_in_the_file_as_on_screen(platform: Platform, reveal: bool) -> None:
    permissions = [*READ, "pii:read"] if reveal else READ
    columns = '[{"key":"name","label":"姓名"},{"key":"id_card","label":"身份证号"},{"key":"phone","label":"电话"}]'
    answer = platform.export(permissions, path="/api/oms/patients", format="xlsx", columns=columns, q=ID_CARD)
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "身份证号", "电话")
    expected = (ID_CARD, PHONE) if reveal else ("1101**********002X", "138****5678")
    assert rows[1:] == [("张三", *expected)]


def test_each_export_is_audited_without_the_search_text(platform: Platform) -> None:
    answer = platform.export(READ, path="/api/oms/patients", format="csv", q=ID_CARD)
    assert answer.status_code == 200, answer.text
    with httpx2.Client(base_url=platform.gateway, timeout=30) as client:
        log = client.get(
            "/api/system/operation-log",
            params={"module": "system", "entity": "export", "size": 1},
            headers=platform.headers(["system:audit:read"]),
        ).json()
    (row,) = log["items"]
    assert row["action"] == "export" and row["actor"] == "export-clerk"
    assert row["after"]["path"] == "/api/oms/patients"
    assert (row["after"]["format"], row["after"]["rows"]) == ("csv", 1)
    assert ID_CARD not in str(row) and row["after"]["filters"] == {"q": "（已使用搜索）"}


def test_more_rows_than_the_limit_are_refused_up_front(platform: Platform) -> None:
    answer = platform.export(READ, path="/api/oms/payments")
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "export_too_large"
    assert f"{BIG + SMALL}" in answer.json()["detail"] and f"{LIMIT}" in answer.json()["detail"]


def test_gateway_lists_export_too(platform: Platform) -> None:
    answer = platform.export(
        ["system:audit:read", "system:data:export"], path="/api/system/operation-log", format="csv"
    )
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows and {"action", "entity", "actor"} <= rows[0].keys()


# --- the walk itself, against a list that changes or fails under it ---------------------------


class ChangingList:
    """An ASGI list of ids newest first, 200 a page; `between` runs after each page is answered."""

    def __init__(self, ids: list[int], fail_page: int = 0) -> None:
        self.ids = ids
        self.fail_page = fail_page
        self.asked: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = dict(pair.split("=") for pair in scope["query_string"].decode().split("&"))
        self.asked.append(scope["query_string"].decode())
        page, size = int(query["page"]), int(query["size"])
        if page == self.fail_page:
            body = json.dumps({"code": "dependency_unavailable", "detail": "服务暂时无法访问"}).encode()
            status = 503
        else:
            items = [{"id": i} for i in self.ids[(page - 1) * size : page * size]]
            body = json.dumps({"items": items, "total": len(self.ids), "page": page, "size": size}).encode()
            status = 200
            self.ids.insert(0, max(self.ids) + 1)  # a row arrives while the walk goes on
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})


def _walk(app: ChangingList) -> list[int]:
    caller = Caller(Principal(1, "u", "u", frozenset({"*"})), [], None, "http")

    async def run() -> list[int]:
        return [i["id"] async for page in walk(app, caller, "/api/x/list", [("kind", "a")], 10_000) for i in page]  # type: ignore[arg-type]

    return asyncio.run(run())


def test_a_row_inserted_during_the_walk_neither_repeats_nor_hides_one() -> None:
    app = ChangingList(list(range(450, 0, -1)))
    ids = _walk(app)
    # Each insert pushed the previous page's last row onto the next page: skipped, not repeated.
    assert ids == list(range(450, 0, -1))
    assert app.asked[0] == "kind=a&page=1&size=200"


def test_a_page_that_fails_ends_the_export_with_an_error_not_a_short_file() -> None:
    with pytest.raises(Problem) as failed:
        _walk(ChangingList(list(range(450, 0, -1)), fail_page=2))
    assert failed.value.code == "export_interrupted" and failed.value.status == 503
    assert "第 2 页" in failed.value.detail.zh  # type: ignore[union-attr]


def test_an_export_beyond_those_running_at_once_is_told_to_retry() -> None:
    from gateway.system.exports.service import export

    async def asked_while_full() -> None:
        full = asyncio.Semaphore(1)
        async with full:
            await export(None, None, None, None, None, full, max_rows=1, timezone="UTC")  # type: ignore[arg-type]

    with pytest.raises(Problem) as refused:
        asyncio.run(asked_while_full())
    assert (refused.value.status, refused.value.code) == (503, "exports_busy")
    assert refused.value.headers == {"Retry-After": "10"}
    assert "导出较多" in refused.value.detail.zh  # type: ignore[union-attr]

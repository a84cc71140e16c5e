"""药房统计 and 仓库统计 against figures counted by hand over a generated pharmacy and warehouse
history spanning four months and a year boundary (tests/tms/stores_feed.py), with reversed inbound
orders, dispensed drugs returned and refunded, returns to disposal and stock-takes; a small
history whose every figure is written out; and ingestion that counts nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

import tms.api  # noqa: F401  (every model on the metadata)
from shared.db import Database
from shared.feed import FeedPage
from tests.support.tables import database_fixtures
from tests.tms.stores_feed import NOW, WINDOW, ZONE, History, generate
from tms.db import metadata
from tms.facts import HANDLERS
from tms.ingest.service import Moved, apply_page, cursor, ensure_cursors
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.shape import Filters, Lookup, ReportOut
from tms.stores.models import StockBatch, StoreMovement

pytestmark = pytest.mark.anyio
tables, db = database_fixtures(metadata)
HISTORY = generate()
MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02"]
PERIOD = {"date_from": date(2025, 11, 1), "date_to": date(2026, 2, 28)}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def ingest(db: Database, source: str, pages: list[FeedPage]) -> None:
    for page in pages:
        async with db.transaction() as session:
            await apply_page(session, source, await cursor(session, source), page, HANDLERS, ZONE, complete=False)


async def ingest_history(db: Database, history: History, size: int) -> None:
    async with db.transaction() as session:
        await ensure_cursors(session, ["pms", "sms"])
    await ingest(db, "pms", history.pms.pages(size))
    await ingest(db, "sms", history.sms.pages(size))


@pytest.fixture
async def ingested(db: Database) -> AsyncIterator[Database]:
    # Pages of 37: a page's changes are applied entity by entity, not in feed order.
    await ingest_history(db, HISTORY, 37)
    yield db


async def report(db: Database, key: str, **filters: Any) -> ReportOut:
    async with db.transaction() as session:
        return await service.answer(
            session, service.find(REPORTS, key), Filters(**filters), Lookup({}, {}, NOW, WINDOW)
        )


def figures(answer: ReportOut) -> dict[str, Decimal]:
    return {f.key: Decimal(f.value) for f in answer.summary}


def pharmacy_month(history: History, month: str) -> dict[str, Decimal]:
    expected = {
        c: history.pharmacy.get((month, c), Decimal(0))
        for c in ("dispensed_outpatient", "dispensed_inpatient", "returned", "received", "to_warehouse")
    }
    expected["dispensed_net"] = (
        expected["dispensed_outpatient"] + expected["dispensed_inpatient"] - expected["returned"]
    )
    return expected


def warehouse_month(history: History, month: str) -> dict[str, Decimal]:
    expected = {
        c: history.warehouse.get((month, c), Decimal(0))
        for c in ("inbound", "reversed", "outbound", "returns", "disposals", "adjustments")
    }
    expected["inbound"] -= expected["reversed"]  # the report's inbound is net of reversals
    return expected


async def test_pharmacy_report_equals_the_figures_counted_by_hand(ingested: Database) -> None:
    assert HISTORY.patient_returns and HISTORY.refunded_before_dispense  # the history has both kinds of refund
    answer = await report(ingested, "pharmacy", **PERIOD)
    assert [row["month"] for row in answer.rows] == MONTHS
    for row in answer.rows:
        expected = pharmacy_month(HISTORY, row["month"])
        assert {k: Decimal(row[k]) for k in expected} == expected, row["month"]
    for key in ("dispensed_net", "received", "returned"):
        assert Decimal(answer.total[key]) == sum(pharmacy_month(HISTORY, m)[key] for m in MONTHS)  # type: ignore[index]
    assert figures(answer) == HISTORY.shelf("pms")
    assert 0 < figures(answer)["expired_value"] < figures(answer)["expiring_value"] < figures(answer)["stock_value"]
    assert answer.title == "药房统计" and answer.summary[1].label == f"{WINDOW}天内到期金额（含已过期）"
    assert (answer.chart.type, answer.chart.x) == ("bar", "month")


async def test_warehouse_report_equals_the_figures_counted_by_hand(ingested: Database) -> None:
    assert HISTORY.reversals
    answer = await report(ingested, "warehouse", **PERIOD)
    assert [row["month"] for row in answer.rows] == MONTHS
    for row in answer.rows:
        expected = warehouse_month(HISTORY, row["month"])
        assert {k: Decimal(row[k]) for k in expected} == expected, row["month"]
    assert Decimal(answer.total["outbound"]) == sum(warehouse_month(HISTORY, m)["outbound"] for m in MONTHS)  # type: ignore[index]
    assert figures(answer) == HISTORY.shelf("sms")
    # Only the months asked for: the shelf is now's whatever the period.
    january = await report(ingested, "warehouse", date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    assert [row["month"] for row in january.rows] == ["2026-01"] and figures(january) == HISTORY.shelf("sms")


async def test_every_figure_of_a_small_history(db: Database) -> None:
    """Received before the year's end and reversed after it; delivered, dispensed, brought back and
    refunded; a batch expiring inside the window. Each amount written out."""
    history = History()
    new_year = datetime(2026, 1, 1, 0, 10, tzinfo=ZONE)  # 2025-12-31 16:10 UTC: January's
    soon, far = (NOW.date() + timedelta(days=30)).isoformat(), "2027-12-31"
    batch_a = {"drug_id": 1, "batch_no": "A", "purchase_price": "2.50", "expiry_date": far}
    batch_b = {"drug_id": 2, "batch_no": "B", "purchase_price": "3.00", "expiry_date": soon}
    sms, pms = history.sms, history.pms
    sms.add(
        new_year - timedelta(minutes=40),
        "inbound_order",
        1,
        "posted",
        {"number": "RK1", "warehouse_id": 1, "lines": [{**batch_a, "quantity": 100}, {**batch_b, "quantity": 50}]},
    )
    sms.add(
        new_year,
        "inbound_order",
        2,
        "reversal_posted",
        {
            "number": "RK2",
            "warehouse_id": 1,
            "reverses_id": 1,
            "lines": [{**batch_a, "quantity": -100}, {**batch_b, "quantity": -50}],
        },
    )
    sms.add(
        new_year,
        "inbound_order",
        3,
        "posted",
        {"number": "RK3", "warehouse_id": 1, "lines": [{**batch_b, "quantity": 50}]},
    )
    sms.add(
        new_year,
        "outbound_order",
        1,
        "posted",
        {"number": "CK1", "warehouse_id": 1, "lines": [{**batch_b, "quantity": 10}]},
    )
    # Applied before the inbound order of its page (entity by entity): the batch still comes out right.
    sms.add(
        new_year + timedelta(hours=1),
        "disposal",
        1,
        "disposed",
        {"number": "XH1", "warehouse_id": 1, **batch_b, "quantity": -2},
    )
    pms.add(new_year, "delivery", 1, "received", {"number": "YR1", "lines": [{**batch_b, "quantity": 10}]})
    order = {"number": "FY1", "source": "oms", "order_id": 9, "state": "pending"}
    pms.add(new_year, "dispensing_order", 1, "received", {**order, "lines": [{"drug_id": 2, "quantity": 4}]})
    taken = [{"batch_no": "B", "expiry_date": soon, "quantity": 4, "purchase_price": "3.00"}]
    pms.add(
        new_year,
        "dispensing_order",
        1,
        "dispensed",
        {**order, "state": "dispensed", "lines": [{"drug_id": 2, "quantity": 4, "batches": taken}]},
    )
    # In February the patient brings one line back (退药) and the cashier refunds it.
    february = datetime(2026, 2, 3, 9, 0, tzinfo=ZONE)
    pms.add(
        february,
        "drug_return",
        1,
        "returned",
        {"number": "TY1", "source": "oms", "lines": [{"drug_id": 2, "quantity": 4, "batches": taken}]},
    )
    pms.add(
        february,
        "dispensing_order",
        1,
        "refunded",
        {**order, "state": "dispensed", "lines": [{"drug_id": 2, "quantity": 4}]},
    )
    await ingest_history(db, history, 100)

    pharmacy = await report(db, "pharmacy", date_from=date(2025, 12, 1), date_to=date(2026, 2, 28))
    assert [
        (r["month"], r["dispensed_outpatient"], r["returned"], r["dispensed_net"], r["received"]) for r in pharmacy.rows
    ] == [
        ("2025-12", "0.00", "0.00", "0.00", "0.00"),
        ("2026-01", "12.00", "0.00", "12.00", "30.00"),
        ("2026-02", "0.00", "12.00", "-12.00", "0.00"),
    ]
    # 10 of batch B on the shelf again, at 3.00, expiring in 30 days.
    assert figures(pharmacy) == {"stock_value": 30, "expiring_value": 30, "expired_value": 0}
    warehouse = await report(db, "warehouse", date_from=date(2025, 12, 1), date_to=date(2026, 1, 31))
    assert [(r["month"], r["inbound"], r["reversed"], r["outbound"], r["disposals"]) for r in warehouse.rows] == [
        ("2025-12", "400.00", "0.00", "0.00", "0.00"),
        ("2026-01", "-250.00", "400.00", "30.00", "6.00"),
    ]
    assert (warehouse.total["inbound"], warehouse.total["reversed"]) == ("150.00", "400.00")  # type: ignore[index]
    # RK1 reversed whole; RK3's 50 of B less the 10 sent out and the 2 disposed of: 38 at 3.00.
    assert figures(warehouse) == {"stock_value": 114, "expiring_value": 114, "expired_value": 0}


async def test_pages_of_another_size_and_a_crash_mid_page_count_nothing_twice(db: Database, ingested: Database) -> None:
    clean = await _state(ingested)
    async with db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
        await ensure_cursors(session, ["pms", "sms"])
    pages = HISTORY.pms.pages(50)
    await ingest(db, "pms", pages[:3])
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await apply_page(session, "pms", await cursor(session, "pms"), pages[3], HANDLERS, ZONE, complete=False)
            raise RuntimeError("killed")
    async with db.transaction() as session:
        after = await cursor(session, "pms")
    await ingest(db, "pms", HISTORY.pms.pages(211, after=after))
    await ingest(db, "sms", HISTORY.sms.pages(1000))
    # The last page again, from a stale cursor: refused whole.
    last = HISTORY.sms.pages(1000)[-1]
    with pytest.raises(Moved):
        async with db.transaction() as session:
            await apply_page(session, "sms", 0, last, HANDLERS, ZONE, complete=True)
    assert await _state(db) == clean


async def _state(db: Database) -> dict[str, Any]:
    async with db.transaction() as session:
        movements = (await session.execute(select(func.count(), func.sum(StoreMovement.value)))).one()
        batches = (await session.execute(select(StockBatch))).scalars()
        shelf = sorted(
            (b.source, b.store_id, b.drug_id, b.batch_no, b.quantity, b.unit_cost, b.expiry_date) for b in batches
        )
    reports = [await report(db, key, **PERIOD) for key in ("pharmacy", "warehouse")]
    return {"movements": tuple(movements), "shelf": shelf, "rows": [(r.rows, r.summary) for r in reports]}

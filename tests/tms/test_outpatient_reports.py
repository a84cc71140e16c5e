"""Outpatient reports against figures counted by hand over a generated history that spans four
months and a year boundary, with refunds (some a month later), cancellations and insured shares;
and the ingestion rules: restart mid-feed, a crash mid-page, the same page twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import tms.api  # noqa: F401  (every model on the metadata)
from shared.db import Database
from shared.feed import FeedPage
from tests.support.tables import database_fixtures
from tests.tms.outpatient_feed import CASHIERS, DOCTORS, ZONE, History, generate
from tms.db import metadata
from tms.facts import HANDLERS
from tms.ingest.service import Moved, apply_page, cursor, ensure_cursors
from tms.outpatient.models import OutpatientPayment, OutpatientVisit
from tms.periods import pieces
from tms.reports import service
from tms.reports.catalogue import REPORTS
from tms.reports.shape import Filters, Lookup, ReportOut

pytestmark = pytest.mark.anyio
tables, db = database_fixtures(metadata)
HISTORY = generate()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=ZONE)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def ingest(db: Database, pages: list[FeedPage]) -> None:
    for page in pages:
        async with db.transaction() as session:
            await apply_page(session, "oms", await cursor(session, "oms"), page, HANDLERS, ZoneInfo("Asia/Shanghai"),
                             complete=False)  # fmt: skip


@pytest.fixture
async def ingested(db: Database) -> AsyncIterator[Database]:
    async with db.transaction() as session:
        await ensure_cursors(session, ["oms"])
    await ingest(db, HISTORY.pages(97))
    yield db


async def report(db: Database, key: str, **filters: Any) -> ReportOut:
    names = {1: "内科", 2: "外科"}, {11: "张医生", 12: "李医生", 21: "王医生"}
    async with db.transaction() as session:
        return await service.answer(session, service.find(REPORTS, key), Filters(**filters), Lookup(*names, NOW))


def money(value: Any) -> Decimal:
    return Decimal(value)


def _expected_month(
    history: History, month: str, doctor: int | None = None, method: str | None = None
) -> dict[str, Any]:
    def keep(d: int, m: str | None = None) -> bool:
        return (doctor is None or d == doctor) and (method is None or m is None or m == method)

    by_category = {c: sum((v for (mo, d, m, cat), v in history.net.items() if mo == month and cat == c and keep(d, m)),
                          Decimal(0)) for c in ("registration", "drug", "item")}  # fmt: skip
    revenue = sum(by_category.values(), Decimal(0))
    insured = sum((v for (mo, d, m), v in history.insured.items() if mo == month and keep(d, m)), Decimal(0))
    refunds = sum((v for (mo, d, m), v in history.refunded.items() if mo == month and keep(d, m)), Decimal(0))
    registered = sum(v for (mo, d), v in history.visits.items() if mo == month and keep(d))
    cancelled = sum(v for (mo, d), v in history.cancelled.items() if mo == month and keep(d))
    return {**by_category, "revenue": revenue, "insured": insured, "refunds": refunds, "self_pay": revenue - insured,
            "visits": registered - cancelled, "cancelled": cancelled}  # fmt: skip


MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02"]


async def test_monthly_report_equals_the_figures_counted_by_hand(ingested: Database) -> None:
    answer = await report(ingested, "outpatient-monthly", date_from=date(2025, 11, 1), date_to=date(2026, 2, 28))
    assert [row["month"] for row in answer.rows] == MONTHS
    for row in answer.rows:
        expected = _expected_month(HISTORY, row["month"])
        assert {k: (money(row[k]) if isinstance(expected[k], Decimal) else row[k]) for k in expected} == expected
    totals = {k: sum((_expected_month(HISTORY, m)[k] for m in MONTHS), Decimal(0)) for k in ("revenue", "insured")}
    assert money(answer.total["revenue"]) == totals["revenue"]  # type: ignore[index]
    assert money(answer.total["insured"]) == totals["insured"]  # type: ignore[index]
    assert answer.title == "门诊月度统计" and answer.columns[0].label == "月份"


async def test_monthly_report_filtered_by_doctor_and_by_method(ingested: Database) -> None:
    by_doctor = await report(ingested, "outpatient-monthly", date_from=date(2025, 11, 1), date_to=date(2026, 2, 28),
                             doctor_id=12)  # fmt: skip
    by_method = await report(ingested, "outpatient-monthly", date_from=date(2025, 11, 1), date_to=date(2026, 2, 28),
                             method="insurance")  # fmt: skip
    for row in by_doctor.rows:
        expected = _expected_month(HISTORY, row["month"], doctor=12)
        assert money(row["revenue"]) == expected["revenue"] and row["visits"] == expected["visits"]
    for row in by_method.rows:
        expected = _expected_month(HISTORY, row["month"], method="insurance")
        assert money(row["revenue"]) == expected["revenue"] and money(row["insured"]) == expected["insured"]
        assert money(row["insured"]) > 0


async def test_a_year_boundary_is_the_hospitals_not_utc(db: Database) -> None:
    # 2025-12-31 16:30 UTC is 2026-01-01 00:30 in Shanghai: January's, and 2026's.
    history = History()
    at = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)
    history.add(at, "visit", 1, "registered", {"number": "MZ1", "visit_date": "2026-01-01", "department_id": 1,
                                               "doctor_id": 11, "fee": "10.00"})  # fmt: skip
    history.add(at, "payment", 1, "paid", {"number": "SF1", "kind": "registration", "method": "cash",
                "amount": "10.00", "visit_id": 1, "department_id": 1, "doctor_id": 11, "category": "registration",
                "insured_amount": "0.00", "cashier": "a", "created_at": at.isoformat()})  # fmt: skip
    async with db.transaction() as session:
        await ensure_cursors(session, ["oms"])
    await ingest(db, history.pages(10))
    answer = await report(db, "outpatient-monthly", date_from=date(2025, 12, 1), date_to=date(2026, 1, 31))
    assert [(r["month"], r["visits"], r["revenue"]) for r in answer.rows] == [
        ("2025-12", 0, "0.00"), ("2026-01", 1, "10.00")]  # fmt: skip
    hours = await report(db, "outpatient-today", day=date(2026, 1, 1))
    assert (hours.rows[0]["visits"], hours.rows[0]["revenue"]) == (1, "10.00")


async def test_yearly_report_sets_the_year_beside_the_last(ingested: Database) -> None:
    answer = await report(ingested, "outpatient-yearly", year=2026)
    january, february, november = answer.rows[0], answer.rows[1], answer.rows[10]
    assert january["month"] == "1月" and len(answer.rows) == 12
    assert money(january["revenue"]) == _expected_month(HISTORY, "2026-01")["revenue"]
    assert money(february["revenue"]) == _expected_month(HISTORY, "2026-02")["revenue"]
    assert money(november["revenue_last_year"]) == _expected_month(HISTORY, "2025-11")["revenue"]
    assert november["revenue"] == "0.00" and november["growth"] == "-100.0"
    assert january["growth"] is None  # nothing in January 2025 to compare with


async def test_doctors_compared_over_a_period(ingested: Database) -> None:
    answer = await report(ingested, "doctors", date_from=date(2025, 11, 1), date_to=date(2026, 2, 28))
    by_name = {row["doctor"]: row for row in answer.rows}
    assert set(by_name) == {"张医生", "李医生", "王医生"}
    for doctor, name in ((11, "张医生"), (12, "李医生"), (21, "王医生")):
        revenue = sum((_expected_month(HISTORY, m, doctor=doctor)["revenue"] for m in MONTHS), Decimal(0))
        visits = sum(_expected_month(HISTORY, m, doctor=doctor)["visits"] for m in MONTHS)
        assert money(by_name[name]["revenue"]) == revenue and by_name[name]["visits"] == visits
        assert by_name[name]["department"] == ("内科" if DOCTORS[doctor] == 1 else "外科")
    revenues = [money(row["revenue"]) for row in answer.rows]
    assert revenues == sorted(revenues, reverse=True)


async def test_cashiers_day_and_period(ingested: Database) -> None:
    busiest = max(HISTORY.cashier, key=lambda key: HISTORY.cashier[key][0])
    day = busiest[0]
    answer = await report(ingested, "cashiers", date_from=day, date_to=day)
    for row in answer.rows:
        payments, refunds, paid, refunded = HISTORY.cashier.get((day, row["cashier"]), [0, 0, Decimal(0), Decimal(0)])
        assert (row["payments"], row["refunds"], money(row["paid"]), money(row["refunded"])) == (
            payments, refunds, paid, refunded)  # fmt: skip
        assert money(row["net"]) == paid - refunded
    assert {row["cashier"] for row in answer.rows} <= set(CASHIERS)


async def test_a_day_by_the_hour_against_the_same_weekday_last_week(ingested: Database) -> None:
    visits_on = {d: sum(v[0] for (dd, _), v in HISTORY.hourly.items() if dd == d) for d, _ in HISTORY.hourly}
    day = max(visits_on, key=lambda d: visits_on[d])
    answer = await report(ingested, "outpatient-today", day=day)
    assert len(answer.rows) == 24  # a day past: all of it
    for row in answer.rows:
        hour = int(row["hour"][:2])
        visits, revenue = HISTORY.hourly.get((day, hour), [0, Decimal(0)])
        before = HISTORY.hourly.get((date.fromordinal(day.toordinal() - 7), hour), [0, Decimal(0)])
        assert (row["visits"], money(row["revenue"])) == (visits, revenue)
        assert (row["visits_last_week"], money(row["revenue_last_week"])) == (before[0], before[1])


async def test_today_stops_at_the_present_hour(ingested: Database) -> None:
    answer = await report(ingested, "outpatient-today")
    assert answer.filters.day == NOW.date() and answer.rows[-1]["hour"] == "12:00"


async def test_restart_mid_feed_and_a_crash_mid_page_count_nothing_twice(db: Database, ingested: Database) -> None:
    clean = await _facts(ingested)
    async with db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
        await ensure_cursors(session, ["oms"])
    pages = HISTORY.pages(97)
    await ingest(db, pages[:5])
    # A crash while applying the sixth page: its transaction rolls back, facts and cursor alike.
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await apply_page(session, "oms", await cursor(session, "oms"), pages[5], HANDLERS, ZONE, complete=False)
            raise RuntimeError("killed")
    # Restarted: it reads on from its cursor, with pages of another size this time.
    async with db.transaction() as session:
        after = await cursor(session, "oms")
    assert after == pages[4].next
    await ingest(db, HISTORY.pages(250, after=after))
    assert await _facts(db) == clean


async def test_the_same_page_fetched_twice_is_applied_once(ingested: Database) -> None:
    before = await _facts(ingested)
    page = HISTORY.pages(97)[-1]
    with pytest.raises(Moved):
        async with ingested.transaction() as session:
            await apply_page(session, "oms", page.items[0].seq - 1, page, HANDLERS, ZONE, complete=True)
    assert await _facts(ingested) == before


async def _facts(db: Database) -> dict[str, Any]:
    async with db.transaction() as session:
        payments = (await session.execute(select(func.count(), func.sum(OutpatientPayment.amount)))).one()
        by_state = select(OutpatientVisit.state, func.count()).group_by(OutpatientVisit.state)
        visits = (await session.execute(by_state)).all()
        monthly = await service.answer(session, service.find(REPORTS, "outpatient-monthly"),
                                       Filters(date_from=date(2025, 11, 1), date_to=date(2026, 2, 28)),
                                       Lookup({}, {}, NOW))  # fmt: skip
        return {"payments": tuple(payments), "visits": sorted(map(tuple, visits)), "rows": monthly.rows}


async def test_a_period_cut_mid_month_reads_the_days_at_its_ends(ingested: Database) -> None:
    first, last = date(2025, 11, 17), date(2026, 2, 3)
    answer = await report(ingested, "outpatient-monthly", date_from=first, date_to=last)
    paid = [c for c in HISTORY.changes if c.entity == "payment" and first <= c.at.astimezone(ZONE).date() <= last]
    registered = [c for c in HISTORY.changes if c.action == "registered"
                  and first <= date.fromisoformat(c.data["visit_date"]) <= last]  # fmt: skip
    assert money(answer.total["revenue"]) == sum((Decimal(c.data["amount"]) for c in paid), Decimal(0))  # type: ignore[index]
    assert answer.total["visits"] + answer.total["cancelled"] == len(registered)  # type: ignore[index]
    assert [r["month"] for r in answer.rows] == MONTHS


def test_a_period_splits_into_whole_months_and_the_days_at_either_end() -> None:
    assert pieces(date(2025, 11, 17), date(2026, 2, 3)) == (
        (202512, 202601), [(date(2025, 11, 17), date(2025, 11, 30)), (date(2026, 2, 1), date(2026, 2, 3))])  # fmt: skip
    assert pieces(date(2024, 2, 1), date(2024, 2, 29)) == ((202402, 202402), [])
    assert pieces(date(2026, 3, 5), date(2026, 3, 9)) == (None, [(date(2026, 3, 5), date(2026, 3, 9))])
    assert pieces(date(2025, 12, 31), date(2026, 1, 1)) == (None, [(date(2025, 12, 31), date(2026, 1, 1))])

"""门诊 reports, read from the monthly and daily rollups (and, for today by the hour, the facts of two days)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import Table as Table_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.i18n import Text, render
from tms.outpatient.models import (
    CashierDay,
    OutpatientMoneyDay,
    OutpatientMoneyMonth,
    OutpatientPayment,
    OutpatientVisit,
    OutpatientVisitDay,
    OutpatientVisitMonth,
)
from tms.periods import month_label, months, pieces
from tms.reports.shape import MONTH, TOTAL, Chart, Column, Definition, Filters, Kind, Lookup, Table
from tms.reports.yearly import year_beside_last, year_columns

MONEY_DAYS = OutpatientMoneyDay.__table__  # type: ignore[attr-defined]
MONEY_MONTHS = OutpatientMoneyMonth.__table__  # type: ignore[attr-defined]
VISIT_DAYS = OutpatientVisitDay.__table__  # type: ignore[attr-defined]
VISIT_MONTHS = OutpatientVisitMonth.__table__  # type: ignore[attr-defined]

CATEGORIES = ("registration", "drug", "item")

VISITS_COLUMN = Column("visits", Text("就诊人次", "Visits"), Kind.count)
REVENUE = Column("revenue", Text("净收入", "Net revenue"))
BY_CATEGORY = (
    Column("registration", Text("挂号收入", "Registration")),
    Column("drug", Text("药品收入", "Drugs")),
    Column("item", Text("项目收入", "Items")),
)


def _reads(days: Table_, months: Table_, first: date, last: date) -> list[tuple[Table_, Any]]:
    """The rollup rows of [first, last]: whole months from the monthly table, the days at either end
    from the daily one (tms/periods.pieces)."""
    whole, edges = pieces(first, last)
    reads: list[tuple[Table_, Any]] = [(days, days.c.day.between(a, b)) for a, b in edges]
    if whole:
        reads.append((months, months.c.month.between(*whole)))
    return reads


def _filtered(query: Select[Any], table: Table_, filters: Filters) -> Select[Any]:
    # A payment method says nothing about a registration's count: visits ignore it.
    for name in ("department_id", "doctor_id", "method"):
        value = getattr(filters, name)
        if value and name in table.c:
            query = query.where(table.c[name] == value)
    return query


def _empty_money() -> dict[str, int]:
    return {"registration": 0, "drug": 0, "item": 0, "refunds": 0, "revenue": 0, "insured": 0}


async def _money_by(
    session: AsyncSession, keys: tuple[str, ...], filters: Filters, first: date, last: date
) -> dict[Any, dict[str, int]]:
    """Net money by `keys` (columns of both rollups) and category, refunds and insured netted."""
    answer: dict[Any, dict[str, int]] = {}
    for table, where in _reads(MONEY_DAYS, MONEY_MONTHS, first, last):
        columns = [table.c[k] for k in keys]
        query = select(*columns, table.c.category, func.sum(table.c.paid), func.sum(table.c.refunded),
                       func.sum(table.c.insured)).where(where).group_by(*columns, table.c.category)  # fmt: skip
        for *group, category, paid, refunded, insured in await session.execute(_filtered(query, table, filters)):
            into = answer.setdefault(group[0] if len(keys) == 1 else tuple(group), _empty_money())
            net = int(paid or 0) - int(refunded or 0)
            into[category] = into.get(category, 0) + net
            into["refunds"] += int(refunded or 0)
            into["revenue"] += net
            into["insured"] += int(insured or 0)
    return answer


async def _visits_by(
    session: AsyncSession, keys: tuple[str, ...], filters: Filters, first: date, last: date
) -> dict[Any, tuple[int, int]]:
    """(registered, cancelled) by `keys`."""
    answer: dict[Any, tuple[int, int]] = {}
    for table, where in _reads(VISIT_DAYS, VISIT_MONTHS, first, last):
        columns = [table.c[k] for k in keys]
        query = select(*columns, func.sum(table.c.visits), func.sum(table.c.cancelled)).where(where).group_by(*columns)
        for *group, visits, cancelled in await session.execute(_filtered(query, table, filters)):
            key = group[0] if len(keys) == 1 else tuple(group)
            before = answer.get(key, (0, 0))
            answer[key] = (before[0] + int(visits or 0), before[1] + int(cancelled or 0))
    return answer


def _sum(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: sum(int(r.get(k) or 0) for r in rows) for k in keys}


# 门诊月度统计 ---------------------------------------------------------------------------------------

MONTHLY_COLUMNS = (
    MONTH, VISITS_COLUMN, Column("cancelled", Text("退号", "Cancelled"), Kind.count), *BY_CATEGORY,
    Column("refunds", Text("退费", "Refunds")), REVENUE, Column("insured", Text("医保统筹", "Insured")),
    Column("self_pay", Text("个人自付", "Self-pay")),
)  # fmt: skip


async def monthly(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    money = await _money_by(session, ("month",), filters, filters.date_from, filters.date_to)
    visits = await _visits_by(session, ("month",), filters, filters.date_from, filters.date_to)
    rows = []
    for month in months(filters.date_from, filters.date_to):
        m = money.get(month, _empty_money())
        registered, cancelled = visits.get(month, (0, 0))
        rows.append({"month": month_label(month), "visits": registered - cancelled, "cancelled": cancelled, **m,
                     "self_pay": m["revenue"] - m["insured"]})  # fmt: skip
    keys = tuple(c.key for c in MONTHLY_COLUMNS[1:])
    return Table(rows=rows, total={"month": _total_label(), **_sum(rows, keys)})


def _total_label() -> str:
    return render(TOTAL)


# 门诊年度统计 ---------------------------------------------------------------------------------------

YEARLY_COLUMNS = year_columns("visits", Text("本年人次", "Visits"), Text("上年人次", "Visits last year"))


async def yearly(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.year
    first, last = date(filters.year - 1, 1, 1), date(filters.year, 12, 31)
    money = await _money_by(session, ("month",), filters, first, last)
    visits = await _visits_by(session, ("month",), filters, first, last)
    counts = {month: registered - cancelled for month, (registered, cancelled) in visits.items()}
    return year_beside_last(filters.year, "visits", counts, {month: m["revenue"] for month, m in money.items()})


# 医生统计对比 ---------------------------------------------------------------------------------------

DOCTOR_COLUMNS = (
    Column("doctor", Text("医生", "Doctor"), Kind.text), Column("department", Text("科室", "Department"), Kind.text),
    VISITS_COLUMN, *BY_CATEGORY, REVENUE, Column("per_visit", Text("次均费用", "Per visit")),
)  # fmt: skip


async def doctors(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    keys = ("doctor_id", "department_id")
    money = await _money_by(session, keys, filters, filters.date_from, filters.date_to)
    visits = await _visits_by(session, keys, filters, filters.date_from, filters.date_to)
    by_doctor: dict[tuple[int, int], dict[str, int]] = {}
    for key in {*money, *visits}:
        registered, cancelled = visits.get(key, (0, 0))
        m = money.get(key, _empty_money())
        by_doctor[key] = {"visits": registered - cancelled, **{c: m[c] for c in CATEGORIES}}
    rows = []
    for (doctor, department), figures in by_doctor.items():
        revenue = figures["registration"] + figures["drug"] + figures["item"]
        per_visit = revenue // figures["visits"] if figures["visits"] else None
        rows.append({"doctor": lookup.doctor(doctor), "department": lookup.department(department), **figures,
                     "revenue": revenue, "per_visit": per_visit})  # fmt: skip
    rows.sort(key=lambda r: (-r["revenue"], r["doctor"]))
    total: dict[str, Any] = {"doctor": _total_label(), "department": "",
                             **_sum(rows, ("visits", "registration", "drug", "item", "revenue"))}  # fmt: skip
    total["per_visit"] = total["revenue"] // total["visits"] if total["visits"] else None
    return Table(rows=rows, total=total)


# 门诊当天统计 ---------------------------------------------------------------------------------------

TODAY_COLUMNS = (
    Column("hour", Text("时段", "Hour"), Kind.text), Column("visits", Text("挂号人次", "Visits"), Kind.count),
    Column("revenue", Text("收入", "Revenue")),
    Column("visits_last_week", Text("上周同日人次", "Visits same day last week"), Kind.count),
    Column("revenue_last_week", Text("上周同日收入", "Revenue same day last week")),
)  # fmt: skip


async def today(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    """Hour by hour up to now (the whole day for a day past), against the same weekday last week."""
    assert filters.day
    day = filters.day
    now = await _by_hour(session, day, filters)
    before = await _by_hour(session, day - timedelta(days=7), filters)
    last_hour = lookup.now.hour if day == lookup.now.date() else 23
    rows = []
    for hour in range(last_hour + 1):
        v, r = now.get(hour, (0, 0))
        vb, rb = before.get(hour, (0, 0))
        rows.append({"hour": f"{hour:02d}:00", "visits": v, "revenue": r, "visits_last_week": vb,
                     "revenue_last_week": rb})  # fmt: skip
    total = {"hour": _total_label(), **_sum(rows, ("visits", "revenue", "visits_last_week", "revenue_last_week"))}
    return Table(rows=rows, total=total)


async def _by_hour(session: AsyncSession, day: Any, filters: Filters) -> dict[Any, tuple[int, int]]:
    visits = select(OutpatientVisit.hour, func.count()).where(
        OutpatientVisit.registered_day == day,
        OutpatientVisit.state != "cancelled",  # type: ignore[arg-type]
    )
    money = select(OutpatientPayment.hour, func.sum(OutpatientPayment.amount)).where(OutpatientPayment.day == day)  # type: ignore[arg-type]
    if filters.department_id:
        visits = visits.where(OutpatientVisit.department_id == filters.department_id)  # type: ignore[arg-type]
        money = money.where(OutpatientPayment.department_id == filters.department_id)  # type: ignore[arg-type]
    if filters.doctor_id:
        visits = visits.where(OutpatientVisit.doctor_id == filters.doctor_id)  # type: ignore[arg-type]
        money = money.where(OutpatientPayment.doctor_id == filters.doctor_id)  # type: ignore[arg-type]
    if filters.method:
        money = money.where(OutpatientPayment.method == filters.method)  # type: ignore[arg-type]
    answer: dict[Any, tuple[int, int]] = {}
    for hour, count in await session.execute(visits.group_by(OutpatientVisit.hour)):
        answer[hour] = (int(count), 0)
    for hour, amount in await session.execute(money.group_by(OutpatientPayment.hour)):
        answer[hour] = (answer.get(hour, (0, 0))[0], int(amount or 0))
    return answer


# 收费员日结 -----------------------------------------------------------------------------------------

CASHIER_COLUMNS = (
    Column("cashier", Text("收费员", "Cashier"), Kind.text),
    Column("payments", Text("收费笔数", "Payments"), Kind.count),
    Column("refunds", Text("退费笔数", "Refunds"), Kind.count), Column("paid", Text("收费金额", "Paid")),
    Column("refunded", Text("退费金额", "Refunded")), Column("net", Text("实收", "Net")),
)  # fmt: skip


async def cashiers(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    query = (
        select(CashierDay.cashier, func.sum(CashierDay.payments), func.sum(CashierDay.refunds),
               func.sum(CashierDay.paid), func.sum(CashierDay.refunded))
        .where(CashierDay.day.between(filters.date_from, filters.date_to))  # type: ignore[attr-defined]
        .group_by(CashierDay.cashier)
        .order_by(CashierDay.cashier)
    )  # fmt: skip
    if filters.method:
        query = query.where(CashierDay.method == filters.method)  # type: ignore[arg-type]
    rows = [
        {"cashier": cashier, "payments": int(p or 0), "refunds": int(r or 0), "paid": int(paid or 0),
         "refunded": int(refunded or 0), "net": int(paid or 0) - int(refunded or 0)}
        for cashier, p, r, paid, refunded in await session.execute(query)
    ]  # fmt: skip
    total = {"cashier": _total_label(), **_sum(rows, ("payments", "refunds", "paid", "refunded", "net"))}
    return Table(rows=rows, total=total)


DATES = ("date_from", "date_to")
REPORTS = (
    Definition("outpatient-monthly", Text("门诊月度统计", "Outpatient by month"),
               (*DATES, "department_id", "doctor_id", "method"), MONTHLY_COLUMNS,
               Chart(type="line", x="month", series=["revenue", "registration", "drug", "item", "visits"]),
               ("oms",), monthly),
    Definition("outpatient-yearly", Text("门诊年度统计", "Outpatient by year"),
               ("year", "department_id", "doctor_id", "method"), YEARLY_COLUMNS,
               Chart(type="line", x="month", series=["revenue", "revenue_last_year", "visits", "visits_last_year"]),
               ("oms",), yearly),
    Definition("doctors", Text("医生统计对比", "Doctors compared"), (*DATES, "department_id", "method"),
               DOCTOR_COLUMNS, Chart(type="bar", x="doctor", series=["revenue", "visits"]), ("oms",), doctors,
               period="month"),
    Definition("outpatient-today", Text("门诊当天统计", "Outpatient today"),
               ("day", "department_id", "doctor_id", "method"), TODAY_COLUMNS,
               Chart(type="line", x="hour", series=["revenue", "revenue_last_week", "visits", "visits_last_week"]),
               ("oms",), today),
    Definition("cashiers", Text("收费员日结", "Cashiers' days"), (*DATES, "method"), CASHIER_COLUMNS,
               Chart(type="bar", x="cashier", series=["net", "paid", "refunded"]), ("oms",), cashiers, period="day"),
)  # fmt: skip

"""住院 reports, read from the daily rollups: admissions, discharges, bed-days against the beds open,
and revenue by month; the year beside the last."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.i18n import Text, render
from tms.ingest.context import month_of
from tms.inpatient.models import InpatientBedCount, InpatientDay, InpatientMoneyDay
from tms.periods import month_label, months
from tms.reports.shape import MONTH, TOTAL, Chart, Column, Definition, Filters, Kind, Lookup, Table, share
from tms.reports.yearly import year_beside_last, year_columns

DAYS = InpatientDay
MONEY = InpatientMoneyDay
BEDS = InpatientBedCount
# The category hms books a charge item under when dbs gives it none (hms/charges/service.py).
UNCATEGORISED = "其他费"
REVENUE_KEYS = ("drug", "bed", "item", "other")
COUNT_KEYS = ("admissions", "discharges", "transfers_in", "transfers_out", "bed_days")
MONEY_KEYS = ("deposits", "insured", "self_pay")


def _column(kind: str, category: str) -> str:
    """A report column of hms's charges: drugs, bed-days, charge items with a dbs category, the rest."""
    if kind == "drug":
        return "drug"
    if kind == "bed_day":
        return "bed"
    if kind == "item" and category != UNCATEGORISED:
        return "item"
    return "other"


def _by_department(query: Select[Any], column: Any, filters: Filters) -> Select[Any]:
    return query.where(column == filters.department_id) if filters.department_id else query


async def _days_by_month(session: AsyncSession, where: Any, filters: Filters) -> dict[int, dict[str, int]]:
    names = (*COUNT_KEYS, *MONEY_KEYS)
    query = _by_department(
        select(DAYS.month, *(func.sum(getattr(DAYS, n)) for n in names)).where(where).group_by(DAYS.month),
        DAYS.department_id, filters,
    )  # fmt: skip
    return {
        row[0]: {n: int(v or 0) for n, v in zip(names, row[1:], strict=True)} for row in await session.execute(query)
    }


async def _money_by_month(session: AsyncSession, where: Any, filters: Filters) -> dict[int, dict[str, int]]:
    query = _by_department(
        select(MONEY.month, MONEY.kind, MONEY.category, func.sum(MONEY.charged) - func.sum(MONEY.credited))
        .where(where)
        .group_by(MONEY.month, MONEY.kind, MONEY.category),
        MONEY.department_id, filters,
    )  # fmt: skip
    answer: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*REVENUE_KEYS, "revenue"), 0))
    for month, kind, category, net in await session.execute(query):
        into = answer[month]
        into[_column(kind, category)] += int(net or 0)
        into["revenue"] += int(net or 0)
    return answer


async def _open_bed_days(session: AsyncSession, first: date, last: date, filters: Filters) -> dict[int, int]:
    """Per month, the beds open at each day's end from `first` to `last`, added up (开放床日数): the
    open beds on a day are every opening less every closing up to it."""
    query = _by_department(
        select(BEDS.day, func.sum(BEDS.beds)).where(BEDS.day <= last).group_by(BEDS.day).order_by(BEDS.day),  # type: ignore[operator]
        BEDS.department_id, filters,
    )  # fmt: skip
    changes = [(day, int(n or 0)) for day, n in await session.execute(query)]
    answer: dict[int, int] = defaultdict(int)
    open_beds = sum(n for day, n in changes if day < first)
    later = iter([(day, n) for day, n in changes if day >= first])
    upcoming = next(later, None)
    day = first
    while day <= last:
        while upcoming is not None and upcoming[0] == day:
            open_beds += upcoming[1]
            upcoming = next(later, None)
        answer[month_of(day)] += open_beds
        day += timedelta(days=1)
    return answer


def _sum(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: sum(int(r.get(k) or 0) for r in rows) for k in keys}


# 住院月度统计 ---------------------------------------------------------------------------------------

MONTHLY_COLUMNS = (
    MONTH, Column("admissions", Text("入院人数", "Admissions"), Kind.count),
    Column("discharges", Text("出院人数", "Discharges"), Kind.count),
    Column("transfers_in", Text("转入", "Transfers in"), Kind.count),
    Column("transfers_out", Text("转出", "Transfers out"), Kind.count),
    Column("bed_days", Text("占用床日数", "Bed-days"), Kind.days),
    Column("open_bed_days", Text("开放床日数", "Open bed-days"), Kind.days),
    Column("occupancy", Text("床位使用率", "Occupancy %"), Kind.percent),
    Column("drug", Text("药品费", "Drugs")), Column("bed", Text("床位费", "Beds")),
    Column("item", Text("项目费", "Items")), Column("other", Text("其他费", "Other")),
    Column("revenue", Text("净收入", "Net revenue")), Column("deposits", Text("预交款", "Deposits")),
    Column("insured", Text("医保统筹", "Insured")), Column("self_pay", Text("个人自付", "Self-pay")),
)  # fmt: skip


async def monthly(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    first, last = filters.date_from, filters.date_to
    days = await _days_by_month(session, DAYS.day.between(first, last), filters)  # type: ignore[attr-defined]
    money = await _money_by_month(session, MONEY.day.between(first, last), filters)  # type: ignore[attr-defined]
    # Days still to come have no beds open yet: this month so far is this month's days so far.
    today = lookup.now.date()
    open_bed_days = await _open_bed_days(session, first, min(last, today), filters) if first <= today else {}
    rows = []
    for month in months(first, last):
        figures = days.get(month) or dict.fromkeys((*COUNT_KEYS, *MONEY_KEYS), 0)
        capacity = open_bed_days.get(month, 0)
        rows.append({"month": month_label(month), **figures, "open_bed_days": capacity,
                     "occupancy": share(figures["bed_days"], capacity),
                     **(money.get(month) or dict.fromkeys((*REVENUE_KEYS, "revenue"), 0))})  # fmt: skip
    summed = (*COUNT_KEYS, "open_bed_days", *REVENUE_KEYS, "revenue", *MONEY_KEYS)
    total: dict[str, Any] = {"month": render(TOTAL), **_sum(rows, summed)}
    total["occupancy"] = share(total["bed_days"], total["open_bed_days"])
    return Table(rows=rows, total=total)


# 住院年度统计 ---------------------------------------------------------------------------------------

YEARLY_COLUMNS = year_columns("admissions", Text("本年入院", "Admissions"), Text("上年入院", "Admissions last year"))


async def yearly(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.year
    span = ((filters.year - 1) * 100 + 1, filters.year * 100 + 12)
    days = await _days_by_month(session, DAYS.month.between(*span), filters)  # type: ignore[attr-defined]
    money = await _money_by_month(session, MONEY.month.between(*span), filters)  # type: ignore[attr-defined]
    counts = {month: d.get("admissions", 0) for month, d in days.items()}
    revenue = {month: m.get("revenue", 0) for month, m in money.items()}
    return year_beside_last(filters.year, "admissions", counts, revenue)


DATES = ("date_from", "date_to")
REPORTS = (
    Definition("inpatient-monthly", Text("住院月度统计", "Inpatient by month"), (*DATES, "department_id"),
               MONTHLY_COLUMNS,
               Chart(type="line", x="month", series=["revenue", "drug", "bed", "item", "admissions", "discharges"]),
               ("hms",), monthly),
    Definition("inpatient-yearly", Text("住院年度统计", "Inpatient by year"), ("year", "department_id"),
               YEARLY_COLUMNS,
               Chart(type="line", x="month",
                     series=["revenue", "revenue_last_year", "admissions", "admissions_last_year"]),
               ("hms",), yearly),
)  # fmt: skip

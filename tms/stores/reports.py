"""药房统计 and 仓库统计: what moved, month by month, at purchase price (from the daily rollups), and
what the shelves hold now (from tms's own batches): stock value and the value expiring soon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.i18n import Text, render
from tms.periods import month_label, months
from tms.reports.shape import MONTH, TOTAL, Chart, Column, Definition, Filters, Lookup, Table
from tms.stores import facts as kinds
from tms.stores.models import StockBatch, StoreDay


async def _by_month(session: AsyncSession, source: str, filters: Filters) -> dict[int, dict[str, int]]:
    """{month: {kind: value signed as stock moved}} over the filters' days."""
    assert filters.date_from and filters.date_to
    query = (
        select(StoreDay.month, StoreDay.kind, func.sum(StoreDay.value))
        .where(StoreDay.source == source, StoreDay.day.between(filters.date_from, filters.date_to))  # type: ignore[arg-type,attr-defined]
        .group_by(StoreDay.month, StoreDay.kind)
    )
    answer: dict[int, dict[str, int]] = {}
    for month, kind, value in await session.execute(query):
        answer.setdefault(month, {})[kind] = int(value or 0)
    return answer


async def _shelf(session: AsyncSession, source: str, lookup: Lookup) -> list[tuple[Column, Any]]:
    """Stock value now, the part expiring within the warning window (expired batches included,
    as the expiry alerts list them) and the part already expired; a batch is usable on its
    expiry day."""
    today = lookup.now.date()
    days = lookup.expiry_warning_days
    value = StockBatch.quantity * StockBatch.unit_cost
    expiring_before = today + timedelta(days=days)
    query = select(
        func.sum(value),
        func.sum(case((StockBatch.expiry_date < expiring_before, value), else_=0)),  # type: ignore[arg-type]
        func.sum(case((StockBatch.expiry_date < today, value), else_=0)),  # type: ignore[arg-type]
    ).where(StockBatch.source == source, StockBatch.quantity > 0)  # type: ignore[arg-type]
    total, expiring, expired = (await session.execute(query)).one()
    window = Text(f"{days}天内到期金额（含已过期）", f"Expiring within {days} days (expired included)")
    return [
        (Column("stock_value", Text("库存金额（进价）", "Stock value (at purchase price)")), int(total or 0)),
        (Column("expiring_value", window), int(expiring or 0)),
        (Column("expired_value", Text("已过期金额", "Expired")), int(expired or 0)),
    ]


def _total(rows: list[dict[str, Any]], columns: tuple[Column, ...]) -> dict[str, Any]:
    return {"month": render(TOTAL), **{c.key: sum(int(r[c.key]) for r in rows) for c in columns[1:]}}


# 药房统计 -------------------------------------------------------------------------------------------

PHARMACY_COLUMNS = (
    MONTH,
    Column("dispensed_outpatient", Text("门诊发药", "Dispensed, outpatient")),
    Column("dispensed_inpatient", Text("住院发药", "Dispensed, inpatient")),
    Column("returned", Text("退药", "Returned by patients")),
    Column("dispensed_net", Text("净发药", "Dispensed, net")),
    Column("received", Text("药房入库", "Received from the warehouse")),
    Column("to_warehouse", Text("退库", "Returned to the warehouse")),
)


async def pharmacy(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    moved = await _by_month(session, "pms", filters)
    rows = []
    for month in months(filters.date_from, filters.date_to):
        m = moved.get(month, {})
        # Stock that left is shown as a positive amount: what was dispensed, sent back.
        outpatient, inpatient = -m.get(kinds.DISPENSED_OMS, 0), -m.get(kinds.DISPENSED_HMS, 0)
        returned = m.get(kinds.RETURNED, 0)
        rows.append({"month": month_label(month), "dispensed_outpatient": outpatient, "dispensed_inpatient": inpatient,
                     "returned": returned, "dispensed_net": outpatient + inpatient - returned,
                     "received": m.get(kinds.RECEIVED, 0), "to_warehouse": -m.get(kinds.TO_WAREHOUSE, 0)})  # fmt: skip
    return Table(rows=rows, total=_total(rows, PHARMACY_COLUMNS), summary=await _shelf(session, "pms", lookup))


# 仓库统计 -------------------------------------------------------------------------------------------

WAREHOUSE_COLUMNS = (
    MONTH,
    Column("inbound", Text("入库（冲销后）", "Inbound (net of reversals)")),
    Column("reversed", Text("冲销入库", "Inbound reversed")),
    Column("outbound", Text("出库", "Outbound")),
    Column("returns", Text("回收入库", "Returns from the pharmacy")),
    Column("disposals", Text("报损销毁", "Disposed of")),
    Column("adjustments", Text("盘点盈亏", "Stock-take gains and losses")),
)


async def warehouse(session: AsyncSession, filters: Filters, lookup: Lookup) -> Table:
    assert filters.date_from and filters.date_to
    moved = await _by_month(session, "sms", filters)
    rows = []
    for month in months(filters.date_from, filters.date_to):
        m = moved.get(month, {})
        # A reversal lowers the month it was posted in, as a refund lowers revenue.
        reversed_ = -m.get(kinds.INBOUND_REVERSAL, 0)
        rows.append({"month": month_label(month), "inbound": m.get(kinds.INBOUND, 0) - reversed_, "reversed": reversed_,
                     "outbound": -m.get(kinds.OUTBOUND, 0), "returns": m.get(kinds.RETURNS, 0),
                     "disposals": -m.get(kinds.DISPOSAL, 0), "adjustments": m.get(kinds.ADJUSTMENT, 0)})  # fmt: skip
    return Table(rows=rows, total=_total(rows, WAREHOUSE_COLUMNS), summary=await _shelf(session, "sms", lookup))


DATES = ("date_from", "date_to")
REPORTS = (
    Definition("pharmacy", Text("药房统计", "Pharmacy"), DATES, PHARMACY_COLUMNS,
               Chart(type="bar", x="month", series=["dispensed_outpatient", "dispensed_inpatient", "returned",
                                                    "received"]),
               ("pms",), pharmacy),
    Definition("warehouse", Text("仓库统计", "Warehouse"), DATES, WAREHOUSE_COLUMNS,
               Chart(type="bar", x="month", series=["inbound", "outbound", "returns", "disposals"]), ("sms",),
               warehouse),
)  # fmt: skip

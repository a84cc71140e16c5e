"""Reading stock and its ledger. Nothing here writes: stock moves only through the orders that
move it (inbound, outbound, returns, disposal, stock-take), each with its ledger row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import local_day
from shared.errors import Invalid, field_error
from shared.i18n import Text, render
from shared.paging import Page, PageParams
from shared.search import contains
from shared.stock import MOVEMENT_LABELS, Movement
from sms.db import stock
from sms.masterdata import Drug, MasterData
from sms.stock.models import MovementRow, StockRow

BATCHES, MOVEMENTS = stock.batches, stock.movements
SORTS = {
    "expiry_date": BATCHES.c.expiry_date,
    "quantity": BATCHES.c.quantity,
    "batch_no": BATCHES.c.batch_no,
    "drug_id": BATCHES.c.drug_id,
    "warehouse_id": BATCHES.c.store_id,
}
# Without `sort`: drug by drug, the batch that leaves first (first-expiry-first-out) on top.
STOCK_ORDER = (BATCHES.c.drug_id, BATCHES.c.expiry_date, BATCHES.c.id)


async def _count_and_rows(
    session: AsyncSession, query: Select[Any], params: PageParams, *order: Any
) -> tuple[int, list[Any]]:
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(*order).offset(params.offset).limit(params.size))
    return total, list(rows.all())


async def stock_page(
    session: AsyncSession,
    masters: MasterData,
    params: PageParams,
    today: dt.date,
    *,
    drug_id: int | None = None,
    batch_no: str | None = None,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    include_empty: bool = False,
) -> Page[StockRow]:
    """Batches in stock; `q` finds the drug's code, name or spec (as dbs searches them) or the batch number."""
    b = BATCHES
    query = select(b)
    for column, value in ((b.c.drug_id, drug_id), (b.c.store_id, warehouse_id), (b.c.supplier_id, supplier_id)):
        if value is not None:
            query = query.where(column == value)
    if batch_no:
        query = query.where(contains(batch_no, b.c.batch_no))
    if not include_empty:
        query = query.where(b.c.quantity > 0)
    if params.q:
        drugs = await masters.drug_ids_matching(params.q)
        query = query.where(or_(contains(params.q, b.c.batch_no), b.c.drug_id.in_(drugs) if drugs else false()))
    total, rows = await _count_and_rows(session, query, params, *params.order, *STOCK_ORDER)
    known = await masters.drugs(row.drug_id for row in rows)
    return Page(items=[stock_row(row, known.get(row.drug_id), today) for row in rows], total=total,
                page=params.page, size=params.size)  # fmt: skip


def stock_row(row: Any, drug: Drug | None, today: dt.date) -> StockRow:
    price = drug.price if drug is not None else None
    return StockRow(
        batch_id=row.id,
        warehouse_id=row.store_id,
        drug_id=row.drug_id,
        drug_code=drug.code if drug else "",
        drug_name=drug.name if drug else "",
        drug_spec=(drug.spec or "") if drug else "",
        unit_name=drug.unit_name if drug else None,
        batch_no=row.batch_no,
        production_date=row.production_date,
        expiry_date=row.expiry_date,
        expired=row.expiry_date < today,
        supplier_id=row.supplier_id,
        quantity=row.quantity,
        purchase_price=row.purchase_price,
        purchase_value=(row.purchase_price * row.quantity).quantize(Decimal("0.01")),
        selling_price=price,
        selling_value=(price * row.quantity).quantize(Decimal("0.01")) if price is not None else None,
    )


def _check_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from and date_to and date_to < date_from:
        raise Invalid(
            Text("结束日期早于开始日期", "date_to is before date_from"),
            errors=[field_error("date_to", Text("不能早于开始日期", "must not be before date_from"))],
        )


async def movements_page(
    session: AsyncSession,
    masters: MasterData,
    params: PageParams,
    timezone: str,
    *,
    drug_id: int | None = None,
    batch_id: int | None = None,
    batch_no: str | None = None,
    warehouse_id: int | None = None,
    movement: Movement | None = None,
    reference: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Page[MovementRow]:
    """The ledger, newest first; dates are the hospital's days."""
    _check_range(date_from, date_to)
    m, b = MOVEMENTS, BATCHES
    query = select(m, b.c.batch_no, b.c.expiry_date).select_from(m.join(b, b.c.id == m.c.batch_id))
    for column, value in (
        (m.c.drug_id, drug_id),
        (m.c.batch_id, batch_id),
        (m.c.store_id, warehouse_id),
        (m.c.movement, movement),
    ):
        if value is not None:
            query = query.where(column == value)
    if batch_no:
        query = query.where(contains(batch_no, b.c.batch_no))
    if reference:
        query = query.where(contains(reference, m.c.reference))
    if date_from:
        query = query.where(m.c.at >= local_day(date_from, timezone)[0])
    if date_to:
        query = query.where(m.c.at < local_day(date_to, timezone)[1])
    total, rows = await _count_and_rows(session, query, params, m.c.at.desc(), m.c.id.desc())
    known = await masters.drugs(row.drug_id for row in rows)
    items = [
        MovementRow(
            id=row.id,
            at=row.at,
            movement=row.movement,
            movement_label=render(MOVEMENT_LABELS[Movement(row.movement)]),
            warehouse_id=row.store_id,
            batch_id=row.batch_id,
            batch_no=row.batch_no,
            expiry_date=row.expiry_date,
            drug_id=row.drug_id,
            drug_name=known[row.drug_id].name if row.drug_id in known else "",
            quantity=row.quantity,
            reference=row.reference,
            person=row.person,
            reason=row.reason,
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)

"""Low stock (库存不足) per drug against its threshold, and batches expired or expiring (过期提醒)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.paging import Page, PageParams
from sms.alerts.models import ExpiryRow, ExpiryStatus, LowStockRow, Threshold, ThresholdOut
from sms.db import audit_log, stock
from sms.masterdata import MasterData
from sms.stock.service import stock_row

ENTITY = "stock_threshold"
BATCHES = stock.batches


async def threshold(session: AsyncSession, drug_id: int, default: int) -> ThresholdOut:
    own = await session.get(Threshold, drug_id)
    if own is None:
        return ThresholdOut(drug_id=drug_id, threshold=default, default=True)
    return ThresholdOut(drug_id=drug_id, threshold=own.threshold, default=False)


async def set_threshold(
    session: AsyncSession, masters: MasterData, drug_id: int, value: int, default: int, by: str
) -> ThresholdOut:
    await masters.drug(drug_id)
    before = await threshold(session, drug_id, default)
    own = await session.get(Threshold, drug_id)
    if own is None:
        own = Threshold(drug_id=drug_id, threshold=value, updated_at=utcnow(), updated_by=by)
    own.threshold, own.updated_at, own.updated_by = value, utcnow(), by
    session.add(own)
    await session.flush()
    after = await threshold(session, drug_id, default)
    await audit.record(
        session, audit_log, action="update", entity=ENTITY, entity_id=drug_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    return after


async def low_stock(
    session: AsyncSession,
    masters: MasterData,
    params: PageParams,
    today: dt.date,
    default: int,
    warehouse_id: int | None = None,
) -> Page[LowStockRow]:
    """Every drug the warehouse has held or has a threshold for, whose unexpired stock is below its
    threshold; the largest shortfall first. Expired units do not count: they can never be sent out."""
    b = BATCHES
    usable = func.sum(case((b.c.expiry_date >= today, b.c.quantity), else_=0))
    query = select(b.c.drug_id, usable).group_by(b.c.drug_id)
    if warehouse_id is not None:
        query = query.where(b.c.store_id == warehouse_id)
    quantities: dict[int, int] = {int(d): int(q or 0) for d, q in (await session.execute(query)).all()}
    own = {t.drug_id: t.threshold for t in (await session.execute(select(Threshold))).scalars()}
    short: list[tuple[int, int, int]] = []
    for drug_id in quantities.keys() | own.keys():
        limit = own.get(drug_id, default)
        held = quantities.get(drug_id, 0)
        if held < limit:
            short.append((drug_id, held, limit))
    short.sort(key=lambda s: (s[1] - s[2], s[0]))
    shown = short[params.offset : params.offset + params.size]
    known = await masters.drugs(drug_id for drug_id, _, _ in shown)
    items = []
    for drug_id, held, limit in shown:
        drug = known.get(drug_id)
        items.append(
            LowStockRow(
                drug_id=drug_id,
                drug_code=drug.code if drug else "",
                drug_name=drug.name if drug else "",
                drug_spec=(drug.spec or "") if drug else "",
                unit_name=drug.unit_name if drug else None,
                quantity=held,
                threshold=limit,
                shortfall=limit - held,
            )
        )
    return Page(items=items, total=len(short), page=params.page, size=params.size)


async def expiry(
    session: AsyncSession,
    masters: MasterData,
    params: PageParams,
    today: dt.date,
    days: int,
    warehouse_id: int | None = None,
) -> Page[ExpiryRow]:
    """Batches with stock that expired, or expire within `days` days; the soonest first."""
    b = BATCHES
    query = select(b).where(b.c.quantity > 0, b.c.expiry_date <= today + dt.timedelta(days=days))
    if warehouse_id is not None:
        query = query.where(b.c.store_id == warehouse_id)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows: list[Any] = list(
        (await session.execute(query.order_by(b.c.expiry_date, b.c.id).offset(params.offset).limit(params.size))).all()
    )
    known = await masters.drugs(row.drug_id for row in rows)
    items = [
        ExpiryRow(
            **stock_row(row, known.get(row.drug_id), today).model_dump(),
            status=ExpiryStatus.expired if row.expiry_date < today else ExpiryStatus.expiring,
            days_left=(row.expiry_date - today).days,
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)

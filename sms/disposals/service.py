"""Disposals: a batch's units out of stock for good, with the ledger row `disposal` and the reason.

Written in the caller's transaction with its audit row and feed entry: a refused disposal (more than
the batch holds, an unknown batch) leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.errors import Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from shared.stock import Movement, take
from sms.db import audit_log, counters, feed, stock
from sms.disposals.models import Disposal, DisposalIn, DisposalOut
from sms.masterdata import MasterData

ENTITY = "disposal"
NUMBER_PREFIX = "XH"  # 销毁
SORTS = {name: getattr(Disposal, name) for name in ("created_at", "number", "quantity", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)


def _out(disposal: Disposal) -> DisposalOut:
    return DisposalOut.model_validate({**disposal.model_dump(), "amount": disposal.purchase_price * disposal.quantity})


async def get(session: AsyncSession, disposal_id: int) -> DisposalOut:
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise NotFound(Text(f"报损单（编号 {disposal_id}）不存在", f"Disposal {disposal_id} not found"))
    return _out(disposal)


async def page(
    session: AsyncSession,
    params: PageParams,
    *,
    warehouse_id: int | None = None,
    drug_id: int | None = None,
    batch_id: int | None = None,
    expired: bool | None = None,
) -> Page[DisposalOut]:
    query = select(Disposal)
    for column, value in (
        (Disposal.warehouse_id, warehouse_id),
        (Disposal.drug_id, drug_id),
        (Disposal.batch_id, batch_id),
        (Disposal.expired, expired),
    ):
        if value is not None:
            query = query.where(column == value)
    if params.q:
        query = query.where(contains(params.q, Disposal.number, Disposal.drug_name, Disposal.batch_no, Disposal.reason))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), Disposal.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    return Page(items=[_out(d) for d in rows.scalars()], total=total, page=params.page, size=params.size)


async def create(session: AsyncSession, masters: MasterData, body: DisposalIn, today: dt.date, by: str) -> DisposalOut:
    b = stock.batches
    batch = (await session.execute(select(b).where(b.c.id == body.batch_id))).first()
    if batch is None:
        raise Invalid(
            Text(f"批次（编号 {body.batch_id}）不存在", f"Batch {body.batch_id} not found"),
            code="unknown_batch",
            errors=[field_error("batch_id", Text("不存在", "not found"), "unknown_batch")],
        )
    drug = (await masters.drugs([batch.drug_id])).get(batch.drug_id)
    drug_name = drug.name if drug else ""
    number = await business_number(session, counters, NUMBER_PREFIX, today)
    await take(
        session, stock, store_id=batch.store_id, drug_id=batch.drug_id, quantity=body.quantity,
        movement=Movement.disposal, reference=number, person=by, today=today,
        drug_label=f"{drug_name or '药品'}（批号 {batch.batch_no}）", batch_id=batch.id, reason=body.reason,
        allow_expired=True,
    )  # fmt: skip
    disposal = Disposal(
        number=number,
        warehouse_id=batch.store_id,
        batch_id=batch.id,
        drug_id=batch.drug_id,
        drug_name=drug_name,
        drug_spec=(drug.spec or "") if drug else "",
        batch_no=batch.batch_no,
        expiry_date=batch.expiry_date,
        purchase_price=batch.purchase_price,
        quantity=body.quantity,
        expired=batch.expiry_date < today,
        reason=body.reason,
        created_at=utcnow(),
        created_by=by,
    )
    session.add(disposal)
    await session.flush()
    assert disposal.id is not None
    after = _out(disposal)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=disposal.id, after=after.model_dump(mode="json")
    )
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=disposal.id, action="disposed",
        data={
            "number": after.number,
            "warehouse_id": after.warehouse_id,
            "drug_id": after.drug_id,
            "batch_no": after.batch_no,
            "quantity": -after.quantity,
            "purchase_price": after.purchase_price,
            "expiry_date": after.expiry_date,
            "expired": after.expired,
        },
    )  # fmt: skip
    return after

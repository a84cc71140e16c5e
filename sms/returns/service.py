"""Pharmacy returns (药品回收): received from pms's outbox once per key, put back into this
warehouse's batch of the same batch number (`return_in`), and for disposal taken straight out
again (`disposal`), so the ledger shows both where the units came back and where they went.

Written in one transaction with the idempotency key, the audit row and the feed entry: a refused
return (a batch number this warehouse holds with other dates) leaves nothing behind, and pms's
outbox keeps the message aside for an operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.paging import Page, PageParams, fetch_page
from shared.search import contains
from shared.sequences import business_number
from shared.stock import BatchIn, Movement, put, take
from sms.db import audit_log, counters, feed, idempotency_keys, stock
from sms.returns.models import (
    Destination,
    PharmacyReturn,
    PharmacyReturnLine,
    ReturnIn,
    ReturnLineOut,
    ReturnOut,
)

ENTITY = "pharmacy_return"
NUMBER_PREFIX = "HS"  # 回收
RECEIVE_SCOPE = "sms:pharmacy-return:receive"
SORTS = {name: getattr(PharmacyReturn, name) for name in ("received_at", "number", "id")}


def _already_received(number: str) -> Conflict:
    return Conflict(
        Text(f"退库单 {number} 已接收", f"Return {number} was already received"),
        code="return_already_received",
        errors=[field_error("return_id", Text("已接收", "already received"), "duplicate")],
    )


async def _lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[ReturnLineOut]]:
    by_return: dict[int, list[ReturnLineOut]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(PharmacyReturnLine)
            .where(PharmacyReturnLine.return_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(PharmacyReturnLine.id)
        )
        for line in rows.scalars():
            by_return[line.return_id].append(ReturnLineOut.model_validate(line))
    return by_return


def _out(record: PharmacyReturn, lines: list[ReturnLineOut]) -> ReturnOut:
    return ReturnOut.model_validate({**record.model_dump(), "lines": lines})


async def get(session: AsyncSession, return_id: int) -> ReturnOut:
    record = await session.get(PharmacyReturn, return_id)
    if record is None:
        raise NotFound(Text(f"回收单（编号 {return_id}）不存在", f"Return {return_id} not found"))
    return _out(record, (await _lines(session, [return_id]))[return_id])


async def page(
    session: AsyncSession,
    params: PageParams,
    *,
    warehouse_id: int | None = None,
    destination: Destination | None = None,
) -> Page[ReturnOut]:
    """Returns received, newest first; `q` matches the HS or TK number or the remark."""
    query = select(PharmacyReturn)
    if warehouse_id is not None:
        query = query.where(PharmacyReturn.warehouse_id == warehouse_id)
    if destination is not None:
        query = query.where(PharmacyReturn.destination == destination)
    if params.q:
        query = query.where(contains(params.q, PharmacyReturn.number, PharmacyReturn.pms_number, PharmacyReturn.remark))
    found, total = await fetch_page(
        session,
        query,
        params,
        PharmacyReturn.received_at.desc(),
        PharmacyReturn.id.desc(),  # type: ignore[attr-defined,union-attr]
    )
    lines = await _lines(session, [r.id for r in found])
    return Page(items=[_out(r, lines[r.id]) for r in found], total=total, page=params.page, size=params.size)


async def receive_once(db: Database, key: str, body: ReturnIn, today: dt.date, person: str) -> Answer:
    """`receive` once per key, in its own transaction: pms's outbox sends again until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await receive(session, body, today, person)).model_dump(mode="json"))

    return await run_once(db, idempotency_keys, key, RECEIVE_SCOPE, body.model_dump(mode="json"), work)


async def receive(session: AsyncSession, body: ReturnIn, today: dt.date, person: str) -> ReturnOut:
    """Puts every line into the warehouse's batch of its number (made if the warehouse never held
    it); for disposal, takes it straight out again."""
    if (await session.execute(select(PharmacyReturn.id).where(PharmacyReturn.pms_return_id == body.return_id))).first():
        raise _already_received(body.number)
    record = PharmacyReturn(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        pms_return_id=body.return_id,
        pms_number=body.number,
        warehouse_id=body.warehouse_id,
        destination=body.destination,
        returned_by=body.returned_by,
        returned_at=body.returned_at,
        remark=body.remark,
        received_at=utcnow(),
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another key delivered the same return a moment ago.
        raise _already_received(body.number) from exc
    assert record.id is not None
    lines = []
    # Drug by drug, then expiry, as the other takers lock batches.
    for line in sorted(body.lines, key=lambda li: (li.drug_id, li.expiry_date, li.batch_no)):
        batch = BatchIn(
            drug_id=line.drug_id, batch_no=line.batch_no, expiry_date=line.expiry_date,
            production_date=line.production_date, supplier_id=line.supplier_id, purchase_price=line.purchase_price,
        )  # fmt: skip
        batch_id = await put(
            session, stock, store_id=body.warehouse_id, batch=batch, quantity=line.quantity,
            movement=Movement.return_in, reference=record.number, person=person, reason=line.reason,
        )  # fmt: skip
        if body.destination == Destination.disposal:
            await take(
                session, stock, store_id=body.warehouse_id, drug_id=line.drug_id, quantity=line.quantity,
                movement=Movement.disposal, reference=record.number, person=person, today=today,
                drug_label=f"{line.name or '药品'}（批号 {line.batch_no}）", batch_id=batch_id, reason=line.reason,
                allow_expired=True,
            )  # fmt: skip
        lines.append(PharmacyReturnLine(return_id=record.id, batch_id=batch_id, **line.model_dump()))
    session.add_all(lines)
    await session.flush()
    out = await get(session, record.id)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=record.id, after=out.model_dump(mode="json")
    )
    data = {
        "number": out.number,
        "pms_number": out.pms_number,
        "warehouse_id": out.warehouse_id,
        "destination": out.destination,
        "lines": [
            {"drug_id": li.drug_id, "batch_no": li.batch_no, "quantity": li.quantity,
             "purchase_price": li.purchase_price, "expiry_date": li.expiry_date}
            for li in out.lines
        ],
    }  # fmt: skip
    await publish(session, feed, counters, entity=ENTITY, entity_id=record.id, action="received", data=data)
    return out

"""Pharmacy stock: deliveries from the warehouse into the shelf, the shelf, its ledger, and who
received which batch.

Stock itself is shared/stock.py's: a delivery `put`s each line into the pharmacy's store and a
dispense (pms/dispensing/service.py) `take`s from it, each with its ledger row in the same
transaction, so stock always equals the sum of its ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import PHARMACY, audit_log, counters, feed, idempotency_keys, stock
from pms.dispensing.models import DispensingLine, DispensingLineBatch, DispensingOrder
from pms.shortages import service as shortages
from pms.stock.models import (
    BatchDrug,
    Delivery,
    DeliveryIn,
    DeliveryLine,
    DeliveryLineOut,
    DeliveryOut,
    MovementOut,
    StockOut,
    TraceOut,
)
from shared import audit
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, NotFound, field_error
from shared.feed import publish
from shared.fields import CENT
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.paging import Page, PageParams, fetch_page
from shared.search import contains
from shared.sequences import business_number
from shared.stock import BatchIn, Movement, put

ENTITY = "delivery"
NUMBER_PREFIX = "YR"  # 药房入库
RECEIVE_SCOPE = "pms:delivery:receive"
# A batch this close to its expiry is flagged `expiring` (the pharmacist's usual look-ahead).
EXPIRING_DAYS = 90

batches, movements = stock.batches, stock.movements

DELIVERY_SORTS = {name: getattr(Delivery, name) for name in ("received_at", "number", "outbound_number", "id")}
STOCK_SORTS = {
    "expiry_date": batches.c.expiry_date,
    "batch_no": batches.c.batch_no,
    "quantity": batches.c.quantity,
    "code": BatchDrug.code,
    "name": BatchDrug.name,
}
MOVEMENT_SORTS = {"at": movements.c.at, "quantity": movements.c.quantity, "id": movements.c.id}
TRACE_SORTS = {"dispensed_at": DispensingOrder.dispensed_at, "batch_no": DispensingLineBatch.batch_no}


# --- deliveries ----------------------------------------------------------------------------------


def _already_received(outbound_number: str) -> Conflict:
    return Conflict(
        Text(f"出库单 {outbound_number} 已入药房库存", f"Outbound order {outbound_number} was already received"),
        code="delivery_already_received",
        errors=[field_error("outbound_id", Text("已接收", "already received"), "duplicate")],
    )


async def _delivery_lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[DeliveryLineOut]]:
    by_delivery: dict[int, list[DeliveryLineOut]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(DeliveryLine).where(DeliveryLine.delivery_id.in_(ids)).order_by(DeliveryLine.id)  # type: ignore[attr-defined]
        )
        for line in rows.scalars():
            by_delivery[line.delivery_id].append(DeliveryLineOut.model_validate(line))
    return by_delivery


def _delivery_out(delivery: Delivery, lines: list[DeliveryLineOut]) -> DeliveryOut:
    return DeliveryOut.model_validate({**delivery.model_dump(), "lines": lines})


async def get_delivery(session: AsyncSession, delivery_id: int) -> DeliveryOut:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(Text(f"药房入库单（编号 {delivery_id}）不存在", f"Delivery {delivery_id} not found"))
    return _delivery_out(delivery, (await _delivery_lines(session, [delivery_id]))[delivery_id])


async def deliveries(session: AsyncSession, params: PageParams) -> Page[DeliveryOut]:
    query = select(Delivery)
    if params.q:
        query = query.where(contains(params.q, Delivery.number, Delivery.outbound_number))
    found, total = await fetch_page(session, query, params, Delivery.received_at.desc(), Delivery.id.desc())  # type: ignore[attr-defined,union-attr]
    lines = await _delivery_lines(session, [d.id for d in found])
    return Page(items=[_delivery_out(d, lines[d.id]) for d in found], total=total, page=params.page, size=params.size)


async def receive_once(db: Database, key: str, body: DeliveryIn, day: dt.date, person: str) -> Answer:
    """`receive` once per key, in its own transaction: sms's outbox sends again until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await receive(session, body, day, person)).model_dump(mode="json"))

    return await run_once(db, idempotency_keys, key, RECEIVE_SCOPE, body.model_dump(mode="json"), work)


async def receive(session: AsyncSession, body: DeliveryIn, day: dt.date, person: str) -> DeliveryOut:
    """Puts every line of the warehouse's outbound order on the pharmacy's shelf (药房入库)."""
    taken = select(Delivery.id).where(Delivery.outbound_id == body.outbound_id)
    if (await session.execute(taken)).first() is not None:
        raise _already_received(body.outbound_number)
    now = utcnow()
    delivery = Delivery(
        **body.model_dump(exclude={"lines"}),
        number=await business_number(session, counters, NUMBER_PREFIX, day),
        received_at=now,
        received_by=person,
    )
    session.add(delivery)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another key delivered the same outbound order a moment ago.
        raise _already_received(body.outbound_number) from exc
    assert delivery.id is not None
    batch_ids: dict[int, int] = {}
    # Batch by batch in the order a dispense takes them (drug, then expiry), so a delivery and a
    # dispense of the same drugs never wait on each other's batch rows in a circle.
    for index, line in sorted(enumerate(body.lines), key=lambda pair: (pair[1].drug_id, pair[1].expiry_date)):
        batch = BatchIn(
            drug_id=line.drug_id,
            batch_no=line.batch_no,
            expiry_date=line.expiry_date,
            production_date=line.production_date,
            supplier_id=line.supplier_id,
            purchase_price=line.purchase_price,
        )
        batch_id = await put(
            session, stock, store_id=PHARMACY, batch=batch, quantity=line.quantity,
            movement=Movement.delivery, reference=body.outbound_number, person=person,
        )  # fmt: skip
        if await session.get(BatchDrug, batch_id) is None:
            drug = line.model_dump(include={"drug_id", "code", "name", "spec", "unit"})
            session.add(BatchDrug(batch_id=batch_id, **drug))
        batch_ids[index] = batch_id
    lines = [
        DeliveryLine(delivery_id=delivery.id, batch_id=batch_ids[index], **line.model_dump())
        for index, line in enumerate(body.lines)
    ]
    session.add_all(lines)
    await session.flush()
    if body.shortage_request_id is not None:
        await shortages.record_delivery(session, body.shortage_request_id, body.lines)
    out = _delivery_out(delivery, [DeliveryLineOut.model_validate(line) for line in lines])
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=delivery.id, after=out.model_dump(mode="json")
    )
    data = {
        "number": out.number,
        "outbound_number": out.outbound_number,
        "warehouse_id": out.warehouse_id,
        "received_at": out.received_at,
        "lines": [
            {"drug_id": li.drug_id, "code": li.code, "batch_no": li.batch_no, "quantity": li.quantity,
             "purchase_price": li.purchase_price, "expiry_date": li.expiry_date}
            for li in out.lines
        ],
    }  # fmt: skip
    await publish(session, feed, counters, entity=ENTITY, entity_id=delivery.id, action="received", data=data)
    return out


# --- the shelf and its ledger --------------------------------------------------------------------


async def shelf(
    session: AsyncSession,
    params: PageParams,
    today: dt.date,
    *,
    drug_id: int | None = None,
    batch_no: str | None = None,
    expiring_within_days: int | None = None,
    include_empty: bool = False,
) -> Page[StockOut]:
    """The pharmacy's batches (药房详情): by default those with stock, first expiry first."""
    query = (
        select(batches, BatchDrug.code, BatchDrug.name, BatchDrug.spec, BatchDrug.unit)  # type: ignore[call-overload]
        .join(BatchDrug, BatchDrug.batch_id == batches.c.id)
        .where(batches.c.store_id == PHARMACY)
    )
    if not include_empty:
        query = query.where(batches.c.quantity > 0)
    if drug_id is not None:
        query = query.where(batches.c.drug_id == drug_id)
    if batch_no:
        query = query.where(batches.c.batch_no == batch_no)
    if expiring_within_days is not None:
        # Expired batches too: both need the pharmacist's attention.
        query = query.where(batches.c.expiry_date <= today + dt.timedelta(days=expiring_within_days))
    if params.q:
        query = query.where(contains(params.q, BatchDrug.code, BatchDrug.name, batches.c.batch_no))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*params.order, batches.c.expiry_date, batches.c.id).offset(params.offset).limit(params.size)
    )
    horizon = today + dt.timedelta(days=EXPIRING_DAYS if expiring_within_days is None else expiring_within_days)
    items = [
        StockOut(
            batch_id=row.id,
            drug_id=row.drug_id,
            code=row.code,
            name=row.name,
            spec=row.spec,
            unit=row.unit,
            batch_no=row.batch_no,
            production_date=row.production_date,
            expiry_date=row.expiry_date,
            supplier_id=row.supplier_id,
            purchase_price=row.purchase_price,
            quantity=row.quantity,
            value=(Decimal(row.purchase_price) * row.quantity).quantize(CENT),
            expired=row.expiry_date < today,
            expiring=today <= row.expiry_date <= horizon,
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def ledger(
    session: AsyncSession,
    params: PageParams,
    *,
    drug_id: int | None = None,
    batch_id: int | None = None,
    batch_no: str | None = None,
    movement: Movement | None = None,
    reference: str | None = None,
) -> Page[MovementOut]:
    """The pharmacy's ledger (操作记录), newest first; read-only."""
    query = (
        select(movements, batches.c.batch_no, batches.c.expiry_date, BatchDrug.code, BatchDrug.name)  # type: ignore[call-overload]
        .join(batches, batches.c.id == movements.c.batch_id)
        .outerjoin(BatchDrug, BatchDrug.batch_id == movements.c.batch_id)
        .where(movements.c.store_id == PHARMACY)
    )
    for value, column in [
        (drug_id, movements.c.drug_id),
        (batch_id, movements.c.batch_id),
        (batch_no, batches.c.batch_no),
        (movement, movements.c.movement),
        (reference, movements.c.reference),
    ]:
        if value is not None:
            query = query.where(column == value)
    if params.q:
        query = query.where(contains(params.q, BatchDrug.code, BatchDrug.name, movements.c.reference))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*params.order, movements.c.at.desc(), movements.c.id.desc())
        .offset(params.offset)
        .limit(params.size)
    )
    items = [
        MovementOut(
            id=row.id,
            batch_id=row.batch_id,
            drug_id=row.drug_id,
            code=row.code or "",
            name=row.name or "",
            batch_no=row.batch_no,
            expiry_date=row.expiry_date,
            movement=row.movement,
            quantity=row.quantity,
            reference=row.reference,
            person=row.person,
            reason=row.reason,
            at=row.at,
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)


# --- traceability --------------------------------------------------------------------------------


async def trace(
    session: AsyncSession,
    params: PageParams,
    *,
    batch_no: str | None = None,
    drug_id: int | None = None,
    visit_number: str | None = None,
    patient_name: str | None = None,
) -> Page[TraceOut]:
    """Who received a batch (a recall list: `batch_no`, with `drug_id` when two drugs share a batch
    number), or which batches a patient received (`visit_number` or `patient_name`); without them,
    every batch handed out, newest first, `q` matching a batch number, visit number or name."""
    query = (
        select(DispensingLineBatch, DispensingLine, DispensingOrder)
        .join(DispensingLine, DispensingLine.id == DispensingLineBatch.dispensing_line_id)  # type: ignore[arg-type]
        .join(DispensingOrder, DispensingOrder.id == DispensingLine.dispensing_order_id)  # type: ignore[arg-type]
    )
    filters: list[tuple[Any, Any]] = [
        (batch_no, DispensingLineBatch.batch_no),
        (drug_id, DispensingLine.drug_id),
        (visit_number, DispensingOrder.visit_number),
        (patient_name, DispensingOrder.patient_name),
    ]
    for value, column in filters:
        if value:
            query = query.where(column == value)
    if params.q:
        query = query.where(
            contains(params.q, DispensingLineBatch.batch_no, DispensingOrder.visit_number, DispensingOrder.patient_name)
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*params.order, DispensingOrder.dispensed_at.desc(), DispensingLineBatch.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    items = [
        TraceOut(
            dispensing_order_id=order.id,
            dispensing_number=order.number,
            visit_number=order.visit_number,
            patient_name=order.patient_name,
            dispensed_at=order.dispensed_at,
            dispensed_by=order.dispensed_by,
            drug_id=line.drug_id,
            code=line.code,
            name=line.name,
            batch_id=taken.batch_id,
            batch_no=taken.batch_no,
            expiry_date=taken.expiry_date,
            quantity=taken.quantity,
        )
        for taken, line, order in rows.all()
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)

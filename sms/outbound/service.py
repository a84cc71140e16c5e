"""Outbound orders: written and posted in one step. Stock leaves the warehouse, the batches taken
are recorded, and the delivery to the pharmacy is queued in sms's outbox, all in one transaction:
a shortfall or an expired chosen batch leaves nothing behind — no order, no ledger row, no message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from fastapi.encoders import jsonable_encoder
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.outbox import OutboxRelay, enqueue
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from shared.stock import Movement, take
from sms.db import audit_log, counters, feed, idempotency_keys, outbox, stock
from sms.masterdata import Drug, MasterData, Warehouse
from sms.outbound.models import (
    OutboundBatch,
    OutboundBatchOut,
    OutboundLine,
    OutboundLineOut,
    OutboundOrder,
    OutboundOrderIn,
    OutboundOrderOut,
)
from sms.shortages import service as shortages

ENTITY = "outbound_order"
NUMBER_PREFIX = "CK"  # 出库
CREATE_SCOPE = "POST /api/sms/outbound-orders"
# Where the pharmacy receives deliveries (pms/stock/router.py).
PMS_PATH = "/api/pms/deliveries"
SORTS = {name: getattr(OutboundOrder, name) for name in ("created_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)


def message_key(order_id: int) -> str:
    return f"sms-outbound-{order_id}"


async def _lines(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[OutboundLine]]:
    by_order: dict[int, list[OutboundLine]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(OutboundLine).where(OutboundLine.order_id.in_(order_ids)).order_by(OutboundLine.id)  # type: ignore[attr-defined]
        )
        for line in rows.scalars():
            by_order[line.order_id].append(line)
    return by_order


async def _batches(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, list[OutboundBatch]]:
    by_line: dict[int, list[OutboundBatch]] = {i: [] for i in line_ids}
    if line_ids:
        rows = await session.execute(
            select(OutboundBatch).where(OutboundBatch.line_id.in_(line_ids)).order_by(OutboundBatch.id)  # type: ignore[attr-defined]
        )
        for taken in rows.scalars():
            by_line[taken.line_id].append(taken)
    return by_line


def _out(order: OutboundOrder, lines: list[OutboundLine], batches: dict[int, list[OutboundBatch]]) -> OutboundOrderOut:
    shown = []
    for line in lines:
        taken = [OutboundBatchOut.model_validate(b) for b in batches.get(cast(int, line.id), [])]
        amount = sum((b.purchase_price * b.quantity for b in taken), Decimal("0.00"))
        shown.append(OutboundLineOut.model_validate({**line.model_dump(), "batches": taken, "amount": amount}))
    amount = sum((line.amount for line in shown), Decimal("0.00"))
    return OutboundOrderOut.model_validate({**order.model_dump(), "lines": shown, "amount": amount})


async def get(session: AsyncSession, order_id: int) -> OutboundOrderOut:
    order = await session.get(OutboundOrder, order_id, populate_existing=True)
    if order is None:
        raise NotFound(Text(f"出库单（编号 {order_id}）不存在", f"Outbound order {order_id} not found"))
    lines = (await _lines(session, [order_id]))[order_id]
    return _out(order, lines, await _batches(session, [cast(int, li.id) for li in lines]))


async def page(
    session: AsyncSession,
    params: PageParams,
    *,
    warehouse_id: int | None = None,
    shortage_request_id: int | None = None,
    drug_id: int | None = None,
    batch_no: str | None = None,
) -> Page[OutboundOrderOut]:
    query = select(OutboundOrder)
    for column, value in (
        (OutboundOrder.warehouse_id, warehouse_id),
        (OutboundOrder.shortage_request_id, shortage_request_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if drug_id is not None:
        query = query.where(OutboundOrder.id.in_(select(OutboundLine.order_id).where(OutboundLine.drug_id == drug_id)))  # type: ignore[union-attr]
    if batch_no:
        carrying = (
            select(OutboundLine.order_id)
            .join(OutboundBatch, OutboundBatch.line_id == OutboundLine.id)  # type: ignore[arg-type]
            .where(OutboundBatch.batch_no == batch_no)
        )
        query = query.where(OutboundOrder.id.in_(carrying))  # type: ignore[union-attr]
    if params.q:
        query = query.where(contains(params.q, OutboundOrder.number, OutboundOrder.remark))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), OutboundOrder.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    orders = [o for o in rows.scalars() if o.id is not None]
    lines = await _lines(session, [cast(int, o.id) for o in orders])
    batches = await _batches(session, [cast(int, li.id) for ls in lines.values() for li in ls])
    items = [_out(o, lines[cast(int, o.id)], batches) for o in orders]
    return Page(items=items, total=total, page=params.page, size=params.size)


def _reasons_given(body: OutboundOrderIn) -> None:
    """A chosen batch overrides first-expiry-first-out: only with a reason on record."""
    missing = [i for i, line in enumerate(body.lines) if line.batch_id is not None and not line.reason]
    if missing:
        raise Invalid(
            Text("指定批次出库必须填写原因", "A chosen batch needs a reason"),
            code="reason_required",
            errors=[
                field_error(f"lines.{i}.reason", Text("指定批次时必填", "required with a chosen batch"), "missing")
                for i in missing
            ],
        )


async def create_once(
    db: Database,
    relay: OutboxRelay,
    masters: MasterData,
    body: OutboundOrderIn,
    today: dt.date,
    by: str,
    key: str | None,
) -> Answer:
    """`create` once per key (a repeat gets the first answer), then wakes the outbox so the delivery
    goes now. dbs is asked before the transaction: no remote call while stock rows are locked."""
    _reasons_given(body)
    warehouse = await masters.warehouse(body.warehouse_id)
    drugs: dict[int, Drug] = {}
    for i, line in enumerate(body.lines):
        if line.drug_id not in drugs:
            drugs[line.drug_id] = await masters.drug(line.drug_id, f"lines.{i}.drug_id")

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, jsonable_encoder(await create(session, warehouse, drugs, body, today, by)))

    answer = await run_once(db, idempotency_keys, key, CREATE_SCOPE, body.model_dump(mode="json"), work)
    relay.wake()
    return answer


def _delivery(order: OutboundOrderOut, drugs: dict[int, Drug]) -> dict[str, Any]:
    """What the pharmacy receives (pms/stock/models.py DeliveryIn): one line per batch taken."""
    lines = []
    for line in order.lines:
        drug = drugs[line.drug_id]
        for taken in line.batches:
            lines.append(
                {
                    "drug_id": line.drug_id,
                    # pms needs a code to show; a drug without one is named by its id.
                    "code": line.drug_code or str(line.drug_id),
                    "name": line.drug_name,
                    "spec": line.drug_spec,
                    "unit": drug.unit_name or "",
                    "batch_no": taken.batch_no,
                    "production_date": taken.production_date,
                    "expiry_date": taken.expiry_date,
                    "supplier_id": taken.supplier_id,
                    "purchase_price": taken.purchase_price,
                    "quantity": taken.quantity,
                }
            )
    return jsonable_encoder(
        {
            "outbound_id": order.id,
            "outbound_number": order.number,
            "warehouse_id": order.warehouse_id,
            "shortage_request_id": order.pms_shortage_request_id,
            "lines": lines,
        }
    )


def _feed_data(order: OutboundOrderOut) -> dict[str, Any]:
    return {
        "number": order.number,
        "warehouse_id": order.warehouse_id,
        "shortage_request_id": order.shortage_request_id,
        "created_at": order.created_at,
        "lines": [
            {
                "drug_id": line.drug_id,
                "batch_no": b.batch_no,
                "quantity": b.quantity,
                "purchase_price": b.purchase_price,
                "expiry_date": b.expiry_date,
            }
            for line in order.lines
            for b in line.batches
        ],
    }


async def create(
    session: AsyncSession,
    warehouse: Warehouse,
    drugs: dict[int, Drug],
    body: OutboundOrderIn,
    today: dt.date,
    by: str,
) -> OutboundOrderOut:
    """Takes every line out of the warehouse's stock and queues the delivery to the pharmacy."""
    request = await shortages.locked(session, body.shortage_request_id) if body.shortage_request_id else None
    order = OutboundOrder(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        warehouse_id=warehouse.id,
        warehouse_name=warehouse.name,
        shortage_request_id=request.id if request else None,
        pms_shortage_request_id=request.pms_request_id if request else None,
        remark=body.remark,
        created_at=utcnow(),
        created_by=by,
    )
    session.add(order)
    await session.flush()
    assert order.id is not None
    lines = [
        OutboundLine(
            order_id=order.id,
            drug_id=line_in.drug_id,
            drug_code=drugs[line_in.drug_id].code,
            drug_name=drugs[line_in.drug_id].name,
            drug_spec=drugs[line_in.drug_id].spec or "",
            unit=drugs[line_in.drug_id].unit_name or "",
            quantity=line_in.quantity,
            chosen_batch_id=line_in.batch_id,
            reason=line_in.reason,
        )
        for line_in in body.lines
    ]
    session.add_all(lines)
    await session.flush()
    sent: dict[int, int] = {}
    # Drug by drug in one order, so two orders sharing drugs lock their batches in the same order.
    for line in sorted(lines, key=lambda li: (li.drug_id, cast(int, li.id))):
        taken = await take(
            session, stock, store_id=warehouse.id, drug_id=line.drug_id, quantity=line.quantity,
            movement=Movement.outbound, reference=order.number, person=by, today=today,
            drug_label=drugs[line.drug_id].label, batch_id=line.chosen_batch_id, reason=line.reason,
        )  # fmt: skip
        session.add_all(
            OutboundBatch(
                line_id=cast(int, line.id),
                batch_id=t.batch_id,
                batch_no=t.batch_no,
                production_date=t.production_date,
                expiry_date=t.expiry_date,
                supplier_id=t.supplier_id,
                purchase_price=t.purchase_price,
                quantity=t.quantity,
            )
            for t in taken
        )
        sent[line.drug_id] = sent.get(line.drug_id, 0) + line.quantity
    await session.flush()
    out = await get(session, order.id)
    # In the same transaction as the stock it took: the pharmacy gets exactly what left.
    await enqueue(
        session, outbox, destination="PMS", path=PMS_PATH, body=_delivery(out, drugs), key=message_key(order.id)
    )
    if request is not None:
        await shortages.record_outbound(session, request, sent)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=order.id, after=out.model_dump(mode="json")
    )
    await publish(session, feed, counters, entity=ENTITY, entity_id=order.id, action="posted", data=_feed_data(out))
    return out

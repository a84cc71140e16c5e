"""Inbound orders: drafts written and changed freely, posted into stock once, reversed, never edited.

Every write runs in the caller's transaction with its audit row (and, when stock moves, its feed
entry), so a refused line leaves nothing behind: no order, no batch, no ledger row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from shared.stock import BatchIn, Movement, put, take
from sms.db import audit_log, counters, feed, stock
from sms.inbound.models import InboundLine, InboundOrder, InboundOrderIn, InboundOrderOut, LineOut, State
from sms.masterdata import MasterData

ENTITY = "inbound_order"
NUMBER_PREFIX = "RK"  # 入库
SORTS = {name: getattr(InboundOrder, name) for name in ("created_at", "posted_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)


def _not_found(order_id: int) -> NotFound:
    return NotFound(Text(f"入库单（编号 {order_id}）不存在", f"Inbound order {order_id} not found"))


def _not_draft(order: InboundOrder) -> Conflict:
    return Conflict(
        Text(
            f"入库单 {order.number} 已过账，不能修改或删除；如有错误请冲销",
            f"Inbound order {order.number} is posted: it cannot be changed or deleted, only reversed",
        ),
        code="order_posted",
    )


async def _lines(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[InboundLine]]:
    by_order: dict[int, list[InboundLine]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(InboundLine).where(InboundLine.order_id.in_(order_ids)).order_by(InboundLine.id)  # type: ignore[attr-defined,arg-type]
        )
        for line in rows.scalars():
            by_order[line.order_id].append(line)
    return by_order


def _out(order: InboundOrder, lines: list[InboundLine]) -> InboundOrderOut:
    shown = [
        LineOut.model_validate({**line.model_dump(), "amount": line.purchase_price * line.quantity}) for line in lines
    ]
    amount = sum((line.amount for line in shown), Decimal("0.00"))
    return InboundOrderOut.model_validate({**order.model_dump(), "lines": shown, "amount": amount})


async def get(session: AsyncSession, order_id: int) -> InboundOrderOut:
    order = await session.get(InboundOrder, order_id, populate_existing=True)
    if order is None:
        raise _not_found(order_id)
    return _out(order, (await _lines(session, [order_id]))[order_id])


async def page(
    session: AsyncSession,
    params: PageParams,
    *,
    state: State | None = None,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
) -> Page[InboundOrderOut]:
    query = select(InboundOrder)
    for column, value in (
        (InboundOrder.state, state),
        (InboundOrder.warehouse_id, warehouse_id),
        (InboundOrder.supplier_id, supplier_id),
    ):
        if value is not None:
            query = query.where(column == value)  # type: ignore[arg-type]
    if params.q:
        query = query.where(contains(params.q, InboundOrder.number, InboundOrder.supplier_name, InboundOrder.remark))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), InboundOrder.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    orders = list(rows.scalars())
    lines = await _lines(session, [o.id for o in orders if o.id is not None])
    return Page(
        items=[_out(o, lines[o.id]) for o in orders if o.id is not None],
        total=total,
        page=params.page,
        size=params.size,
    )


async def _checked(masters: MasterData, body: InboundOrderIn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's header and lines with the names dbs gives them; 422 naming the first field
    that refers to nothing usable (missing or disabled in dbs)."""
    warehouse = await masters.warehouse(body.warehouse_id)
    supplier = await masters.supplier(body.supplier_id)
    handler = await masters.handler(body.handler_id)
    header = {
        "warehouse_id": warehouse.id,
        "warehouse_name": warehouse.name,
        "supplier_id": supplier.id,
        "supplier_name": supplier.name,
        "handler_id": handler.id,
        "handler_name": handler.name,
        "remark": body.remark,
    }
    return header, await masters.drug_lines(body.lines)


async def _locked(session: AsyncSession, order_id: int) -> InboundOrder:
    query = select(InboundOrder).where(InboundOrder.id == order_id).with_for_update()  # type: ignore[arg-type]
    order = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if order is None:
        raise _not_found(order_id)
    return order


async def create(
    session: AsyncSession, masters: MasterData, body: InboundOrderIn, today: dt.date, by: str
) -> InboundOrderOut:
    header, lines = await _checked(masters, body)
    now = utcnow()
    order = InboundOrder(
        **header,
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        state=State.draft,
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    assert order.id is not None
    session.add_all(InboundLine(order_id=order.id, **line) for line in lines)
    await session.flush()
    after = await get(session, order.id)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=order.id, after=after.model_dump(mode="json")
    )
    return after


async def update(session: AsyncSession, masters: MasterData, order_id: int, body: InboundOrderIn) -> InboundOrderOut:
    """A draft's header and lines replaced as sent."""
    order = await _locked(session, order_id)
    if order.state != State.draft:
        raise _not_draft(order)
    before = await get(session, order_id)
    header, lines = await _checked(masters, body)
    await session.execute(delete(InboundLine).where(InboundLine.order_id == order_id))  # type: ignore[arg-type]
    for name, value in header.items():
        setattr(order, name, value)
    order.updated_at = utcnow()
    session.add(order)
    session.add_all(InboundLine(order_id=order_id, **line) for line in lines)
    await session.flush()
    after = await get(session, order_id)
    await audit.record(
        session, audit_log, action="update", entity=ENTITY, entity_id=order_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    return after


async def remove(session: AsyncSession, order_id: int) -> None:
    order = await _locked(session, order_id)
    if order.state != State.draft:
        raise _not_draft(order)
    before = await get(session, order_id)
    await session.execute(delete(InboundLine).where(InboundLine.order_id == order_id))  # type: ignore[arg-type]
    await session.delete(order)
    await session.flush()
    await audit.record(
        session, audit_log, action="delete", entity=ENTITY, entity_id=order_id, before=before.model_dump(mode="json")
    )


def _feed_data(order: InboundOrderOut) -> dict[str, Any]:
    """What statistics need: quantities signed as they moved stock (a reversal takes out)."""
    sign = -1 if order.reverses_id is not None else 1
    return {
        "number": order.number,
        "warehouse_id": order.warehouse_id,
        "supplier_id": order.supplier_id,
        "reverses_id": order.reverses_id,
        "posted_at": order.posted_at,
        "lines": [
            {
                "drug_id": line.drug_id,
                "batch_no": line.batch_no,
                "quantity": sign * line.quantity,
                "purchase_price": line.purchase_price,
                "expiry_date": line.expiry_date,
            }
            for line in order.lines
        ],
    }


async def post(session: AsyncSession, order_id: int, by: str) -> InboundOrderOut:
    """Each line into stock (its batch made on first arrival) with its ledger row; then frozen."""
    order = await _locked(session, order_id)
    if order.state != State.draft:
        raise Conflict(
            Text(f"入库单 {order.number} 已过账", f"Inbound order {order.number} is already posted"),
            code="already_posted",
        )
    before = await get(session, order_id)
    lines = (await _lines(session, [order_id]))[order_id]
    for line in lines:
        line.batch_id = await put(
            session,
            stock,
            store_id=order.warehouse_id,
            batch=BatchIn(
                drug_id=line.drug_id,
                batch_no=line.batch_no,
                expiry_date=line.expiry_date,
                production_date=line.production_date,
                supplier_id=order.supplier_id,
                purchase_price=line.purchase_price,
            ),
            quantity=line.quantity,
            movement=Movement.inbound,
            reference=order.number,
            person=by,
        )
        session.add(line)
    now = utcnow()
    order.state, order.posted_at, order.posted_by, order.updated_at = State.posted, now, by, now
    session.add(order)
    await session.flush()
    after = await get(session, order_id)
    await audit.record(
        session, audit_log, action="post", entity=ENTITY, entity_id=order_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(session, feed, counters, entity=ENTITY, entity_id=order_id, action="posted", data=_feed_data(after))
    return after


async def reverse(session: AsyncSession, order_id: int, reason: str, today: dt.date, by: str) -> InboundOrderOut:
    """A new posted order taking each line's quantity back out of the batch it went into; the
    original becomes `reversed`. 409 when some of it has already left the warehouse."""
    original = await _locked(session, order_id)
    if original.reverses_id is not None:
        raise Conflict(
            Text(f"{original.number} 是冲销单，不能再冲销", f"{original.number} is a reversal: it cannot be reversed"),
            code="is_reversal",
        )
    if original.state == State.reversed:
        raise Conflict(
            Text(f"入库单 {original.number} 已冲销", f"Inbound order {original.number} is already reversed"),
            code="already_reversed",
        )
    if original.state != State.posted:
        raise Conflict(
            Text(
                f"入库单 {original.number} 尚未过账，可直接修改或删除",
                f"{original.number} is a draft: edit or delete it",
            ),
            code="not_posted",
        )
    before = await get(session, order_id)
    now = utcnow()
    reversal = InboundOrder(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        state=State.posted,
        **before.model_dump(
            include={"warehouse_id", "warehouse_name", "supplier_id", "supplier_name", "handler_id", "handler_name"}
        ),
        remark=f"冲销 {original.number}",
        reverses_id=order_id,
        reason=reason,
        created_at=now,
        created_by=by,
        updated_at=now,
        posted_at=now,
        posted_by=by,
    )
    session.add(reversal)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            Text(f"入库单 {original.number} 已冲销", f"Inbound order {original.number} is already reversed"),
            code="already_reversed",
        ) from exc
    assert reversal.id is not None
    for line in before.lines:
        assert line.batch_id is not None
        await take(
            session,
            stock,
            store_id=original.warehouse_id,
            drug_id=line.drug_id,
            quantity=line.quantity,
            movement=Movement.inbound_reversal,
            reference=reversal.number,
            person=by,
            today=today,
            drug_label=f"{line.drug_name}（批号 {line.batch_no}）",
            batch_id=line.batch_id,
            reason=reason,
            allow_expired=True,
        )
        session.add(
            InboundLine(
                order_id=reversal.id,
                **line.model_dump(exclude={"id", "amount"}),
            )
        )
    original.state, original.reversed_by_id, original.updated_at = State.reversed, reversal.id, now
    session.add(original)
    await session.flush()
    made = await get(session, reversal.id)
    after = await get(session, order_id)
    await audit.record(
        session, audit_log, action="reverse", entity=ENTITY, entity_id=reversal.id, after=made.model_dump(mode="json")
    )
    await audit.record(
        session, audit_log, action="reversed", entity=ENTITY, entity_id=order_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=reversal.id, action="reversal_posted", data=_feed_data(made)
    )
    return made

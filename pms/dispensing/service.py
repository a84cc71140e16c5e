"""Dispensing: receive a paid prescription once, hand the drugs out once, report back to oms.

Every write here runs in the caller's transaction together with its audit row, its feed entry
and (on dispense) its outbox message, so the four exist together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import audit_log, counters, feed, outbox
from pms.dispensing.models import (
    CANCELLED,
    DISPENSED,
    PENDING,
    CancellationIn,
    DispensingLine,
    DispensingOrder,
    DispensingOrderIn,
    DispensingOrderOut,
    LineOut,
)
from shared import audit
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from shared.types import utcnow

ENTITY = "dispensing_order"
NUMBER_PREFIX = "FY"  # 发药
SORTS = {"created_at", "dispensed_at", "number", "id"}


def _not_found(order_id: int) -> NotFound:
    return NotFound(Text(f"取药单（编号 {order_id}）不存在", f"Dispensing order {order_id} not found"))


def _already_received(source: str, order_id: int) -> Conflict:
    return Conflict(
        Text(f"该处方（{source} 订单 {order_id}）已有取药单", f"Order {order_id} of {source} was already received"),
        code="order_already_received",
        errors=[field_error("order_id", Text("已接收", "already received"), "duplicate")],
    )


def _already_dispensed(order_id: int) -> Conflict:
    return Conflict(
        Text(f"取药单（编号 {order_id}）已发药", f"Dispensing order {order_id} was already dispensed"),
        code="already_dispensed",
    )


async def _lines(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[DispensingLine]]:
    by_order: dict[int, list[DispensingLine]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(DispensingLine)
            .where(DispensingLine.dispensing_order_id.in_(order_ids))  # type: ignore[attr-defined]
            .order_by(DispensingLine.id)
        )
        for line in rows.scalars():
            by_order[line.dispensing_order_id].append(line)
    return by_order


def _out(order: DispensingOrder, lines: list[DispensingLine]) -> DispensingOrderOut:
    return DispensingOrderOut.model_validate(
        {**order.model_dump(), "lines": [LineOut.model_validate(line) for line in lines]}
    )


async def get(session: AsyncSession, order_id: int) -> DispensingOrderOut:
    order = await session.get(DispensingOrder, order_id, populate_existing=True)
    if order is None:
        raise _not_found(order_id)
    return _out(order, (await _lines(session, [order_id]))[order_id])


def _order_by(sort: str) -> Any:
    name = sort.removeprefix("-") or "created_at"
    if name not in SORTS:
        raise Invalid(
            Text(f"不能按 {name} 排序", f"Cannot sort by {name}"),
            code="bad_sort",
            errors=[field_error("sort", Text("不支持的排序字段", "unknown sort field"))],
        )
    column = getattr(DispensingOrder, name)
    # Newest first unless asked otherwise: the pharmacy works the latest queue.
    descending = sort.startswith("-") or not sort
    return column.desc() if descending else column.asc()


async def page(session: AsyncSession, params: PageParams, state: str | None = None) -> Page[DispensingOrderOut]:
    query = select(DispensingOrder)
    if state is not None:
        query = query.where(DispensingOrder.state == state)
    if params.q:
        query = query.where(
            contains(
                params.q,
                DispensingOrder.number,
                DispensingOrder.order_number,
                DispensingOrder.visit_number,
                DispensingOrder.patient_name,
            )
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(_order_by(params.sort), DispensingOrder.id.desc())  # type: ignore[union-attr]
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


def _feed_data(order: DispensingOrderOut) -> dict[str, Any]:
    """What statistics need, and nothing about the patient: the feed leaves the service."""
    return {
        "number": order.number,
        "source": order.source,
        "order_id": order.order_id,
        "order_number": order.order_number,
        "department_name": order.department_name,
        "state": order.state,
        "created_at": order.created_at,
        "dispensed_at": order.dispensed_at,
        "lines": [{"drug_id": line.drug_id, "code": line.code, "quantity": line.quantity} for line in order.lines],
    }


async def receive(session: AsyncSession, body: DispensingOrderIn, day: dt.date) -> DispensingOrderOut:
    """A new pending order from the sender; `day` is the hospital's today, for the number."""
    taken = select(DispensingOrder.id).where(
        DispensingOrder.source == body.source, DispensingOrder.order_id == body.order_id
    )
    if (await session.execute(taken)).first() is not None:
        raise _already_received(body.source, body.order_id)
    now = utcnow()
    order = DispensingOrder(
        **body.model_dump(exclude={"lines"}),
        number=await business_number(session, counters, NUMBER_PREFIX, day),
        state=PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another key delivered the same order a moment ago (the check above could not see it yet).
        raise _already_received(body.source, body.order_id) from exc
    assert order.id is not None
    lines = [DispensingLine(dispensing_order_id=order.id, **line.model_dump()) for line in body.lines]
    session.add_all(lines)
    await session.flush()
    out = _out(order, lines)
    after = out.model_dump(mode="json")
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=order.id, after=after)
    await publish(session, feed, counters, entity=ENTITY, entity_id=order.id, action="received", data=_feed_data(out))
    return out


def dispensed_message(order: DispensingOrderOut) -> dict[str, Any]:
    """The report to oms: its path, body and key (one key per order, so a resend applies once)."""
    assert order.dispensed_at is not None
    return {
        "path": f"/api/oms/orders/{order.order_id}/dispensed",
        "body": {
            "dispensing_number": order.number,
            "dispensed_at": order.model_dump(mode="json")["dispensed_at"],
            "dispensed_by": order.dispensed_by,
        },
        "key": f"pms-dispensed-{order.id}",
    }


async def dispense(session: AsyncSession, order_id: int, by: str) -> DispensingOrderOut:
    before = await get(session, order_id)
    now = utcnow()
    # Conditional, so two pharmacists pressing at once dispense once: the loser changes no row.
    changed = await session.execute(
        update(DispensingOrder)
        .where(DispensingOrder.id == order_id, DispensingOrder.state == PENDING)  # type: ignore[arg-type]
        .values(state=DISPENSED, dispensed_at=now, dispensed_by=by, updated_at=now)
    )
    if changed.rowcount != 1:
        if before.state == CANCELLED:
            raise Conflict(Text("处方已全部退费，不能发药", "Every line was refunded: nothing to dispense"),
                           code="order_cancelled")  # fmt: skip
        raise _already_dispensed(order_id)
    after = await get(session, order_id)
    await audit.record(
        session,
        audit_log,
        action="dispense",
        entity=ENTITY,
        entity_id=order_id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=order_id, action="dispensed", data=_feed_data(after)
    )
    if after.source == "oms":
        await enqueue(session, outbox, destination="OMS", **dispensed_message(after))
    return after


async def cancel_lines(session: AsyncSession, source: str, order_id: int, body: CancellationIn) -> DispensingOrderOut:
    """The sender refunded lines before they were dispensed: they are not handed out; an order whose
    every line is cancelled is cancelled. Already dispensed → 409, which the sender's outbox keeps
    aside for an operator (the drugs are out: the refund needs a drug return)."""
    found = (
        await session.execute(
            select(DispensingOrder)
            .where(DispensingOrder.source == source, DispensingOrder.order_id == order_id)  # type: ignore[arg-type]
            .with_for_update()
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(Text("发药单尚未收到", "That order has not been received"))
    assert found.id is not None
    before = await get(session, found.id)
    if found.state == DISPENSED:
        raise _already_dispensed(found.id)
    lines = (await _lines(session, [found.id])).get(found.id, [])
    by_line = {line.line_id: line for line in lines}
    unknown = [i for i in body.line_ids if i not in by_line]
    if unknown:
        raise Invalid(
            Text("发药单中没有这些明细", "These lines are not on the order"),
            errors=[field_error("line_ids", Text(f"未知明细 {unknown}", f"unknown lines {unknown}"))],
        )
    for line_id in body.line_ids:
        by_line[line_id].cancelled = True
        session.add(by_line[line_id])
    if all(line.cancelled for line in lines):
        found.state = CANCELLED
    found.updated_at = utcnow()
    session.add(found)
    await session.flush()
    after = await get(session, found.id)
    await audit.record(
        session, audit_log, action="cancel", entity=ENTITY, entity_id=found.id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(session, feed, counters, entity=ENTITY, entity_id=found.id, action="cancelled",
                  data=_feed_data(after))  # fmt: skip
    return after

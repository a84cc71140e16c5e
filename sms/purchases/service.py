"""Purchase orders: written, approved by someone else, received into a draft inbound order.

Every write runs in the caller's transaction with its audit row, so a refused request leaves
nothing behind: no order, no line, no inbound draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from sms.alerts.models import Threshold
from sms.alerts.service import low_stock
from sms.db import audit_log, counters, feed, stock
from sms.inbound import service as inbound
from sms.inbound.models import InboundOrderIn
from sms.inbound.models import LineIn as InboundLineIn
from sms.masterdata import MasterData
from sms.purchases.models import (
    LineOut,
    Proposal,
    ProposalLine,
    PurchaseLine,
    PurchaseOrder,
    PurchaseOrderIn,
    PurchaseOrderOut,
    ReceiveIn,
    State,
)
from sms.shortages.models import ShortageLine, ShortageRequest
from sms.shortages.models import State as ShortageState

ENTITY = "purchase_order"
NUMBER_PREFIX = "CG"  # 采购
SORTS = {name: getattr(PurchaseOrder, name) for name in ("created_at", "approved_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)
STATE_NAMES = {
    State.draft: "草稿",
    State.approved: "已审核",
    State.received: "已收货",
    State.cancelled: "已作废",
}


def _not_found(order_id: int) -> NotFound:
    return NotFound(Text(f"采购单（编号 {order_id}）不存在", f"Purchase order {order_id} not found"))


def _wrong_state(order: PurchaseOrder, doing: Text) -> Conflict:
    state = State(order.state)
    return Conflict(
        Text(
            f"采购单 {order.number} {STATE_NAMES[state]}，不能{doing.zh}",
            f"Purchase order {order.number} is {state}: it cannot be {doing.en}",
        ),
        code="wrong_state",
    )


async def _lines(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[PurchaseLine]]:
    by_order: dict[int, list[PurchaseLine]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(PurchaseLine).where(PurchaseLine.order_id.in_(order_ids)).order_by(PurchaseLine.id)  # type: ignore[attr-defined,union-attr]
        )
        for line in rows.scalars():
            by_order[line.order_id].append(line)
    return by_order


def _out(order: PurchaseOrder, lines: list[PurchaseLine]) -> PurchaseOrderOut:
    shown = [LineOut.model_validate({**line.model_dump(), "amount": line.price * line.quantity}) for line in lines]
    amount = sum((line.amount for line in shown), Decimal("0.00"))
    return PurchaseOrderOut.model_validate({**order.model_dump(), "lines": shown, "amount": amount})


async def get(session: AsyncSession, order_id: int) -> PurchaseOrderOut:
    order = await session.get(PurchaseOrder, order_id, populate_existing=True)
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
) -> Page[PurchaseOrderOut]:
    query = select(PurchaseOrder)
    for column, value in (
        (PurchaseOrder.state, state),
        (PurchaseOrder.warehouse_id, warehouse_id),
        (PurchaseOrder.supplier_id, supplier_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if params.q:
        query = query.where(contains(params.q, PurchaseOrder.number, PurchaseOrder.supplier_name, PurchaseOrder.remark))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), PurchaseOrder.id.desc())  # type: ignore[union-attr]
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


async def _checked(masters: MasterData, body: PurchaseOrderIn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and lines with the names dbs gives them; 422 naming the first unusable reference."""
    warehouse = await masters.warehouse(body.warehouse_id)
    supplier = await masters.supplier(body.supplier_id)
    header = {
        "warehouse_id": warehouse.id,
        "warehouse_name": warehouse.name,
        "supplier_id": supplier.id,
        "supplier_name": supplier.name,
        "remark": body.remark,
    }
    return header, await masters.drug_lines(body.lines)


async def _locked(session: AsyncSession, order_id: int) -> PurchaseOrder:
    query = select(PurchaseOrder).where(PurchaseOrder.id == order_id).with_for_update()  # type: ignore[arg-type]
    order = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if order is None:
        raise _not_found(order_id)
    return order


async def _audited(
    session: AsyncSession, action: str, order_id: int, before: PurchaseOrderOut | None
) -> PurchaseOrderOut:
    after = await get(session, order_id)
    await audit.record(
        session, audit_log, action=action, entity=ENTITY, entity_id=order_id,
        before=before.model_dump(mode="json") if before else None, after=after.model_dump(mode="json"),
    )  # fmt: skip
    return after


async def create(
    session: AsyncSession, masters: MasterData, body: PurchaseOrderIn, today: dt.date, by: str
) -> PurchaseOrderOut:
    header, lines = await _checked(masters, body)
    now = utcnow()
    order = PurchaseOrder(
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
    session.add_all(PurchaseLine(order_id=order.id, **line) for line in lines)
    await session.flush()
    return await _audited(session, "create", order.id, None)


async def update(session: AsyncSession, masters: MasterData, order_id: int, body: PurchaseOrderIn) -> PurchaseOrderOut:
    """A draft's header and lines replaced as sent; an approved order is not changed (cancel it)."""
    order = await _locked(session, order_id)
    if order.state != State.draft:
        raise _wrong_state(order, Text("修改", "changed"))
    before = await get(session, order_id)
    header, lines = await _checked(masters, body)
    await session.execute(delete(PurchaseLine).where(PurchaseLine.order_id == order_id))  # type: ignore[arg-type]
    for name, value in header.items():
        setattr(order, name, value)
    order.updated_at = utcnow()
    session.add(order)
    session.add_all(PurchaseLine(order_id=order_id, **line) for line in lines)
    await session.flush()
    return await _audited(session, "update", order_id, before)


async def approve(session: AsyncSession, order_id: int, by: str) -> PurchaseOrderOut:
    """Four eyes: whoever wrote the order cannot approve it."""
    order = await _locked(session, order_id)
    if order.state != State.draft:
        raise _wrong_state(order, Text("审核", "approved"))
    if order.created_by == by:
        raise Conflict(
            Text(
                f"采购单 {order.number} 由您本人填写，不能由您审核，请由其他有审核权限的人员审核",
                f"You wrote purchase order {order.number}: someone else must approve it",
            ),
            code="own_order",
        )
    before = await get(session, order_id)
    now = utcnow()
    order.state, order.approved_at, order.approved_by, order.updated_at = State.approved, now, by, now
    session.add(order)
    await session.flush()
    return await _audited(session, "approve", order_id, before)


async def cancel(session: AsyncSession, order_id: int, by: str) -> PurchaseOrderOut:
    order = await _locked(session, order_id)
    if order.state not in (State.draft, State.approved):
        raise _wrong_state(order, Text("作废", "cancelled"))
    before = await get(session, order_id)
    now = utcnow()
    order.state, order.cancelled_at, order.cancelled_by, order.updated_at = State.cancelled, now, by, now
    session.add(order)
    await session.flush()
    return await _audited(session, "cancel", order_id, before)


def _bad_receipt(field: str, message: Text) -> Invalid:
    return Invalid(
        Text(f"收货明细有误：{message.zh}", f"The receipt is not right: {message.en}"),
        code="bad_receipt",
        errors=[field_error(field, message)],
    )


async def receive(
    session: AsyncSession, masters: MasterData, order_id: int, body: ReceiveIn, today: dt.date, by: str
) -> PurchaseOrderOut:
    """Writes the draft inbound order (入库单) of what arrived, at the order's prices: each line of
    the order received as one or more batches. The store-keeper checks and posts that draft."""
    order = await _locked(session, order_id)
    if order.state != State.approved:
        raise _wrong_state(order, Text("收货（须先审核）", "received (it must be approved first)"))
    before = await get(session, order_id)
    ordered = {line.id: line for line in before.lines}
    inbound_lines = []
    for i, got in enumerate(body.lines):
        line = ordered.get(got.line_id)
        if line is None:
            raise _bad_receipt(
                f"lines.{i}.line_id", Text(f"采购单没有第 {got.line_id} 号明细", f"no line {got.line_id} on the order")
            )
        inbound_lines.append(
            InboundLineIn(
                drug_id=line.drug_id,
                batch_no=got.batch_no,
                production_date=got.production_date,
                expiry_date=got.expiry_date,
                purchase_price=line.price,
                quantity=got.quantity or line.quantity,
            )
        )
    missing = [line.drug_name for line in before.lines if line.id not in {got.line_id for got in body.lines}]
    if missing:
        raise _bad_receipt(
            "lines",
            Text(
                f"以下药品没有收货批次：{'、'.join(missing)}（未到货的请填写实到数量或作废后重开采购单）",
                f"no batch received for: {', '.join(missing)}",
            ),
        )
    try:
        draft = InboundOrderIn(
            warehouse_id=order.warehouse_id,
            supplier_id=order.supplier_id,
            handler_id=body.handler_id,
            remark=f"采购单 {order.number} 收货",
            lines=inbound_lines,
        )
    except ValueError as exc:  # the same batch of a drug twice
        raise _bad_receipt("lines", Text("同一药品的同一批号出现了两次", "a drug's batch appears twice")) from exc
    made = await inbound.create(session, masters, draft, today, by)
    now = utcnow()
    order.state, order.received_at, order.received_by, order.updated_at = State.received, now, by, now
    order.inbound_order_id = made.id
    session.add(order)
    await session.flush()
    after = await _audited(session, "receive", order_id, before)
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=order_id, action="received",
        data={
            "number": after.number,
            "warehouse_id": after.warehouse_id,
            "supplier_id": after.supplier_id,
            "inbound_order_id": made.id,
            "lines": [
                {"drug_id": line.drug_id, "quantity": line.quantity, "price": line.price} for line in after.lines
            ],
        },
    )  # fmt: skip
    return after


# --- the proposal --------------------------------------------------------------------------------

# Low stock is listed by the alert's own function, read whole in one page of this size.
ALL = 100_000


async def open_shortages(session: AsyncSession) -> dict[int, tuple[int, list[int]]]:
    """What the pharmacy's shortage requests (报缺) still wait for, by drug: {drug_id: (units not yet
    sent, request ids)}. A request names no warehouse, so every warehouse's proposal covers it."""
    waiting = ShortageLine.quantity - ShortageLine.sent
    rows = await session.execute(
        select(ShortageLine.drug_id, ShortageRequest.id, waiting)
        .join(ShortageRequest, ShortageRequest.id == ShortageLine.request_id)  # type: ignore[arg-type]
        .where(ShortageRequest.state != ShortageState.fulfilled, waiting > 0)
        .order_by(ShortageRequest.id)
    )
    wanted: dict[int, tuple[int, list[int]]] = {}
    for drug_id, request_id, units in rows.all():
        total, ids = wanted.get(drug_id, (0, []))
        wanted[drug_id] = (total + units, ids if request_id in ids else [*ids, request_id])
    return wanted


async def _last_prices(session: AsyncSession, warehouse_id: int, drug_ids: Sequence[int]) -> dict[int, Decimal]:
    b = stock.batches
    if not drug_ids:
        return {}
    rows = await session.execute(
        select(b.c.drug_id, b.c.purchase_price)
        .where(b.c.store_id == warehouse_id, b.c.drug_id.in_(drug_ids))
        .order_by(b.c.created_at, b.c.id)
    )
    return {int(drug_id): price for drug_id, price in rows.all()}  # the newest batch wins


async def proposal(
    session: AsyncSession, masters: MasterData, warehouse_id: int, today: dt.date, default_threshold: int
) -> Proposal:
    """What to buy for the warehouse: every drug under its low-stock threshold (the 库存不足 alert's
    own rule) or asked for by the pharmacy, `threshold + requested − stock` of it."""
    await masters.warehouse(warehouse_id)
    low = await low_stock(
        session, masters, PageParams(page=1, size=ALL, sort="", q=""), today, default_threshold, warehouse_id
    )
    requested = await open_shortages(session)
    wanted: dict[int, dict[str, Any]] = {
        row.drug_id: {
            "drug_id": row.drug_id,
            "drug_code": row.drug_code,
            "drug_name": row.drug_name,
            "drug_spec": row.drug_spec,
            "stock": row.quantity,
            "threshold": row.threshold,
            "low_stock": True,
        }
        for row in low.items
    }
    others = [drug_id for drug_id in requested if drug_id not in wanted]
    if others:
        # Not short by the alert's rule: their unexpired stock and threshold, to size the request.
        b = stock.batches
        usable = await session.execute(
            select(b.c.drug_id, func.sum(b.c.quantity))
            .where(b.c.store_id == warehouse_id, b.c.drug_id.in_(others), b.c.expiry_date >= today)
            .group_by(b.c.drug_id)
        )
        held = {int(d): int(q or 0) for d, q in usable.all()}
        own = await session.execute(select(Threshold).where(col(Threshold.drug_id).in_(others)))
        limits = {t.drug_id: t.threshold for t in own.scalars()}
        known = await masters.drugs(others)
        for drug_id in others:
            limit = limits.get(drug_id, default_threshold)
            drug = known.get(drug_id)
            wanted[drug_id] = {
                "drug_id": drug_id,
                "drug_code": drug.code if drug else "",
                "drug_name": drug.name if drug else "",
                "drug_spec": (drug.spec or "") if drug else "",
                "stock": held.get(drug_id, 0),
                "threshold": limit,
                "low_stock": False,
            }
    prices = await _last_prices(session, warehouse_id, list(wanted))
    lines = []
    for drug_id, line in wanted.items():
        asked, request_ids = requested.get(drug_id, (0, []))
        quantity = line["threshold"] + asked - line["stock"]
        if quantity < 1:
            continue  # the warehouse can send what was asked and stay above its threshold
        lines.append(
            ProposalLine(
                **line,
                requested=asked,
                quantity=quantity,
                price=prices.get(drug_id, Decimal("0.00")),
                shortage_request_ids=request_ids,
            )
        )
    lines.sort(key=lambda line: (-line.quantity, line.drug_id))
    return Proposal(warehouse_id=warehouse_id, lines=lines)

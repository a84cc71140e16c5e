"""Pricing (处方划价, 项目划价): prices come from dbs at pricing and are frozen on the lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.db import audit_log, change_feed, counters, idempotency_keys
from oms.orders.models import (
    NUMBER_PREFIX,
    DrugLineIn,
    ItemLineIn,
    ItemOrderIn,
    LineOut,
    LineState,
    Order,
    OrderKind,
    OrderLine,
    OrderOut,
    OrderState,
    PrescriptionIn,
)
from oms.visits import service as visits
from oms.visits.models import Visit, VisitState
from shared import audit
from shared.auth import Principal
from shared.clock import local_today, utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.paging import Page, PageParams, fetch_page
from shared.pharmacy_reports import DispensedIn
from shared.remote import ChargeItem, Drug, enabled_record
from shared.sequences import business_number
from shared.service_client import ServiceClient

DRUG = Text("药品", "drug")
CHARGE_ITEM = Text("收费项目", "charge item")


@dataclass(frozen=True)
class PricedLine:
    item_id: int
    code: str
    name: str
    spec: str
    unit: str
    unit_price: Decimal
    quantity: int
    needs_exam: bool
    usage: str | None

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


async def price_drugs(client: ServiceClient, lines: list[DrugLineIn]) -> list[PricedLine]:
    priced = []
    for index, line in enumerate(lines):
        drug = await enabled_record(
            client, "DBS", f"/api/dbs/drugs/{line.drug_id}", f"lines.{index}.drug_id", DRUG, Drug
        )
        priced.append(
            PricedLine(
                line.drug_id,
                drug.code,
                drug.name,
                drug.spec or "",
                drug.unit_name or "",
                drug.price,
                line.quantity,
                False,
                line.usage,
            )
        )
    return priced


async def price_items(client: ServiceClient, lines: list[ItemLineIn]) -> list[PricedLine]:
    priced = []
    for index, line in enumerate(lines):
        field = f"lines.{index}.charge_item_id"
        item = await enabled_record(
            client, "DBS", f"/api/dbs/charge-items/{line.charge_item_id}", field, CHARGE_ITEM, ChargeItem
        )
        if item.scope == "inpatient":
            raise Invalid(
                Text("住院项目不能在门诊划价", "An inpatient item cannot be priced in outpatient"),
                code="bad_reference",
                errors=[field_error(field, Text("仅限住院", "is inpatient only"), "bad_reference")],
            )
        priced.append(
            PricedLine(
                line.charge_item_id,
                item.code,
                item.name,
                "",
                item.unit_name or "",
                item.price,
                line.quantity,
                item.needs_exam,
                None,
            )
        )
    return priced


async def order_lines(session: AsyncSession, order_id: int) -> list[OrderLine]:
    return (await _lines(session, [order_id]))[order_id]


async def _lines(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    by_order: dict[int, list[OrderLine]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)  # type: ignore[attr-defined]
        )
        for line in rows.scalars():
            by_order[line.order_id].append(line)
    return by_order


def _out(order: Order, lines: list[OrderLine], visit_number: str) -> OrderOut:
    return OrderOut(
        id=order.id, number=order.number, visit_id=order.visit_id, visit_number=visit_number, kind=order.kind,
        state=order.state, total=order.total, lines=[LineOut.model_validate(line) for line in lines],
        created_by=order.created_by, created_at=order.created_at, paid_at=order.paid_at,
    )  # fmt: skip


async def order_out(session: AsyncSession, order: Order, visit_number: str | None = None) -> OrderOut:
    if visit_number is None:
        visit_number = (await session.get(Visit, order.visit_id)).number  # type: ignore[union-attr]
    return _out(order, await order_lines(session, order.id), visit_number)  # type: ignore[arg-type]


async def orders_out(session: AsyncSession, orders: Sequence[Order], visit: Visit | None = None) -> list[OrderOut]:
    """Any number of orders in two statements (one when they are all of `visit`): all their lines,
    all their visits' numbers."""
    lines = await _lines(session, [o.id for o in orders if o.id is not None])
    numbers = {visit.id: visit.number} if visit is not None else {}
    wanted = {o.visit_id for o in orders} - numbers.keys()
    if wanted:
        found = await session.execute(select(Visit.id, Visit.number).where(Visit.id.in_(wanted)))  # type: ignore[union-attr]
        numbers.update({visit_id: number for visit_id, number in found.all()})
    return [_out(o, lines[o.id], numbers[o.visit_id]) for o in orders if o.id is not None]


async def page(
    session: AsyncSession,
    paging: PageParams,
    visit_id: int | None = None,
    kind: OrderKind | None = None,
    state: OrderState | None = None,
) -> Page[OrderOut]:
    query = select(Order)
    for name, value in {"visit_id": visit_id, "kind": kind, "state": state}.items():
        if value is not None:
            query = query.where(getattr(Order, name) == value)
    rows, total = await fetch_page(session, query, paging, Order.id.desc())  # type: ignore[union-attr]
    return Page(items=await orders_out(session, rows), total=total, page=paging.page, size=paging.size)


async def of_visit(session: AsyncSession, visit: Visit) -> list[OrderOut]:
    rows = await session.execute(select(Order).where(Order.visit_id == visit.id).order_by(Order.id))
    return await orders_out(session, list(rows.scalars()), visit)


async def get_order(session: AsyncSession, order_id: int, *, for_update: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update()
    order = (await session.execute(query)).scalar_one_or_none()
    if order is None:
        raise NotFound(Text("处方/项目单不存在", "No such order"))
    return order


async def create_order(
    session: AsyncSession,
    visit_id: int,
    kind: OrderKind,
    priced: list[PricedLine],
    principal: Principal,
    timezone: str,
) -> OrderOut:
    visit = await visits.get_visit(session, visit_id, for_update=True)
    visits.require_open(visit)
    now = utcnow()
    order = Order(
        number=await business_number(session, counters, NUMBER_PREFIX[kind], local_today(timezone)),
        visit_id=visit_id, kind=kind, state=OrderState.priced, total=sum((p.amount for p in priced), Decimal("0.00")),
        created_by=principal.username, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(order)
    await session.flush()
    for p in priced:
        session.add(
            OrderLine(
                order_id=order.id, item_id=p.item_id, code=p.code, name=p.name, spec=p.spec, unit=p.unit,
                unit_price=p.unit_price, quantity=p.quantity, amount=p.amount, needs_exam=p.needs_exam,
                usage=p.usage, state=LineState.priced,
            )
        )  # fmt: skip
    await session.flush()
    answer = await order_out(session, order, visit.number)
    await audit.record(session, audit_log, action="create", entity="order", entity_id=order.id,
                       after=answer.model_dump(mode="json"))  # fmt: skip
    await publish_order(session, order, "priced", visit)
    return answer


async def prescribe(
    session: AsyncSession,
    client: ServiceClient,
    visit_id: int,
    body: PrescriptionIn,
    principal: Principal,
    timezone: str,
) -> OrderOut:
    """A prescription at dbs's prices of now."""
    priced = await price_drugs(client, body.lines)
    return await create_order(session, visit_id, OrderKind.drug, priced, principal, timezone)


async def order_items(
    session: AsyncSession,
    client: ServiceClient,
    visit_id: int,
    body: ItemOrderIn,
    principal: Principal,
    timezone: str,
) -> OrderOut:
    """An item order at dbs's prices of now."""
    priced = await price_items(client, body.lines)
    return await create_order(session, visit_id, OrderKind.item, priced, principal, timezone)


async def publish_order(session: AsyncSession, order: Order, action: str, visit: Visit, **data: Any) -> None:
    await publish(
        session, change_feed, counters, entity="order", entity_id=order.id, action=action,
        data={"number": order.number, "kind": order.kind, "visit_id": visit.id, "department_id": visit.department_id,
              "doctor_id": visit.doctor_id, "total": str(order.total), **data},
    )  # fmt: skip


async def _set_order_state(
    session: AsyncSession,
    order: Order,
    to: OrderState,
    lines_from: LineState,
    lines_to: LineState,
    only: list[int] | None = None,
    **values: Any,
) -> None:
    before = (await order_out(session, order)).model_dump(mode="json")
    order.state = to
    order.updated_at = utcnow()
    for name, value in values.items():
        setattr(order, name, value)
    session.add(order)
    which = update(OrderLine).where(OrderLine.order_id == order.id, OrderLine.state == lines_from)
    if only is not None:
        which = which.where(OrderLine.id.in_(only))  # type: ignore[union-attr]
    await session.execute(which.values(state=lines_to))
    await session.flush()
    after = (await order_out(session, order)).model_dump(mode="json")
    await audit.record(session, audit_log, action=to.value, entity="order", entity_id=order.id, before=before,
                       after=after)  # fmt: skip


async def cancel_order(session: AsyncSession, order_id: int) -> OrderOut:
    order = await get_order(session, order_id, for_update=True)
    if order.state != OrderState.priced:
        raise Conflict(
            Text("已缴费的处方请办理退费", "A paid order is refunded, not cancelled"), code="refund_required"
        )
    await _set_order_state(session, order, OrderState.cancelled, LineState.priced, LineState.cancelled)
    visit = await visits.get_visit(session, order.visit_id)
    await publish_order(session, order, "cancelled", visit)
    return await order_out(session, order)


async def settle_order(session: AsyncSession, order_id: int) -> Order:
    """Marks an order paid, once: the conditional update is the guard against a double payment."""
    done = await session.execute(
        update(Order).where(Order.id == order_id, Order.state == OrderState.priced)
        .values(state=OrderState.paid, paid_at=utcnow(), updated_at=utcnow())
    )  # fmt: skip
    order = await get_order(session, order_id)
    await session.refresh(order)
    if not done.rowcount:
        if order.state == OrderState.paid:
            raise Conflict(Text("该处方已缴费，不能重复缴费", "This order is already paid"), code="already_paid")
        raise Conflict(Text(f"处方状态为 {order.state}，不能缴费", f"A {order.state} order cannot be paid"),
                       code="not_payable")  # fmt: skip
    await session.execute(
        update(OrderLine).where(OrderLine.order_id == order_id, OrderLine.state == LineState.priced)
        .values(state=LineState.paid)
    )  # fmt: skip
    return order


async def mark_dispensed(session: AsyncSession, order_id: int, line_ids: list[int] | None = None) -> OrderOut:
    """The pharmacy dispensed a paid prescription (reported through pms's outbox). `line_ids` are the
    lines it handed out: a line it did not is refunded, and the notice of that claim may arrive
    after this report, so the line stays as it is until then."""
    order = await get_order(session, order_id, for_update=True)
    if order.kind != OrderKind.drug:
        raise Conflict(Text("只有处方可以发药", "Only prescriptions are dispensed"), code="not_a_prescription")
    if order.state == OrderState.dispensed:
        return await order_out(session, order)
    if order.state == OrderState.refunded:
        # A late report: every line it names was since returned at the pharmacy and then refunded
        # (the pharmacy refunds no line still with the patient), so nothing is left to mark.
        return await order_out(session, order)
    if order.state != OrderState.paid:
        raise Conflict(Text(f"处方状态为 {order.state}，不能发药", f"A {order.state} order cannot be dispensed"),
                       code="not_dispensable")  # fmt: skip
    await _set_order_state(session, order, OrderState.dispensed, LineState.paid, LineState.dispensed, line_ids)
    visit = await visits.get_visit(session, order.visit_id, for_update=True)
    await publish_order(session, order, "dispensed", visit)
    waiting = await session.execute(
        select(Order.id).where(Order.visit_id == visit.id, Order.kind == OrderKind.drug, Order.state == OrderState.paid)
    )
    if waiting.first() is None and VisitState(visit.state) == VisitState.paid:
        await visits.set_state(session, visit, VisitState.dispensed)
    return await order_out(session, order)


async def dispensed_once(db: Database, key: str | None, order_id: int, report: DispensedIn) -> Answer:
    """The pharmacy's report applied once per key, in its own transaction: its outbox sends again
    until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(200, jsonable_encoder(await mark_dispensed(session, order_id, report.line_ids)))

    payload = report.model_dump(mode="json")
    return await run_once(db, idempotency_keys, key, f"dispensed:{order_id}", payload, work)

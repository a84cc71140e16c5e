"""Dispensing: receive a paid prescription once, hand the drugs out once, report back to oms.

Every write here runs in the caller's transaction together with its audit row, its feed entry
and its outbox message, so they exist together or not at all.

The pharmacy owns each line's fate (docs/pharmacy.md, "Never both"): a line is dispensed here or
claimed here for a refund by its sender, never both — `line_fates` has one row per line, and its
unique index decides the race between a pharmacist and a cashier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import PHARMACY, audit_log, counters, feed, idempotency_keys, outbox, stock
from pms.dispensing.models import (
    DispensingLine,
    DispensingLineBatch,
    DispensingOrder,
    DispensingOrderIn,
    DispensingOrderOut,
    Fate,
    LineBatchOut,
    LineFate,
    LineOut,
    RefundClaimIn,
    RefundClaimOut,
    Source,
    State,
)
from shared import audit, failpoints
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.outbox import enqueue
from shared.paging import Page, PageParams
from shared.pharmacy_reports import ClaimedIn, DispensedIn
from shared.search import contains
from shared.sequences import business_number
from shared.stock import Movement, take

ENTITY = "dispensing_order"
NUMBER_PREFIX = "FY"  # 发药
# What `?sort=` may name (shared/paging.py); without it, newest first: the pharmacy works the latest queue.
SORTS = {name: getattr(DispensingOrder, name) for name in ("created_at", "dispensed_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)
# Scopes of the senders' keys: a key oms used elsewhere never matches one of these.
RECEIVE_SCOPE = "pms:dispensing-order:receive"
CLAIM_SCOPE = "pms:dispensing-order:refund-claim"


def _not_found(order_id: int) -> NotFound:
    return NotFound(Text(f"取药单（编号 {order_id}）不存在", f"Dispensing order {order_id} not found"))


# Who sends orders, as a person reads it in a message.
SOURCE_LABELS = {Source.oms: Text("门诊", "outpatient"), Source.hms: Text("住院", "inpatient")}


def _already_received(source: str, order_id: int) -> Conflict:
    sender = SOURCE_LABELS.get(source, Text(source, source))
    return Conflict(
        Text(f"{sender.zh}处方 {order_id} 已有取药单", f"The {sender.en} order {order_id} was already received"),
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


async def batches_of(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, list[LineBatchOut]]:
    """The batches each dispensed line was handed out from."""
    by_line: dict[int, list[LineBatchOut]] = {i: [] for i in line_ids}
    if line_ids:
        rows = await session.execute(
            select(DispensingLineBatch)
            .where(DispensingLineBatch.dispensing_line_id.in_(line_ids))  # type: ignore[attr-defined]
            .order_by(DispensingLineBatch.id)
        )
        for taken in rows.scalars():
            by_line[taken.dispensing_line_id].append(LineBatchOut.model_validate(taken))
    return by_line


def _out(
    order: DispensingOrder, lines: list[DispensingLine], batches: dict[int, list[LineBatchOut]] | None = None
) -> DispensingOrderOut:
    batches = batches or {}
    return DispensingOrderOut.model_validate(
        {
            **order.model_dump(),
            "lines": [
                LineOut.model_validate({**line.model_dump(), "batches": batches.get(line.id or 0, [])})
                for line in lines
            ],
        }
    )


async def get(session: AsyncSession, order_id: int) -> DispensingOrderOut:
    order = await session.get(DispensingOrder, order_id, populate_existing=True)
    if order is None:
        raise _not_found(order_id)
    lines = (await _lines(session, [order_id]))[order_id]
    return _out(order, lines, await batches_of(session, [line.id for line in lines if line.id is not None]))


async def page(session: AsyncSession, params: PageParams, state: State | None = None) -> Page[DispensingOrderOut]:
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
        query.order_by(*(params.order or NEWEST_FIRST), DispensingOrder.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    orders = list(rows.scalars())
    lines = await _lines(session, [o.id for o in orders if o.id is not None])
    batches = await batches_of(session, [line.id for group in lines.values() for line in group if line.id is not None])
    return Page(
        items=[_out(o, lines[o.id], batches) for o in orders if o.id is not None],
        total=total,
        page=params.page,
        size=params.size,
    )


async def feed_batches(session: AsyncSession, lines: Sequence[Any]) -> dict[int, list[dict[str, Any]]]:
    """Each line's batches (a dispensed or returned line: `id`, `batches`) as the feed carries them,
    at the batch's purchase price: statistics (tms) values what moved and keeps its own stock by
    batch from them."""
    ids = {t.batch_id for line in lines for t in line.batches}
    b = stock.batches
    prices: dict[int, Any] = {}
    if ids:
        found = await session.execute(select(b.c.id, b.c.purchase_price).where(b.c.id.in_(ids)))
        prices = {int(i): price for i, price in found}
    return {
        line.id: [{"batch_no": t.batch_no, "expiry_date": t.expiry_date, "quantity": t.quantity,
                   "purchase_price": prices[t.batch_id]} for t in line.batches]
        for line in lines
    }  # fmt: skip


def _feed_data(order: DispensingOrderOut, batches: dict[int, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """What statistics need, and nothing about the patient: the feed leaves the service. A
    dispense's lines carry the batches they were taken from (`batches`)."""
    return {
        "number": order.number,
        "source": order.source,
        "order_id": order.order_id,
        "order_number": order.order_number,
        "department_name": order.department_name,
        "state": order.state,
        "created_at": order.created_at,
        "dispensed_at": order.dispensed_at,
        "lines": [
            {"drug_id": line.drug_id, "code": line.code, "quantity": line.quantity,
             **({"batches": batches[line.id]} if batches is not None else {})}
            for line in order.lines
        ],
    }  # fmt: skip


async def receive_once(db: Database, key: str, body: DispensingOrderIn, day: dt.date) -> Answer:
    """`receive` once per key, in its own transaction: the outbox sends again until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await receive(session, body, day)).model_dump(mode="json"))

    return await run_once(db, idempotency_keys, key, RECEIVE_SCOPE, body.model_dump(mode="json"), work)


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
        state=State.pending,
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
    # Lines the sender refunded while this order was on its way arrive struck through.
    refunded = await _refunded(session, body.source, body.order_id)
    lines = [
        DispensingLine(dispensing_order_id=order.id, cancelled=line.line_id in refunded, **line.model_dump())
        for line in body.lines
    ]
    session.add_all(lines)
    if all(line.cancelled for line in lines):
        order.state = State.cancelled
        session.add(order)
    await session.flush()
    out = _out(order, lines)
    after = out.model_dump(mode="json")
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=order.id, after=after)
    await publish(session, feed, counters, entity=ENTITY, entity_id=order.id, action="received", data=_feed_data(out))
    return out


def dispensed_message(order: DispensingOrderOut) -> dict[str, Any]:
    """The report to the sender (oms or hms, the same shape): its destination, path, body and key
    (one key per order, so a resend applies once)."""
    assert order.dispensed_at is not None
    return {
        "destination": order.source.upper(),
        "path": f"/api/{order.source}/orders/{order.order_id}/dispensed",
        "body": DispensedIn(
            dispensing_number=order.number,
            dispensed_at=order.dispensed_at,
            dispensed_by=order.dispensed_by,
            line_ids=[line.line_id for line in order.lines if not line.cancelled],
        ).model_dump(mode="json"),
        "key": f"pms-dispensed-{order.id}",
    }


async def _refunded(session: AsyncSession, source: str, order_id: int) -> set[int]:
    """The sender's lines of that order whose fate is `refunded`."""
    rows = await session.execute(
        select(LineFate.line_id).where(
            LineFate.source == source,
            LineFate.order_id == order_id,
            LineFate.fate == Fate.refunded,  # type: ignore[arg-type]
        )
    )
    return set(rows.scalars())


async def _locked(session: AsyncSession, query: Any) -> DispensingOrder | None:
    return (
        await session.execute(query.with_for_update().execution_options(populate_existing=True))
    ).scalar_one_or_none()


def _order_cancelled() -> Conflict:
    return Conflict(
        Text("处方已全部退费，不能发药", "Every line was refunded: nothing to dispense"), code="order_cancelled"
    )


def _line_taken() -> Conflict:
    return Conflict(
        Text("有明细刚刚被退费或发药，请刷新后重试", "A line was just refunded or dispensed: reload and try again"),
        code="line_taken",
    )


async def dispense(session: AsyncSession, order_id: int, by: str, today: dt.date) -> DispensingOrderOut:
    """Hands out every line not refunded, and takes those lines' fate: `dispensed`, and their
    stock: first expiry first, never an expired batch (`today` is the hospital's). A shortfall
    is 409 `insufficient_stock` and hands nothing out."""
    order = await _locked(session, select(DispensingOrder).where(DispensingOrder.id == order_id))  # type: ignore[arg-type]
    if order is None:
        raise _not_found(order_id)
    if order.state == State.dispensed:
        raise _already_dispensed(order_id)
    before = await get(session, order_id)
    refunded = await _refunded(session, order.source, order.order_id)
    handed = [line for line in before.lines if line.line_id not in refunded]
    if order.state == State.cancelled or not handed:
        raise _order_cancelled()
    now = utcnow()
    session.add_all(
        LineFate(source=order.source, order_id=order.order_id, line_id=line.line_id, fate=Fate.dispensed, at=now)
        for line in handed
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        # A refund claim took one of these lines after we read the fates: it won; nothing is handed out.
        raise _line_taken() from exc
    await _take_stock(session, order.number, handed, by, today)
    if refunded:
        await session.execute(
            update(DispensingLine)
            .where(DispensingLine.dispensing_order_id == order_id, DispensingLine.line_id.in_(refunded))  # type: ignore[arg-type,attr-defined]
            .values(cancelled=True)
        )
    order.state, order.dispensed_at, order.dispensed_by, order.updated_at = State.dispensed, now, by, now
    session.add(order)
    await session.flush()
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
        session, feed, counters, entity=ENTITY, entity_id=order_id, action="dispensed",
        data=_feed_data(after, await feed_batches(session, after.lines)),
    )  # fmt: skip
    # To the sender, oms or hms: its report waits in the outbox while the sender is down.
    await enqueue(session, outbox, **dispensed_message(after))
    failpoints.reached("pms.dispense.before_commit")
    return after


async def _take_stock(session: AsyncSession, number: str, handed: list[LineOut], by: str, today: dt.date) -> None:
    """Takes each handed line's quantity off the shelf and records the batches it came from."""
    # Drug by drug in one order, so two dispensings sharing drugs take their batch rows' locks
    # in the same order and never wait on each other in a circle.
    for line in sorted(handed, key=lambda line: (line.drug_id, line.id)):
        taken = await take(
            session,
            stock,
            store_id=PHARMACY,
            drug_id=line.drug_id,
            quantity=line.quantity,
            movement=Movement.dispense,
            reference=number,
            person=by,
            today=today,
            drug_label=line.name,
        )
        session.add_all(
            DispensingLineBatch(
                dispensing_line_id=line.id,
                batch_id=t.batch_id,
                batch_no=t.batch_no,
                expiry_date=t.expiry_date,
                quantity=t.quantity,
            )
            for t in taken
        )
    await session.flush()


def claimed_message(claim: RefundClaimOut, body: RefundClaimIn) -> dict[str, Any]:
    """The notice of a claim to its sender (oms or hms, the same shape): how a refund or a credit it
    never heard the answer to gets recorded."""
    return {
        "destination": claim.source.upper(),
        "path": f"/api/{claim.source}/refunds/claimed",
        "body": ClaimedIn(claim=claim.claim, order_id=claim.order_id, **body.model_dump()).model_dump(mode="json"),
        "key": f"pms-claimed-{claim.claim}",
    }


async def claim_refund_once(db: Database, key: str, source: Source, order_id: int, body: RefundClaimIn) -> Answer:
    """`claim_refund` once per key (the claim's name), in its own transaction."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await claim_refund(session, source, order_id, key, body)).model_dump(mode="json"))

    payload = {"source": source, "order_id": order_id, **body.model_dump(mode="json")}
    answer = await run_once(db, idempotency_keys, key, CLAIM_SCOPE, payload, work)
    failpoints.reached("pms.refund_claim.after_commit")
    return answer


async def claim_refund(
    session: AsyncSession, source: Source, order_id: int, claim: str, body: RefundClaimIn
) -> RefundClaimOut:
    """The sender will refund these lines if, and only if, this commits: their fate becomes
    `refunded`, so they are never handed out. A line already dispensed (or refunded) → 409 and
    nothing changes. The order need not have arrived yet: its lines arrive struck through.
    A dispensed line the patient has returned (fate `returned`) is refunded by one conditional
    UPDATE from `returned`: never a line whose drugs are still with the patient."""
    # Not locked: the fates' unique index settles a race with a dispense, and a lock on an order
    # not yet received would be a gap lock that the order's arrival then waits on.
    found = select(DispensingOrder).where(DispensingOrder.source == source, DispensingOrder.order_id == order_id)  # type: ignore[arg-type]
    order = (await session.execute(found)).scalar_one_or_none()
    before = await get(session, order.id) if order is not None and order.id is not None else None
    if before is not None:
        unknown = sorted(set(body.line_ids) - {line.line_id for line in before.lines})
        if unknown:
            raise Invalid(
                Text("取药单中没有这些明细", "These lines are not on the order"),
                errors=[field_error("line_ids", Text(f"未知明细 {unknown}", f"unknown lines {unknown}"))],
            )
    taken = await session.execute(
        select(LineFate).where(
            LineFate.source == source,
            LineFate.order_id == order_id,
            LineFate.line_id.in_(body.line_ids),  # type: ignore[arg-type,attr-defined]
        )
    )
    current = {fate.line_id: fate.fate for fate in taken.scalars()}
    fates = set(current.values())
    if Fate.dispensed in fates:
        raise Conflict(
            Text(
                "药房已发出这些药品，不能退费；请先办理退药",
                "The pharmacy already handed these drugs out: return them first",
            ),
            code="already_dispensed",
        )
    if Fate.refunded in fates:
        raise Conflict(Text("这些明细已退费", "These lines were already refunded"), code="already_refunded")
    now = utcnow()
    returned = sorted(line_id for line_id, fate in current.items() if fate == Fate.returned)
    for line_id in returned:
        # From `returned` only: a claim racing another claim of the same returned line loses here.
        done = await session.execute(
            update(LineFate)
            .where(
                LineFate.source == source,  # type: ignore[arg-type]
                LineFate.order_id == order_id,  # type: ignore[arg-type]
                LineFate.line_id == line_id,  # type: ignore[arg-type]
                LineFate.fate == Fate.returned,  # type: ignore[arg-type]
            )
            .values(fate=Fate.refunded, claim=claim, at=now)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            raise _line_taken()
    session.add_all(
        LineFate(source=source, order_id=order_id, line_id=line_id, fate=Fate.refunded, claim=claim, at=now)
        for line_id in body.line_ids
        if line_id not in current
    )
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _line_taken() from exc
    answer = RefundClaimOut(claim=claim, source=source, order_id=order_id, line_ids=body.line_ids, claimed_at=now)
    if order is not None and before is not None:
        # Lines returned after a dispense were handed out: they stay as the dispense showed them.
        if order.state != State.dispensed:
            refunded = await _refunded(session, source, order_id)
            await session.execute(
                update(DispensingLine)
                .where(DispensingLine.dispensing_order_id == order.id, DispensingLine.line_id.in_(refunded))  # type: ignore[arg-type,attr-defined]
                .values(cancelled=True)
            )
            if all(line.line_id in refunded for line in before.lines):
                order.state = State.cancelled
        order.updated_at = now
        session.add(order)
        await session.flush()
        after = await get(session, before.id)
        await audit.record(
            session, audit_log, action="refund_claim", entity=ENTITY, entity_id=before.id,
            before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
        )  # fmt: skip
        await publish(session, feed, counters, entity=ENTITY, entity_id=before.id, action="refunded",
                      data=_feed_data(after))  # fmt: skip
    else:
        # Nothing here yet to change: the claim itself is the record.
        await audit.record(session, audit_log, action="refund_claim", entity=f"{source}_order", entity_id=order_id,
                           after=answer.model_dump(mode="json"))  # fmt: skip
    await enqueue(session, outbox, **claimed_message(answer, body))
    failpoints.reached("pms.refund_claim.before_commit")
    return answer

"""Payments (缴费) and refunds (退费). Amounts are the server's; a refund is a reversing record."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms import remote
from oms.db import audit_log, change_feed, counters, idempotency_keys, outbox
from oms.orders import service as orders
from oms.orders.models import LineState, Order, OrderKind, OrderLine, OrderState
from oms.payments.charge_types import insured_share, no_charge_type
from oms.payments.models import (
    InsuredShare,
    Payment,
    PaymentIn,
    PaymentKind,
    PaymentOut,
    RefundIn,
    RefundLine,
    SelfMethod,
)
from oms.visits import service as visits
from oms.visits.models import Visit, VisitState
from shared import audit, failpoints
from shared.auth import Principal
from shared.clock import local_day, local_today, utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.fields import CENT
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.outbox import OutboxRelay, enqueue
from shared.paging import Page, PageParams, fetch_page
from shared.pharmacy_reports import ClaimedIn
from shared.sequences import business_number
from shared.service_client import ServiceClient

# A dispensed line too: the pharmacy decides (docs/pharmacy.md, "Never both") — its claim succeeds
# only for a line the patient has returned (退药), and refuses it otherwise.
REFUNDABLE = frozenset({LineState.paid, LineState.dispensed})


async def _refunded_lines(session: AsyncSession, payment_ids: Sequence[int]) -> dict[int, list[int]]:
    by_refund: dict[int, list[int]] = {i: [] for i in payment_ids}
    if payment_ids:
        rows = await session.execute(
            select(RefundLine.refund_id, RefundLine.line_id)
            .where(RefundLine.refund_id.in_(payment_ids))  # type: ignore[attr-defined]
            .order_by(RefundLine.id)
        )
        for refund_id, line_id in rows.all():
            by_refund[refund_id].append(line_id)
    return by_refund


def _out(payment: Payment, visit: Visit, refunded_line_ids: list[int]) -> PaymentOut:
    return PaymentOut.model_validate(
        {
            **payment.model_dump(),
            "visit_number": visit.number,
            "patient_name": visit.patient_name,
            "refunded_line_ids": refunded_line_ids,
        }
    )


async def payment_out(session: AsyncSession, payment: Payment, visit: Visit | None = None) -> PaymentOut:
    visit = visit or await visits.get_visit(session, payment.visit_id)
    return _out(payment, visit, (await _refunded_lines(session, [payment.id]))[payment.id])  # type: ignore[list-item,index]


async def payments_out(
    session: AsyncSession, payments: Sequence[Payment], visit: Visit | None = None
) -> list[PaymentOut]:
    """Any number of payments in two statements (one when they are all of `visit`): all their
    refunded lines, all their visits."""
    refunded = await _refunded_lines(session, [p.id for p in payments if p.id is not None])
    by_id = {visit.id: visit} if visit is not None else {}
    wanted = {p.visit_id for p in payments} - by_id.keys()
    if wanted:
        found = await session.execute(select(Visit).where(Visit.id.in_(wanted)))  # type: ignore[union-attr]
        by_id.update({v.id: v for v in found.scalars()})
    return [_out(p, by_id[p.visit_id], refunded[p.id]) for p in payments if p.id is not None]


async def page(
    session: AsyncSession,
    paging: PageParams,
    timezone: str,
    visit_id: int | None = None,
    kind: PaymentKind | None = None,
    day: date | None = None,
) -> Page[PaymentOut]:
    """`day`: the payments taken on that day at the hospital."""
    query = select(Payment)
    for name, value in {"visit_id": visit_id, "kind": kind}.items():
        if value is not None:
            query = query.where(getattr(Payment, name) == value)
    if day is not None:
        start, end = local_day(day, timezone)
        query = query.where(Payment.created_at >= start, Payment.created_at < end)  # type: ignore[arg-type]
    rows, total = await fetch_page(session, query, paging, Payment.id.desc())  # type: ignore[union-attr]
    return Page(items=await payments_out(session, rows), total=total, page=paging.page, size=paging.size)


async def of_visit(session: AsyncSession, visit: Visit) -> list[PaymentOut]:
    rows = await session.execute(select(Payment).where(Payment.visit_id == visit.id).order_by(Payment.id))
    return await payments_out(session, list(rows.scalars()), visit)


async def get_payment(session: AsyncSession, payment_id: int) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(Text("缴费记录不存在", "No such payment"))
    return payment


def insured_part(amount: Decimal, ratio: Decimal) -> Decimal:
    """The insured share of `amount`: amount × ratio to the cent, half up."""
    return (amount * ratio).quantize(CENT, rounding=ROUND_HALF_UP)


def refund_insured_part(refunded: Decimal, insured_refunded: Decimal, amount: Decimal, ratio: Decimal) -> Decimal:
    """The insured share of a refund of `amount` (negative) when `refunded` and `insured_refunded`
    (negative sums) were refunded of the same payment before: the share of all refunded so far,
    less what earlier refunds took."""
    return -(insured_part(-(refunded + amount), ratio) + insured_refunded)


async def _reversed_shares(session: AsyncSession, original: Payment, amount: Decimal) -> dict[str, Any]:
    """A refund's split, with the ratio frozen on the payment it reverses. Computed on what has been
    refunded so far in all (not on this refund alone), so a payment refunded line by line nets to
    exactly zero in both shares: rounding each refund by itself could leave a cent behind."""
    before = await session.execute(
        select(func.coalesce(func.sum(Payment.amount), 0), func.coalesce(func.sum(Payment.insured_amount), 0))
        .where(Payment.refund_of == original.id)
    )  # fmt: skip
    refunded, insured_refunded = (Decimal(value).quantize(CENT) for value in before.one())
    # Rows from before the split carry no ratio: an old 医保 payment was all insured.
    ratio = original.insured_ratio
    if ratio is None:
        ratio = Decimal(1) if original.insured_amount else Decimal(0)
    insured = refund_insured_part(refunded, insured_refunded, amount, ratio)
    return {
        "charge_type_id": original.charge_type_id, "charge_type_name": original.charge_type_name,
        "insured_ratio": original.insured_ratio, "insured_amount": insured, "self_amount": amount - insured,
        "self_method": original.self_method,
    }  # fmt: skip


def _shares(amount: Decimal, method: str, self_method: SelfMethod, insured: InsuredShare | None) -> dict[str, Any]:
    if method != "insurance":
        return {"insured_amount": Decimal("0.00"), "self_amount": amount, "self_method": method}
    if insured is None:
        raise no_charge_type()
    share = insured_part(amount, insured.ratio)
    return {
        "charge_type_id": insured.charge_type_id, "charge_type_name": insured.charge_type_name,
        "insured_ratio": insured.ratio, "insured_amount": share, "self_amount": amount - share,
        "self_method": self_method,
    }  # fmt: skip


async def _new_payment(
    session: AsyncSession,
    visit: Visit,
    *,
    kind: PaymentKind,
    method: str,
    amount: Decimal,
    principal: Principal,
    timezone: str,
    order_id: int | None = None,
    settles: str | None = None,
    refund_of: int | None = None,
    reason: str | None = None,
    insured: InsuredShare | None = None,
    self_method: SelfMethod = SelfMethod.cash,
    cashier: str | None = None,
) -> Payment:
    if refund_of is not None:
        shares = await _reversed_shares(session, await get_payment(session, refund_of), amount)
    else:
        shares = _shares(amount, method, self_method, insured)
    payment = Payment(
        number=await business_number(session, counters, "TF" if kind == PaymentKind.refund else "SF",
                                     local_today(timezone)),
        visit_id=visit.id, order_id=order_id, kind=kind, method=method, amount=amount, settles=settles,
        refund_of=refund_of, reason=reason, cashier=cashier or principal.username, created_at=utcnow(), **shares,
    )  # fmt: skip
    session.add(payment)
    await session.flush()
    return payment


async def _record(
    session: AsyncSession, payment: Payment, visit: Visit, action: str, *, new: bool = False, category: str = ""
) -> PaymentOut:
    """`new`: a payment just taken, which no refund line can name yet (nothing to look up).
    `category`: what a refund gives back (registration, drug, item); a payment's is its kind."""
    answer = _out(payment, visit, []) if new else await payment_out(session, payment, visit)
    await audit.record(session, audit_log, action=action, entity="payment", entity_id=payment.id,
                       after=answer.model_dump(mode="json"))  # fmt: skip
    await publish(
        session, change_feed, counters, entity="payment", entity_id=payment.id, action=action,
        data={"number": payment.number, "kind": payment.kind, "method": payment.method, "amount": str(payment.amount),
              "visit_id": visit.id, "department_id": visit.department_id, "doctor_id": visit.doctor_id,
              "order_id": payment.order_id, "refund_of": payment.refund_of, "category": category or payment.kind,
              "insured_amount": str(payment.insured_amount), "cashier": payment.cashier,
              "created_at": payment.created_at.isoformat()},
    )  # fmt: skip
    return answer


def dispensing_order(order: Order, lines: list[OrderLine], visit: Visit) -> dict[str, Any]:
    """What the pharmacy needs to dispense a paid prescription."""
    return {
        "source": "oms",
        "order_id": order.id,
        "order_number": order.number,
        "visit_number": visit.number,
        "patient_name": visit.patient_name,
        "doctor_name": visit.doctor_name,
        "department_name": visit.department_name,
        "lines": [
            {"line_id": line.id, "drug_id": line.item_id, "code": line.code, "name": line.name, "spec": line.spec,
             "unit": line.unit, "quantity": line.quantity}
            for line in lines
        ],
    }  # fmt: skip


async def pay(
    session: AsyncSession, body: PaymentIn, principal: Principal, timezone: str, insured: InsuredShare | None = None
) -> PaymentOut:
    """`insured`: the charge type the caller named, as master data had it (`pay_once` asks dbs
    before the transaction: no remote call while rows are locked)."""
    if body.method == "insurance" and insured is None:
        raise no_charge_type()
    split = {"insured": insured, "self_method": body.self_method}
    visit = await visits.get_visit(session, body.visit_id, for_update=True)
    visits.require_open(visit)
    if body.order_id is None:
        visit = await visits.settle_fee(session, visit.id)  # type: ignore[arg-type]
        payment = await _new_payment(
            session, visit, kind=PaymentKind.registration, method=body.method, amount=visit.fee, principal=principal,
            timezone=timezone, settles=f"registration:{visit.id}", **split,
        )  # fmt: skip
        return await _record(session, payment, visit, "paid", new=True)
    order = await orders.get_order(session, body.order_id)
    if order.visit_id != visit.id:
        raise Invalid(
            Text("处方不属于该就诊", "The order belongs to another visit"),
            errors=[field_error("order_id", Text("不属于该就诊", "belongs to another visit"))],
        )
    order = await orders.settle_order(session, order.id)  # type: ignore[arg-type]
    payment = await _new_payment(
        session, visit, kind=PaymentKind(order.kind), method=body.method, amount=order.total, principal=principal,
        timezone=timezone, order_id=order.id, settles=f"order:{order.id}", **split,
    )  # fmt: skip
    await visits.mark_paid(session, visit)
    if order.kind == OrderKind.drug:
        # In the same transaction as the payment: the pharmacy gets it exactly when it is paid.
        lines = await orders.order_lines(session, order.id)  # type: ignore[arg-type]
        await enqueue(
            session, outbox, destination="PMS", path="/api/pms/dispensing-orders",
            body=dispensing_order(order, lines, visit), key=f"oms-dispense-{order.id}",
        )  # fmt: skip
    return await _record(session, payment, visit, "paid", new=True)


async def pay_registration(
    session: AsyncSession,
    visit: Visit,
    body: PaymentIn,
    principal: Principal,
    timezone: str,
    insured: InsuredShare | None = None,
) -> PaymentOut:
    """The fee of a visit registered in this same transaction (written with `fee_paid`, so neither
    a lock, a guard nor a re-read of it is needed: nobody else can see it yet)."""
    if body.method == "insurance" and insured is None:
        raise no_charge_type()
    payment = await _new_payment(
        session, visit, kind=PaymentKind.registration, method=body.method, amount=visit.fee, principal=principal,
        timezone=timezone, settles=f"registration:{visit.id}", insured=insured, self_method=body.self_method,
    )  # fmt: skip
    return await _record(session, payment, visit, "paid", new=True)


def _not_refundable(message: Text) -> Conflict:
    return Conflict(message, code="not_refundable")


async def _refund_registration(session: AsyncSession, payment: Payment, visit: Visit) -> Decimal:
    if VisitState(visit.state) != VisitState.registered:
        raise _not_refundable(
            Text("已就诊或已结束的挂号不能退费", "Only a registration not yet seen by the doctor can be refunded")
        )
    await visits.set_state(session, visit, VisitState.cancelled, "退号退费")
    await visits.release_later(session, visit.booking_key)
    return payment.amount


async def _refund_lines(session: AsyncSession, payment: Payment, line_ids: list[int] | None) -> list[OrderLine]:
    lines = await orders.order_lines(session, payment.order_id)  # type: ignore[arg-type]
    by_id = {line.id: line for line in lines}
    if line_ids is None:
        chosen = [line for line in lines if LineState(line.state) in REFUNDABLE]
        if not chosen:
            raise _not_refundable(Text("没有可退费的明细", "Nothing left to refund on this payment"))
        return chosen
    chosen = []
    for index, line_id in enumerate(line_ids):
        line = by_id.get(line_id)
        if line is None:
            raise Invalid(
                Text("明细不属于该笔缴费", "The line is not part of this payment"),
                errors=[field_error(f"line_ids.{index}", Text("不属于该笔缴费", "is not part of this payment"))],
            )
        if LineState(line.state) not in REFUNDABLE:
            raise _not_refundable(
                Text(f"“{line.name}”状态为 {line.state}，不能退费", f"'{line.name}' is {line.state}: not refundable")
            )
        chosen.append(line)
    return chosen


def claim_of(payment_id: int, request_key: str | None) -> str:
    """The refund's claim at the pharmacy: one per refund request, so a retry of the request (same
    Idempotency-Key) is the same claim and the pharmacy answers it again instead of refusing it."""
    digest = hashlib.sha256((request_key or uuid.uuid4().hex).encode()).hexdigest()[:32]
    return f"oms-refund-{payment_id}-{digest}"


def _settles_claim(claim: str) -> str:
    # Unique like every `settles`: the cashier's request and the pharmacy's notice may both try to
    # record the refund of one claim; the database keeps one.
    return "claim:" + hashlib.sha256(claim.encode()).hexdigest()[:32]


async def _claimed_refund(session: AsyncSession, claim: str) -> Payment | None:
    found = await session.execute(select(Payment).where(Payment.settles == _settles_claim(claim)))
    return found.scalar_one_or_none()


async def refund(
    session: AsyncSession,
    body: RefundIn,
    principal: Principal,
    timezone: str,
    client: ServiceClient,
    request_key: str | None = None,
) -> PaymentOut:
    """A reversing payment. Drug lines are refunded only once the pharmacy has claimed them
    (docs/pharmacy.md, "Never both"): it answers synchronously, and while it cannot answer the
    refund is refused (503) with nothing written here."""
    payment = await get_payment(session, body.payment_id)
    if payment.kind == PaymentKind.refund:
        raise Invalid(
            Text("退费记录不能再退费", "A refund cannot be refunded"),
            errors=[field_error("payment_id", Text("是退费记录", "is a refund"))],
        )
    # Locked before the pharmacy is asked, so the pharmacy's notice of this claim waits for us.
    visit = await visits.get_visit(session, payment.visit_id, for_update=True)
    if payment.kind == PaymentKind.registration:
        if body.line_ids:
            raise Invalid(
                Text("挂号费没有明细", "A registration fee has no lines"),
                errors=[field_error("line_ids", Text("挂号费没有明细", "a registration fee has no lines"))],
            )
        amount = await _refund_registration(session, payment, visit)
        reversal = await _new_payment(
            session, visit, kind=PaymentKind.refund, method=payment.method, amount=-amount, principal=principal,
            timezone=timezone, refund_of=payment.id, reason=body.reason,
        )  # fmt: skip
        return await _record(session, reversal, visit, "refunded", category=PaymentKind.registration)
    order = await orders.get_order(session, payment.order_id, for_update=True)  # type: ignore[arg-type]
    claim = None
    if order.kind == OrderKind.drug:
        claim = claim_of(payment.id, request_key)  # type: ignore[arg-type]
        recorded = await _claimed_refund(session, claim)
        if recorded is not None:
            return await payment_out(session, recorded, visit)  # the pharmacy's notice recorded it first
    lines = await _refund_lines(session, payment, body.line_ids)
    if claim is not None:
        claimed = {"line_ids": [line.id for line in lines], "payment_id": payment.id, "reason": body.reason,
                   "cashier": principal.username}  # fmt: skip
        await remote.claim_refund(client, order.id, claim, claimed)  # type: ignore[arg-type]
        failpoints.reached("oms.refund.after_claim")
    return await _reverse_lines(session, payment, visit, order, lines, principal, timezone, body.reason, claim)


async def record_claimed(session: AsyncSession, notice: ClaimedIn, principal: Principal, timezone: str) -> PaymentOut:
    """The pharmacy's notice that it claimed lines for a refund: records that refund unless the
    cashier's request already did (it normally has; this is how a refund whose answer was lost,
    or whose oms died after the claim, is still recorded — the drugs can no longer be handed out)."""
    payment = await get_payment(session, notice.payment_id)
    visit = await visits.get_visit(session, payment.visit_id, for_update=True)
    order = await orders.get_order(session, notice.order_id, for_update=True)
    recorded = await _claimed_refund(session, notice.claim)
    if recorded is not None:
        return await payment_out(session, recorded, visit)
    if payment.order_id != order.id:
        raise Invalid(
            Text("处方不属于该笔缴费", "The order does not belong to that payment"),
            errors=[field_error("order_id", Text("不属于该笔缴费", "does not belong to that payment"))],
        )
    lines = await _refund_lines(session, payment, notice.line_ids)
    return await _reverse_lines(session, payment, visit, order, lines, principal, timezone, notice.reason,
                                notice.claim, cashier=notice.cashier)  # fmt: skip


async def _reverse_lines(
    session: AsyncSession,
    payment: Payment,
    visit: Visit,
    order: Order,
    lines: list[OrderLine],
    principal: Principal,
    timezone: str,
    reason: str,
    claim: str | None,
    cashier: str | None = None,
) -> PaymentOut:
    amount = sum((line.amount for line in lines), Decimal("0.00"))
    reversal = await _new_payment(
        session, visit, kind=PaymentKind.refund, method=payment.method, amount=-amount, principal=principal,
        timezone=timezone, order_id=payment.order_id, refund_of=payment.id, reason=reason, cashier=cashier,
        settles=_settles_claim(claim) if claim else None,
    )  # fmt: skip
    for line in lines:
        line.state = LineState.refunded
        line.refunded_amount = line.amount
        session.add(line)
        session.add(RefundLine(refund_id=reversal.id, line_id=line.id, amount=line.amount))  # type: ignore[arg-type]
    await session.flush()
    remaining = await orders.order_lines(session, order.id)  # type: ignore[arg-type]
    if all(LineState(line.state) == LineState.refunded for line in remaining):
        order.state = OrderState.refunded
        order.updated_at = utcnow()
        session.add(order)
    return await _record(session, reversal, visit, "refunded", category=order.kind)


# --- once per Idempotency-Key, each in its own transaction ---------------------------------------

PAY_SCOPE = "POST /api/oms/payments"
REFUND_SCOPE = "POST /api/oms/refunds"
CLAIMED_SCOPE = "POST /api/oms/refunds/claimed"
Act = Callable[[AsyncSession], Awaitable[PaymentOut]]


async def _record_once(
    db: Database, relay: OutboxRelay, key: str | None, scope: str, body: BaseModel, act: Act
) -> Answer:
    """`act` once per key (a repeat gets the first answer), then wakes the outbox: what the
    payment queued (a prescription for the pharmacy, a place to free) goes now, not at the next
    poll."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, jsonable_encoder(await act(session)))

    answer = await run_once(db, idempotency_keys, key, scope, body.model_dump(mode="json"), work)
    relay.wake()
    return answer


async def pay_once(
    db: Database,
    relay: OutboxRelay,
    client: ServiceClient,
    body: PaymentIn,
    principal: Principal,
    timezone: str,
    key: str | None,
) -> Answer:
    # The charge type is asked of master data before the transaction: no remote call while rows are locked.
    insured = await insured_share(client, body)
    return await _record_once(
        db, relay, key, PAY_SCOPE, body, lambda session: pay(session, body, principal, timezone, insured)
    )


async def refund_once(
    db: Database,
    relay: OutboxRelay,
    client: ServiceClient,
    body: RefundIn,
    principal: Principal,
    timezone: str,
    key: str | None,
) -> Answer:
    return await _record_once(
        db, relay, key, REFUND_SCOPE, body, lambda session: refund(session, body, principal, timezone, client, key)
    )


async def record_claimed_once(
    db: Database, relay: OutboxRelay, notice: ClaimedIn, principal: Principal, timezone: str, key: str | None
) -> Answer:
    return await _record_once(
        db, relay, key, CLAIMED_SCOPE, notice, lambda session: record_claimed(session, notice, principal, timezone)
    )

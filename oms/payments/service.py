"""Payments (缴费) and refunds (退费). Amounts are the server's; a refund is a reversing record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.db import audit_log, change_feed, counters, outbox
from oms.orders import service as orders
from oms.orders.models import LineState, Order, OrderKind, OrderLine, OrderState
from oms.payments.models import Payment, PaymentIn, PaymentKind, PaymentOut, RefundIn, RefundLine
from oms.visits import service as visits
from oms.visits.models import Visit, VisitState
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.sequences import business_number
from shared.types import local_today, utcnow

REFUNDABLE = frozenset({LineState.paid})


async def payment_out(session: AsyncSession, payment: Payment, visit: Visit | None = None) -> PaymentOut:
    visit = visit or await visits.get_visit(session, payment.visit_id)
    refunded = await session.execute(select(RefundLine.line_id).where(RefundLine.refund_id == payment.id))
    return PaymentOut.model_validate(
        {
            **payment.model_dump(),
            "visit_number": visit.number,
            "patient_name": visit.patient_name,
            "refunded_line_ids": list(refunded.scalars()),
        }
    )


async def get_payment(session: AsyncSession, payment_id: int) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(Text("缴费记录不存在", "No such payment"))
    return payment


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
) -> Payment:
    payment = Payment(
        number=await business_number(session, counters, "TF" if kind == PaymentKind.refund else "SF",
                                     local_today(timezone)),
        visit_id=visit.id, order_id=order_id, kind=kind, method=method, amount=amount, settles=settles,
        refund_of=refund_of, reason=reason, cashier=principal.username, created_at=utcnow(),
    )  # fmt: skip
    session.add(payment)
    await session.flush()
    return payment


async def _record(session: AsyncSession, payment: Payment, visit: Visit, action: str) -> PaymentOut:
    answer = await payment_out(session, payment, visit)
    await audit.record(session, audit_log, action=action, entity="payment", entity_id=payment.id,
                       after=answer.model_dump(mode="json"))  # fmt: skip
    await publish(
        session, change_feed, counters, entity="payment", entity_id=payment.id, action=action,
        data={"number": payment.number, "kind": payment.kind, "method": payment.method, "amount": str(payment.amount),
              "visit_id": visit.id, "department_id": visit.department_id, "doctor_id": visit.doctor_id,
              "order_id": payment.order_id, "refund_of": payment.refund_of},
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


async def pay(session: AsyncSession, body: PaymentIn, principal: Principal, timezone: str) -> PaymentOut:
    visit = await visits.get_visit(session, body.visit_id, for_update=True)
    visits.require_open(visit)
    if body.order_id is None:
        visit = await visits.settle_fee(session, visit.id)  # type: ignore[arg-type]
        payment = await _new_payment(
            session, visit, kind=PaymentKind.registration, method=body.method, amount=visit.fee, principal=principal,
            timezone=timezone, settles=f"registration:{visit.id}",
        )  # fmt: skip
        return await _record(session, payment, visit, "paid")
    order = await orders.get_order(session, body.order_id)
    if order.visit_id != visit.id:
        raise Invalid(
            Text("处方不属于该就诊", "The order belongs to another visit"),
            errors=[field_error("order_id", Text("不属于该就诊", "belongs to another visit"))],
        )
    order = await orders.settle_order(session, order.id)  # type: ignore[arg-type]
    payment = await _new_payment(
        session, visit, kind=PaymentKind(order.kind), method=body.method, amount=order.total, principal=principal,
        timezone=timezone, order_id=order.id, settles=f"order:{order.id}",
    )  # fmt: skip
    await visits.mark_paid(session, visit)
    if order.kind == OrderKind.drug:
        # In the same transaction as the payment: the pharmacy gets it exactly when it is paid.
        lines = await orders.order_lines(session, order.id)  # type: ignore[arg-type]
        await enqueue(
            session, outbox, destination="PMS", path="/api/pms/dispensing-orders",
            body=dispensing_order(order, lines, visit), key=f"oms-dispense-{order.id}",
        )  # fmt: skip
    return await _record(session, payment, visit, "paid")


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


async def refund(session: AsyncSession, body: RefundIn, principal: Principal, timezone: str) -> PaymentOut:
    payment = await get_payment(session, body.payment_id)
    if payment.kind == PaymentKind.refund:
        raise Invalid(
            Text("退费记录不能再退费", "A refund cannot be refunded"),
            errors=[field_error("payment_id", Text("是退费记录", "is a refund"))],
        )
    visit = await visits.get_visit(session, payment.visit_id, for_update=True)
    lines: list[OrderLine] = []
    if payment.kind == PaymentKind.registration:
        if body.line_ids:
            raise Invalid(
                Text("挂号费没有明细", "A registration fee has no lines"),
                errors=[field_error("line_ids", Text("挂号费没有明细", "a registration fee has no lines"))],
            )
        amount = await _refund_registration(session, payment, visit)
    else:
        order = await orders.get_order(session, payment.order_id, for_update=True)  # type: ignore[arg-type]
        lines = await _refund_lines(session, payment, body.line_ids)
        amount = sum((line.amount for line in lines), Decimal("0.00"))
    reversal = await _new_payment(
        session, visit, kind=PaymentKind.refund, method=payment.method, amount=-amount, principal=principal,
        timezone=timezone, order_id=payment.order_id, refund_of=payment.id, reason=body.reason,
    )  # fmt: skip
    for line in lines:
        line.state = LineState.refunded
        line.refunded_amount = line.amount
        session.add(line)
        session.add(RefundLine(refund_id=reversal.id, line_id=line.id, amount=line.amount))  # type: ignore[arg-type]
    await session.flush()
    if lines:
        remaining = await orders.order_lines(session, order.id)  # type: ignore[arg-type]
        if all(LineState(line.state) == LineState.refunded for line in remaining):
            order.state = OrderState.refunded
            order.updated_at = utcnow()
            session.add(order)
        if order.kind == OrderKind.drug:
            # The pharmacy must not hand out what was refunded.
            await enqueue(
                session, outbox, destination="PMS", path=f"/api/pms/dispensing-orders/by-source/oms/{order.id}/cancel",
                body={"line_ids": [line.id for line in lines], "refund_number": reversal.number},
                key=f"oms-refund-{reversal.id}",
            )  # fmt: skip
    return await _record(session, reversal, visit, "refunded")


def list_payments(filters: dict[str, Any]) -> Any:
    query = select(Payment)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Payment, name) == value)
    return query

"""The printable receipt of a payment or refund, from what was frozen at payment time."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.orders.models import OrderLine
from oms.payments.models import Payment, PaymentKind, RefundLine
from oms.receipts.pdf import Receipt, ReceiptLine, render_receipt
from oms.settings import OmsSettings
from oms.visits import service as visits
from shared.clock import local_time

KIND_LABELS = {
    PaymentKind.registration: "挂号费",
    PaymentKind.drug: "药费",
    PaymentKind.item: "检查治疗费",
    PaymentKind.refund: "退费",
}
METHOD_LABELS = {"cash": "现金", "card": "银行卡", "wechat": "微信", "alipay": "支付宝", "insurance": "医保"}


async def _lines(session: AsyncSession, payment: Payment) -> list[ReceiptLine]:
    if payment.kind == PaymentKind.refund:
        query = (
            select(OrderLine).join(RefundLine, RefundLine.line_id == OrderLine.id)
            .where(RefundLine.refund_id == payment.id)
        )  # fmt: skip
    elif payment.order_id is not None:
        query = select(OrderLine).where(OrderLine.order_id == payment.order_id)
    else:
        return []
    rows = await session.execute(query.order_by(OrderLine.id))
    return [
        ReceiptLine(line.name, line.spec, line.unit, line.quantity, line.unit_price, line.amount)
        for line in rows.scalars()
    ]


def _insured_split(payment: Payment) -> dict[str, object]:
    if payment.method != "insurance":
        return {}
    return {
        "charge_type": payment.charge_type_name,
        "insured": Decimal(payment.insured_amount),
        "self_paid": Decimal(payment.self_amount),
        "self_method_label": METHOD_LABELS.get(payment.self_method, payment.self_method),
    }


async def receipt_pdf(session: AsyncSession, payment: Payment, settings: OmsSettings) -> bytes:
    visit = await visits.get_visit(session, payment.visit_id)
    lines = await _lines(session, payment)
    if not lines and payment.kind in (PaymentKind.registration, PaymentKind.refund):
        lines = [ReceiptLine(f"挂号费（{visit.registration_type_name}）", "", "次", 1, visit.fee, visit.fee)]
    original = await session.get(Payment, payment.refund_of) if payment.refund_of else None
    receipt = Receipt(
        hospital_name=settings.hospital_name,
        number=payment.number,
        visit_number=visit.number,
        patient_name=visit.patient_name,
        department_name=visit.department_name,
        doctor_name=visit.doctor_name,
        kind_label=KIND_LABELS[PaymentKind(payment.kind)],
        method_label=METHOD_LABELS.get(payment.method, payment.method),
        cashier=payment.cashier,
        paid_at_local=local_time(payment.created_at, settings.timezone),
        lines=lines,
        total=Decimal(payment.amount),
        refund_of=original.number if original else None,
        **_insured_split(payment),
    )
    return render_receipt(receipt)

"""The insured share of a payment and of its refunds: half up to the cent, and refunds that net to
exactly the payment's shares however a payment is refunded line by line."""

from __future__ import annotations

from decimal import Decimal

from oms.payments.service import insured_part, refund_insured_part


def test_the_insured_share_rounds_half_up_to_the_cent() -> None:
    assert insured_part(Decimal("19.90"), Decimal("0.55")) == Decimal("10.95")  # 10.945: not banker's 10.94
    assert insured_part(Decimal("0.05"), Decimal("0.70")) == Decimal("0.04")  # 0.035
    assert insured_part(Decimal("-0.05"), Decimal("0.70")) == Decimal("-0.04")
    assert insured_part(Decimal("10.00"), Decimal("0.00")) == Decimal("0.00")


def test_refunds_line_by_line_net_to_the_payments_shares() -> None:
    ratio = Decimal("0.70")
    lines = [Decimal("0.05")] * 7 + [Decimal("19.90"), Decimal("0.01")]
    paid = sum(lines, Decimal("0.00"))
    paid_insured = insured_part(paid, ratio)
    refunded = insured_refunded = Decimal("0.00")
    for line in lines:
        share = refund_insured_part(refunded, insured_refunded, -line, ratio)
        assert abs(share) <= line
        refunded -= line
        insured_refunded += share
    assert refunded == -paid and insured_refunded == -paid_insured
    # Rounding each refund alone would have left cents behind: that is what the running sum prevents.
    assert sum((insured_part(line, ratio) for line in lines), Decimal("0.00")) != paid_insured

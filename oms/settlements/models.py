"""A cashier's settlement (交班/日结): the records one cashier took since their last settlement,
closed and totalled once. The totals are stored as they were computed and never recomputed: a
correction made later is a new record in the cashier's next period (docs/outpatient.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import Date, String, Text
from sqlmodel import Field

from oms.db import OmsTable
from shared.types import MONEY_COLUMN, UTCDateTime

ZERO = Decimal("0.00")


class CashierSettlement(OmsTable, table=True):
    __tablename__ = "cashier_settlements"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    cashier: str = Field(sa_type=String(64), index=True)
    cashier_name: str = Field(sa_type=String(64))
    # The hospital's day the period was closed on (settings.timezone), what a supervisor asks for.
    business_date: date = Field(sa_type=Date, index=True)
    # Records created up to this moment that were still open were claimed.
    cutoff: datetime = Field(sa_type=UTCDateTime)
    payment_count: int
    refund_count: int
    net: Decimal = Field(sa_type=MONEY_COLUMN)
    # SettlementTotals as JSON, written once in the closing transaction.
    totals: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Flow(BaseModel):
    """Money in (payments), money back (refunds, negative) and what is left."""

    received: Decimal = ZERO
    refunded: Decimal = ZERO
    net: Decimal = ZERO

    def add(self, amount: Decimal) -> None:
        if amount >= 0:
            self.received += amount
        else:
            self.refunded += amount
        self.net += amount


class MethodTotal(Flow):
    # cash | card | wechat | alipay | insurance: 医保 holds insured shares, the others self shares.
    method: str


class KindTotal(Flow):
    # registration | drug | item; a refund counts under the kind of the payment it reverses.
    kind: str
    payment_count: int = 0
    refund_count: int = 0


class NumberRange(BaseModel):
    first: str
    last: str
    count: int


class SettlementTotals(BaseModel):
    payment_count: int = 0
    refund_count: int = 0
    received: Decimal = ZERO
    refunded: Decimal = ZERO
    net: Decimal = ZERO
    insured: Decimal = ZERO  # 医保统筹支付, net of refunds
    self_paid: Decimal = ZERO  # 个人支付, net of refunds
    by_method: list[MethodTotal] = []
    by_kind: list[KindTotal] = []
    payment_numbers: NumberRange | None = None  # SF…
    refund_numbers: NumberRange | None = None  # TF…
    first_at: datetime | None = None
    last_at: datetime | None = None


class SettlementOut(BaseModel):
    id: int
    number: str
    cashier: str
    cashier_name: str
    business_date: date
    cutoff: datetime
    created_at: datetime
    totals: SettlementTotals


class OpenPeriod(BaseModel):
    """A cashier's records not yet settled (a preview: nothing is stored)."""

    cashier: str
    cutoff: datetime
    totals: SettlementTotals


class SettlementDay(BaseModel):
    """A supervisor's view of one day: every cashier's settlements and the hospital's total."""

    date: date
    settlements: list[SettlementOut]
    total: SettlementTotals
    unsettled: list[OpenPeriod]

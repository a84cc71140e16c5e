"""Payments and refunds. A refund is a payment of its own with a negative amount that names the
payment it reverses: a paid record is never edited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import String
from sqlmodel import Field

from oms.db import OmsTable
from oms.settlements.models import CashierSettlement  # noqa: F401  (settlement_id's table)
from oms.visits.models import PaymentMethod, SelfMethod
from shared.types import MONEY_COLUMN, RATIO_COLUMN, UTCDateTime


class PaymentKind(StrEnum):
    registration = "registration"
    drug = "drug"
    item = "item"
    refund = "refund"


class Payment(OmsTable, table=True):
    __tablename__ = "payments"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    visit_id: int = Field(foreign_key="visits.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    kind: str = Field(sa_type=String(20), index=True)
    method: str = Field(sa_type=String(20))
    amount: Decimal = Field(sa_type=MONEY_COLUMN)
    # What a payment settles ("registration:12", "order:7"), unique: the database itself refuses
    # a second payment of the same thing. Refunds settle nothing (NULL).
    settles: str | None = Field(default=None, sa_type=String(40), unique=True)
    refund_of: int | None = Field(default=None, foreign_key="payments.id", index=True)
    reason: str | None = Field(default=None, sa_type=String(200))
    cashier: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The insured split (医保统筹 / 个人支付), frozen at payment time: the charge type's ratio may
    # change in master data tomorrow, today's receipt and totals must not. amount = insured + self.
    charge_type_id: int | None = Field(default=None)
    charge_type_name: str | None = Field(default=None, sa_type=String(50))
    insured_ratio: Decimal | None = Field(default=None, sa_type=RATIO_COLUMN)
    insured_amount: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY_COLUMN)
    self_amount: Decimal = Field(sa_type=MONEY_COLUMN)
    self_method: str = Field(sa_type=String(20))
    # The cashier's settlement (交班/日结) that closed this record; set once, never changed.
    settlement_id: int | None = Field(default=None, foreign_key="cashier_settlements.id", index=True)


class RefundLine(OmsTable, table=True):
    """Which order lines a refund reverses, and by how much."""

    __tablename__ = "refund_lines"
    id: int | None = Field(default=None, primary_key=True)
    refund_id: int = Field(foreign_key="payments.id", index=True)
    line_id: int = Field(foreign_key="order_lines.id", unique=True)
    amount: Decimal = Field(sa_type=MONEY_COLUMN)


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    visit_id: int
    visit_number: str
    patient_name: str
    order_id: int | None
    kind: PaymentKind
    method: PaymentMethod
    amount: Decimal
    charge_type_id: int | None = None
    charge_type_name: str | None = None
    insured_ratio: Decimal | None = None
    insured_amount: Decimal
    self_amount: Decimal
    self_method: SelfMethod
    settlement_id: int | None = None
    refund_of: int | None
    refunded_line_ids: list[int] = []
    reason: str | None
    cashier: str
    created_at: datetime


class InsuredShare(BaseModel):
    """The patient's charge type (费别) as master data has it now, frozen on an insured payment."""

    charge_type_id: int
    charge_type_name: str
    ratio: Decimal


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # an amount sent along is ignored: the server prices
    visit_id: int = Pydantic(ge=1)
    order_id: int | None = Pydantic(default=None, ge=1)
    method: PaymentMethod
    # With 医保: the patient's charge type, and how they pay their own share.
    charge_type_id: int | None = Pydantic(default=None, ge=1)
    self_method: SelfMethod = SelfMethod.cash


class RefundIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    payment_id: int = Pydantic(ge=1)
    line_ids: list[int] | None = Pydantic(default=None, min_length=1, max_length=50)
    reason: str = Pydantic(min_length=1, max_length=200)

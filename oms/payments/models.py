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
from oms.visits.models import PaymentMethod
from shared.types import MONEY_COLUMN, UTCDateTime


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
    refund_of: int | None
    refunded_line_ids: list[int] = []
    reason: str | None
    cashier: str
    created_at: datetime


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # an amount sent along is ignored: the server prices
    visit_id: int = Pydantic(ge=1)
    order_id: int | None = Pydantic(default=None, ge=1)
    method: PaymentMethod


class RefundIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    payment_id: int = Pydantic(ge=1)
    line_ids: list[int] | None = Pydantic(default=None, min_length=1, max_length=50)
    reason: str = Pydantic(min_length=1, max_length=200)

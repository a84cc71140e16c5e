"""Priced orders: a prescription (drug lines) or an item order (charge-item lines), prices frozen."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import String
from sqlmodel import Field

from oms.db import OmsTable
from shared.types import MONEY_COLUMN, UTCDateTime


class OrderKind(StrEnum):
    drug = "drug"
    item = "item"


class OrderState(StrEnum):
    priced = "priced"
    paid = "paid"
    cancelled = "cancelled"
    refunded = "refunded"
    dispensed = "dispensed"


class LineState(StrEnum):
    priced = "priced"
    paid = "paid"
    cancelled = "cancelled"
    refunded = "refunded"
    dispensed = "dispensed"
    examined = "examined"


NUMBER_PREFIX = {OrderKind.drug: "CF", OrderKind.item: "XM"}


class Order(OmsTable, table=True):
    __tablename__ = "orders"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    visit_id: int = Field(foreign_key="visits.id", index=True)
    kind: str = Field(sa_type=String(10))
    state: str = Field(sa_type=String(20), index=True)
    total: Decimal = Field(sa_type=MONEY_COLUMN)
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrderLine(OmsTable, table=True):
    __tablename__ = "order_lines"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    item_id: int  # the drug's or charge item's id in dbs
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(default="", sa_type=String(100))
    unit: str = Field(default="", sa_type=String(50))
    unit_price: Decimal = Field(sa_type=MONEY_COLUMN)
    quantity: int
    amount: Decimal = Field(sa_type=MONEY_COLUMN)
    needs_exam: bool = False
    usage: str | None = Field(default=None, sa_type=String(200))
    state: str = Field(sa_type=String(20), index=True)
    refunded_amount: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY_COLUMN)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    item_id: int
    code: str
    name: str
    spec: str
    unit: str
    unit_price: Decimal
    quantity: int
    amount: Decimal
    needs_exam: bool
    usage: str | None
    state: LineState
    refunded_amount: Decimal


class OrderOut(BaseModel):
    id: int
    number: str
    visit_id: int
    visit_number: str
    kind: OrderKind
    state: OrderState
    total: Decimal
    lines: list[LineOut]
    created_by: str
    created_at: datetime
    paid_at: datetime | None


class DrugLineIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")  # a price sent along is ignored
    drug_id: int = Pydantic(ge=1)
    quantity: int = Pydantic(ge=1, le=9999, strict=True)
    usage: str | None = Pydantic(default=None, max_length=200)


class ItemLineIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    charge_item_id: int = Pydantic(ge=1)
    quantity: int = Pydantic(ge=1, le=9999, strict=True)


class PrescriptionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lines: list[DrugLineIn] = Pydantic(min_length=1, max_length=50)


class ItemOrderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lines: list[ItemLineIn] = Pydantic(min_length=1, max_length=50)

"""An inbound order (入库单): drugs received from a supplier into a warehouse, batch by batch.

A draft may be changed or deleted; posting puts its lines into stock and freezes it. A posted
order is never edited: it is corrected by a reversing order, which takes the same quantities back
out of the same batches (docs/warehouse.md). Names read from dbs are frozen on the order as it was
written, so renaming a supplier or a drug later never rewrites what was received.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.fields import Money
from shared.i18n import Text
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime
from sms.db import SmsTable


class State(StrEnum):
    """An inbound order's state: draft → posted (→ reversed, by a reversing order)."""

    draft = "draft"
    posted = "posted"
    reversed = "reversed"


MAX_QUANTITY = 1_000_000


class InboundOrder(SmsTable, table=True):
    __tablename__ = "inbound_orders"
    # One reversing order per posted order, whichever request gets there first.
    __table_args__ = (UniqueConstraint("number"), UniqueConstraint("reverses_id"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    state: str = Field(default=State.draft, sa_type=String(16), index=True)
    warehouse_id: int = Field(index=True)
    warehouse_name: str = Field(sa_type=String(50))
    supplier_id: int = Field(index=True)
    supplier_name: str = Field(sa_type=String(100))
    handler_id: int
    handler_name: str = Field(sa_type=String(50))
    remark: str = Field(default="", sa_type=String(500))
    # A reversing order names the order it reverses, and why; the reversed order names its reversal.
    reverses_id: int | None = Field(default=None, foreign_key="inbound_orders.id")
    reversed_by_id: int | None = Field(default=None)
    reason: str | None = Field(default=None, sa_type=String(200))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    posted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    posted_by: str | None = Field(default=None, sa_type=String(64))


class InboundLine(SmsTable, table=True):
    __tablename__ = "inbound_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="inbound_orders.id", index=True)
    drug_id: int = Field(index=True)
    drug_code: str = Field(sa_type=String(30))
    drug_name: str = Field(sa_type=String(100))
    drug_spec: str = Field(default="", sa_type=String(100))
    batch_no: str = Field(sa_type=String(50))
    production_date: dt.date
    expiry_date: dt.date
    purchase_price: Decimal = Field(sa_type=MONEY_COLUMN)
    quantity: int
    # The stock batch the line went into when posted (shared/stock.py): what a reversal takes from.
    batch_id: int | None = Field(default=None, index=True)


# --- what a store-keeper sends -------------------------------------------------------------------


class LineIn(BaseModel):
    model_config = INPUT_CONFIG
    drug_id: int = Field(ge=1)
    batch_no: str = Field(min_length=1, max_length=50)
    production_date: dt.date
    expiry_date: dt.date
    purchase_price: Money
    quantity: int = Field(ge=1, le=MAX_QUANTITY)

    @field_validator("expiry_date")
    @classmethod
    def _after_production(cls, expiry: dt.date, info: ValidationInfo) -> dt.date:
        produced = info.data.get("production_date")
        if produced is not None and expiry <= produced:
            raise ValueError(Text("有效期必须晚于生产日期", "must be after the production date"))
        return expiry


class InboundOrderIn(BaseModel):
    model_config = INPUT_CONFIG
    warehouse_id: int = Field(ge=1)
    supplier_id: int = Field(ge=1)
    handler_id: int = Field(ge=1)
    remark: str = Field(default="", max_length=500)
    lines: list[LineIn] = Field(min_length=1, max_length=200)

    @field_validator("remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("lines")
    @classmethod
    def _distinct_batches(cls, lines: list[LineIn]) -> list[LineIn]:
        keys = [(line.drug_id, line.batch_no) for line in lines]
        if len(keys) != len(set(keys)):
            raise ValueError(Text("同一药品的同一批号出现了两次", "a drug's batch appears twice"))
        return lines


class ReverseIn(BaseModel):
    model_config = INPUT_CONFIG
    reason: str = Field(min_length=1, max_length=200)


# --- what the API answers ------------------------------------------------------------------------


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    drug_id: int
    drug_code: str
    drug_name: str
    drug_spec: str
    batch_no: str
    production_date: dt.date
    expiry_date: dt.date
    purchase_price: Decimal
    quantity: int
    amount: Decimal
    batch_id: int | None


class InboundOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    state: State
    warehouse_id: int
    warehouse_name: str
    supplier_id: int
    supplier_name: str
    handler_id: int
    handler_name: str
    remark: str
    reverses_id: int | None
    reversed_by_id: int | None
    reason: str | None
    lines: list[LineOut]
    # The order's value at purchase price.
    amount: Decimal
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    posted_at: dt.datetime | None
    posted_by: str | None

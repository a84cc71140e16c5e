"""An outbound order (出库单): drugs sent from a warehouse to the pharmacy, usually for a shortage
request. Writing one posts it: stock leaves first-expiry-first-out (or from a batch the store-keeper
chose, with the reason), and the batches it took go to pms as a delivery by the outbox.

An outbound order is never edited; names read from dbs are frozen on it as it went out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime
from sms.db import SmsTable

MAX_QUANTITY = 999999


class OutboundOrder(SmsTable, table=True):
    __tablename__ = "outbound_orders"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    warehouse_id: int = Field(index=True)
    warehouse_name: str = Field(sa_type=String(50))
    # The received request at sms (sms/shortages) and the pharmacy's own id of it, which pms is told.
    shortage_request_id: int | None = Field(default=None, foreign_key="shortage_requests.id", index=True)
    pms_shortage_request_id: int | None = None
    remark: str = Field(default="", sa_type=String(500))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))


class OutboundLine(SmsTable, table=True):
    __tablename__ = "outbound_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="outbound_orders.id", index=True)
    drug_id: int = Field(index=True)
    drug_code: str = Field(sa_type=String(30))
    drug_name: str = Field(sa_type=String(100))
    drug_spec: str = Field(default="", sa_type=String(100))
    unit: str = Field(default="", sa_type=String(50))
    quantity: int
    # A batch the store-keeper chose over first-expiry-first-out, and why.
    chosen_batch_id: int | None = None
    reason: str | None = Field(default=None, sa_type=String(200))


class OutboundBatch(SmsTable, table=True):
    """A batch a line took (one row per batch): what the pharmacy receives, batch by batch."""

    __tablename__ = "outbound_batches"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="outbound_lines.id", index=True)
    batch_id: int = Field(index=True)
    batch_no: str = Field(sa_type=String(50), index=True)
    production_date: dt.date | None = None
    expiry_date: dt.date
    supplier_id: int | None = None
    purchase_price: Decimal = Field(sa_type=MONEY_COLUMN)
    quantity: int


# --- what a store-keeper sends -------------------------------------------------------------------


class OutboundLineIn(BaseModel):
    model_config = INPUT_CONFIG
    drug_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    batch_id: int | None = Field(default=None, ge=1)
    reason: str | None = Field(default=None, max_length=200)

    @field_validator("reason", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class OutboundOrderIn(BaseModel):
    model_config = INPUT_CONFIG
    warehouse_id: int = Field(ge=1)
    shortage_request_id: int | None = Field(default=None, ge=1)
    remark: str = Field(default="", max_length=500)
    lines: list[OutboundLineIn] = Field(min_length=1, max_length=200)

    @field_validator("remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value


# --- what the API answers ------------------------------------------------------------------------


class OutboundBatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    batch_id: int
    batch_no: str
    production_date: dt.date | None
    expiry_date: dt.date
    supplier_id: int | None
    purchase_price: Decimal
    quantity: int


class OutboundLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    drug_id: int
    drug_code: str
    drug_name: str
    drug_spec: str
    unit: str
    quantity: int
    chosen_batch_id: int | None
    reason: str | None
    batches: list[OutboundBatchOut]
    amount: Decimal


class OutboundOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    warehouse_id: int
    warehouse_name: str
    shortage_request_id: int | None
    pms_shortage_request_id: int | None
    remark: str
    lines: list[OutboundLineOut]
    # Its value at purchase price, batch by batch.
    amount: Decimal
    created_at: dt.datetime
    created_by: str

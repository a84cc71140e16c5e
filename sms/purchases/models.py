"""A purchase order (采购单): what the warehouse asks a supplier for, at an expected price.

A draft is written (often from the proposal: low stock and the pharmacy's shortage requests), then
approved by someone other than its writer, then received: receiving writes a draft inbound order
(入库单) with the same lines, on which the store-keeper records what actually arrived. Names read
from dbs are frozen on the order as it was written.
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
    """draft → approved → received; cancelled while draft or approved."""

    draft = "draft"
    approved = "approved"
    received = "received"
    cancelled = "cancelled"


MAX_QUANTITY = 1_000_000


class PurchaseOrder(SmsTable, table=True):
    __tablename__ = "purchase_orders"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    state: str = Field(default=State.draft, sa_type=String(16), index=True)
    warehouse_id: int = Field(index=True)
    warehouse_name: str = Field(sa_type=String(50))
    supplier_id: int = Field(index=True)
    supplier_name: str = Field(sa_type=String(100))
    remark: str = Field(default="", sa_type=String(500))
    # The draft inbound order its receipt wrote (the inbound order has no column for the link).
    inbound_order_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    approved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, sa_type=String(64))
    received_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_by: str | None = Field(default=None, sa_type=String(64))
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, sa_type=String(64))


class PurchaseLine(SmsTable, table=True):
    __tablename__ = "purchase_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="purchase_orders.id", index=True)
    drug_id: int = Field(index=True)
    drug_code: str = Field(sa_type=String(30))
    drug_name: str = Field(sa_type=String(100))
    drug_spec: str = Field(default="", sa_type=String(100))
    quantity: int
    # The expected purchase price; the inbound order records what was actually paid.
    price: Decimal = Field(sa_type=MONEY_COLUMN)


# --- what a buyer sends --------------------------------------------------------------------------


class LineIn(BaseModel):
    model_config = INPUT_CONFIG
    drug_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    price: Money


class PurchaseOrderIn(BaseModel):
    model_config = INPUT_CONFIG
    warehouse_id: int = Field(ge=1)
    supplier_id: int = Field(ge=1)
    remark: str = Field(default="", max_length=500)
    lines: list[LineIn] = Field(min_length=1, max_length=200)

    @field_validator("remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("lines")
    @classmethod
    def _distinct_drugs(cls, lines: list[LineIn]) -> list[LineIn]:
        drugs = [line.drug_id for line in lines]
        if len(drugs) != len(set(drugs)):
            raise ValueError(Text("同一药品出现了两次，请合并为一行", "a drug appears twice: merge the lines"))
        return lines


class ReceiptLineIn(BaseModel):
    """What arrived for one line of the order: its batch, dates, and (when not all came) quantity."""

    model_config = INPUT_CONFIG
    line_id: int = Field(ge=1)
    batch_no: str = Field(min_length=1, max_length=50)
    production_date: dt.date
    expiry_date: dt.date
    # The ordered quantity when left out.
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)

    @field_validator("expiry_date")
    @classmethod
    def _after_production(cls, expiry: dt.date, info: ValidationInfo) -> dt.date:
        produced = info.data.get("production_date")
        if produced is not None and expiry <= produced:
            raise ValueError(Text("有效期必须晚于生产日期", "must be after the production date"))
        return expiry


class ReceiveIn(BaseModel):
    """A receipt: the handler (经办人) and, per line of the order, the batch or batches that came."""

    model_config = INPUT_CONFIG
    handler_id: int = Field(ge=1)
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=200)


# --- what the API answers ------------------------------------------------------------------------


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    drug_id: int
    drug_code: str
    drug_name: str
    drug_spec: str
    quantity: int
    price: Decimal
    amount: Decimal


class PurchaseOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    state: State
    warehouse_id: int
    warehouse_name: str
    supplier_id: int
    supplier_name: str
    remark: str
    inbound_order_id: int | None
    lines: list[LineOut]
    # At the expected prices.
    amount: Decimal
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    approved_at: dt.datetime | None
    approved_by: str | None
    received_at: dt.datetime | None
    received_by: str | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None


class ProposalLine(BaseModel):
    """A drug to buy: enough to cover what the pharmacy asked for and bring the warehouse back to
    its low-stock threshold (`threshold + requested − stock`)."""

    drug_id: int
    drug_code: str
    drug_name: str
    drug_spec: str
    stock: int
    threshold: int
    requested: int
    quantity: int
    # The last purchase price of the drug in this warehouse; 0.00 for a drug never bought here.
    price: Decimal
    low_stock: bool
    # The shortage requests (报缺) it covers.
    shortage_request_ids: list[int]


class Proposal(BaseModel):
    warehouse_id: int
    lines: list[ProposalLine]

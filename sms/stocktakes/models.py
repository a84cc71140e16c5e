"""A stock-take (盘点单): every batch with stock in one warehouse, its book quantity frozen at the
snapshot and the quantity the counter found on the shelf.

counting → submitted → approved (or cancelled before approval). Approval, by someone other than
the sheet's writer, posts each difference as a ledger adjustment (盘点调整). A batch that moved
after the snapshot makes its book quantity stale: approval refuses, and the warehouse counts again
on a new sheet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime
from sms.db import SmsTable


class State(StrEnum):
    counting = "counting"
    submitted = "submitted"
    approved = "approved"
    cancelled = "cancelled"


MAX_QUANTITY = 1_000_000


class Stocktake(SmsTable, table=True):
    __tablename__ = "stocktakes"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    state: str = Field(default=State.counting, sa_type=String(16), index=True)
    warehouse_id: int = Field(index=True)
    warehouse_name: str = Field(sa_type=String(50))
    remark: str = Field(default="", sa_type=String(500))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by: str | None = Field(default=None, sa_type=String(64))
    approved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, sa_type=String(64))
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, sa_type=String(64))


class StocktakeLine(SmsTable, table=True):
    __tablename__ = "stocktake_lines"
    __table_args__ = (UniqueConstraint("stocktake_id", "batch_id"),)

    id: int | None = Field(default=None, primary_key=True)
    stocktake_id: int = Field(foreign_key="stocktakes.id", index=True)
    batch_id: int = Field(index=True)
    drug_id: int
    # As dbs named the drug at the snapshot; empty when dbs no longer knew it.
    drug_name: str = Field(default="", sa_type=String(100))
    drug_spec: str = Field(default="", sa_type=String(100))
    batch_no: str = Field(sa_type=String(50))
    expiry_date: dt.date
    purchase_price: Decimal = Field(sa_type=MONEY_COLUMN)
    book_quantity: int
    counted_quantity: int | None = Field(default=None)


# --- what a counter sends ------------------------------------------------------------------------


class StocktakeIn(BaseModel):
    model_config = INPUT_CONFIG
    warehouse_id: int = Field(ge=1)
    remark: str = Field(default="", max_length=500)


class CountIn(BaseModel):
    model_config = INPUT_CONFIG
    counted_quantity: int = Field(ge=0, le=MAX_QUANTITY)


# --- what the API answers ------------------------------------------------------------------------


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    batch_id: int
    drug_id: int
    drug_name: str
    drug_spec: str
    batch_no: str
    expiry_date: dt.date
    purchase_price: Decimal
    book_quantity: int
    counted_quantity: int | None
    # counted − book: + a surplus, − a loss; None until counted.
    difference: int | None


class StocktakeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    state: State
    warehouse_id: int
    warehouse_name: str
    remark: str
    lines: list[LineOut]
    counted: int
    # Lines whose count differs from the book, and the differences' value at purchase price.
    differences: int
    difference_value: Decimal
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    submitted_by: str | None
    approved_at: dt.datetime | None
    approved_by: str | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None

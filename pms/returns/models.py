"""Returns: a patient's drugs back onto the shelf (退药), and the pharmacy's stock back to the
warehouse (退库).

A patient return is a reversing record of a dispense (the dispensed order is never changed): it
names the lines given back, whose units go into the very batches they were taken from. A
warehouse return takes units out of the pharmacy's batches and sends them, through pms's outbox,
to sms, which puts them back into stock or straight to disposal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from pms.db import PmsTable
from pms.dispensing.models import LineBatchOut
from shared.i18n import Text
from shared.records import INPUT_CONFIG, distinct
from shared.types import MONEY_COLUMN, UTCDateTime

MAX_QUANTITY = 999999


# --- 退药: a patient's drugs back into the batches they came from -------------------------------


class DrugReturn(PmsTable, table=True):
    __tablename__ = "drug_returns"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    dispensing_order_id: int = Field(foreign_key="dispensing_orders.id", index=True)
    # The dispensing order as it was, for the list: whose drugs came back.
    dispensing_number: str = Field(sa_type=String(32))
    source: str = Field(sa_type=String(16))
    order_id: int
    visit_number: str = Field(sa_type=String(32), index=True)
    patient_name: str = Field(sa_type=String(50))
    reason: str = Field(sa_type=String(200))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))


class DrugReturnLine(PmsTable, table=True):
    __tablename__ = "drug_return_lines"
    # A line comes back once: its fate moved from `dispensed` to `returned`.
    __table_args__ = (UniqueConstraint("dispensing_line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    drug_return_id: int = Field(foreign_key="drug_returns.id", index=True)
    dispensing_line_id: int = Field(foreign_key="dispensing_lines.id")
    line_id: int
    drug_id: int = Field(index=True)
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))
    quantity: int


class DrugReturnIn(BaseModel):
    """Whole lines (the sender refunds whole lines), by the sender's `line_id`."""

    model_config = INPUT_CONFIG
    line_ids: list[int] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=200)

    @field_validator("line_ids")
    @classmethod
    def _distinct(cls, line_ids: list[int]) -> list[int]:
        return distinct(line_ids, Text("同一明细出现了两次", "a line appears twice"))


class DrugReturnLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    line_id: int
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    quantity: int
    # The batches its units went back into: those it was handed out from.
    batches: list[LineBatchOut] = []


class DrugReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    dispensing_order_id: int
    dispensing_number: str
    source: str
    order_id: int
    visit_number: str
    patient_name: str
    reason: str
    lines: list[DrugReturnLineOut]
    created_at: dt.datetime
    created_by: str


# --- 退库: pharmacy stock back to the warehouse ----------------------------------------------------


class Destination(StrEnum):
    """Where the warehouse puts what the pharmacy sends back: into stock, or to disposal."""

    stock = "stock"
    disposal = "disposal"


class WarehouseReturn(PmsTable, table=True):
    __tablename__ = "warehouse_returns"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    warehouse_id: int = Field(index=True)
    destination: str = Field(sa_type=String(16))
    remark: str = Field(default="", sa_type=String(500))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))


class WarehouseReturnLine(PmsTable, table=True):
    """A batch as it left the pharmacy: what the warehouse is told, frozen."""

    __tablename__ = "warehouse_return_lines"

    id: int | None = Field(default=None, primary_key=True)
    warehouse_return_id: int = Field(foreign_key="warehouse_returns.id", index=True)
    batch_id: int = Field(index=True)
    drug_id: int
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))
    batch_no: str = Field(sa_type=String(50))
    production_date: dt.date | None = None
    expiry_date: dt.date
    supplier_id: int | None = None
    purchase_price: Decimal = Field(sa_type=MONEY_COLUMN)
    quantity: int
    reason: str = Field(sa_type=String(200))


class WarehouseReturnLineIn(BaseModel):
    model_config = INPUT_CONFIG
    batch_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    reason: str = Field(min_length=1, max_length=200)


class WarehouseReturnIn(BaseModel):
    model_config = INPUT_CONFIG
    warehouse_id: int = Field(ge=1)
    destination: Destination
    remark: str = Field(default="", max_length=500)
    lines: list[WarehouseReturnLineIn] = Field(min_length=1, max_length=200)

    @field_validator("lines")
    @classmethod
    def _distinct_batches(cls, lines: list[WarehouseReturnLineIn]) -> list[WarehouseReturnLineIn]:
        distinct([line.batch_id for line in lines], Text("同一批次出现了两次", "a batch appears twice"))
        return lines


class WarehouseReturnLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    batch_id: int
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    batch_no: str
    production_date: dt.date | None
    expiry_date: dt.date
    supplier_id: int | None
    purchase_price: Decimal
    quantity: int
    reason: str


class WarehouseReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    warehouse_id: int
    destination: Destination
    remark: str
    lines: list[WarehouseReturnLineOut]
    created_at: dt.datetime
    created_by: str

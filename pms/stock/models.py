"""Pharmacy stock (药房库存): deliveries received from the warehouse, and what the lists answer.

The batches and their ledger are shared/stock.py's tables (pms.db.stock); what is here is the
pharmacy's own record of each delivery and the drug as the warehouse described it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from pms.db import PmsTable
from shared.fields import Money
from shared.i18n import Text
from shared.records import INPUT_CONFIG
from shared.stock import Movement
from shared.types import MONEY_COLUMN, UTCDateTime

MAX_QUANTITY = 999999


class Delivery(PmsTable, table=True):
    """One outbound order of the warehouse (出库单) as the pharmacy received it (药房入库)."""

    __tablename__ = "deliveries"
    # One delivery per outbound order, whichever key it came with: twice would double the stock.
    __table_args__ = (UniqueConstraint("outbound_id"), UniqueConstraint("number"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    outbound_id: int
    outbound_number: str = Field(sa_type=String(32), index=True)
    warehouse_id: int
    shortage_request_id: int | None = None
    received_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    received_by: str = Field(sa_type=String(64))


class DeliveryLine(PmsTable, table=True):
    __tablename__ = "delivery_lines"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id", index=True)
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


class BatchDrug(PmsTable, table=True):
    """The drug of a pharmacy batch as the warehouse named it when the batch first arrived:
    the stock list and the ledger show it without asking dbs."""

    __tablename__ = "batch_drugs"

    batch_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    drug_id: int = Field(index=True)
    code: str = Field(sa_type=String(30), index=True)
    name: str = Field(sa_type=String(100), index=True)
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))


# --- what the warehouse posts --------------------------------------------------------------------


class DeliveryLineIn(BaseModel):
    model_config = INPUT_CONFIG
    drug_id: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    spec: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    batch_no: str = Field(min_length=1, max_length=50)
    production_date: dt.date | None = None
    expiry_date: dt.date
    supplier_id: int | None = Field(default=None, ge=1)
    purchase_price: Money = Decimal("0.00")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)

    @field_validator("spec", "unit", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @model_validator(mode="after")
    def _dates(self) -> DeliveryLineIn:
        if self.production_date is not None and self.expiry_date <= self.production_date:
            raise ValueError(Text("有效期必须晚于生产日期", "expiry_date must be after production_date"))
        return self


class DeliveryIn(BaseModel):
    model_config = INPUT_CONFIG
    outbound_id: int = Field(ge=1)
    outbound_number: str = Field(min_length=1, max_length=32)
    warehouse_id: int = Field(ge=1)
    shortage_request_id: int | None = Field(default=None, ge=1)
    lines: list[DeliveryLineIn] = Field(min_length=1, max_length=200)


# --- what the API answers ------------------------------------------------------------------------


class DeliveryLineOut(BaseModel):
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


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    outbound_id: int
    outbound_number: str
    warehouse_id: int
    shortage_request_id: int | None
    lines: list[DeliveryLineOut]
    received_at: dt.datetime
    received_by: str


class StockOut(BaseModel):
    """One batch on the pharmacy's shelf (药房详情)."""

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
    value: Decimal
    expired: bool
    expiring: bool


class MovementOut(BaseModel):
    """One ledger row (操作记录)."""

    id: int
    batch_id: int
    drug_id: int
    code: str
    name: str
    batch_no: str
    expiry_date: dt.date
    movement: Movement
    quantity: int
    reference: str
    person: str
    reason: str | None
    at: dt.datetime


class TraceOut(BaseModel):
    """A batch a patient received on a dispensing: read one way it is a recall list, the other a
    patient's batches."""

    dispensing_order_id: int
    dispensing_number: str
    visit_number: str
    patient_name: str
    dispensed_at: dt.datetime | None
    dispensed_by: str | None
    drug_id: int
    code: str
    name: str
    batch_id: int
    batch_no: str
    expiry_date: dt.date
    quantity: int

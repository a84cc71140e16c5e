"""A pharmacy return (药品回收) as the warehouse received it: units the pharmacy sent back (退库),
put back into stock, or straight to disposal.

pms takes the units off its shelf and sends them by its outbox; sms keeps each return once and
puts every line into this warehouse's batch of the same batch number. The drug and batch are
described as the pharmacy held them, so a batch the warehouse never had is made as it was.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.fields import Money
from shared.i18n import Text
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime
from sms.db import SmsTable

MAX_QUANTITY = 999999


class Destination(StrEnum):
    """Back into stock, or to disposal (expired drugs only ever go there)."""

    stock = "stock"
    disposal = "disposal"


class PharmacyReturn(SmsTable, table=True):
    __tablename__ = "pharmacy_returns"
    # One record per pharmacy return, whichever key it came with: twice would double the stock.
    __table_args__ = (UniqueConstraint("pms_return_id"), UniqueConstraint("number"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    # The pharmacy's id and number (TK…).
    pms_return_id: int
    pms_number: str = Field(sa_type=String(32), index=True)
    warehouse_id: int = Field(index=True)
    destination: str = Field(sa_type=String(16), index=True)
    returned_by: str = Field(sa_type=String(64))
    returned_at: dt.datetime = Field(sa_type=UTCDateTime)
    remark: str = Field(default="", sa_type=String(500))
    received_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)


class PharmacyReturnLine(SmsTable, table=True):
    __tablename__ = "pharmacy_return_lines"

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="pharmacy_returns.id", index=True)
    # The warehouse batch the units went into (and, for disposal, out of again).
    batch_id: int = Field(index=True)
    drug_id: int = Field(index=True)
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


# --- what the pharmacy posts ---------------------------------------------------------------------


class ReturnLineIn(BaseModel):
    model_config = INPUT_CONFIG
    drug_id: int = Field(ge=1)
    code: str = Field(default="", max_length=30)
    name: str = Field(default="", max_length=100)
    spec: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    batch_no: str = Field(min_length=1, max_length=50)
    production_date: dt.date | None = None
    expiry_date: dt.date
    supplier_id: int | None = Field(default=None, ge=1)
    purchase_price: Money = Decimal("0.00")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    reason: str = Field(min_length=1, max_length=200)

    @field_validator("code", "name", "spec", "unit", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @model_validator(mode="after")
    def _dates(self) -> ReturnLineIn:
        if self.production_date is not None and self.expiry_date <= self.production_date:
            raise ValueError(Text("有效期必须晚于生产日期", "expiry_date must be after production_date"))
        return self


class ReturnIn(BaseModel):
    model_config = INPUT_CONFIG
    return_id: int = Field(ge=1)
    number: str = Field(min_length=1, max_length=32)
    warehouse_id: int = Field(ge=1)
    destination: Destination
    returned_by: str = Field(min_length=1, max_length=64)
    returned_at: dt.datetime
    remark: str = Field(default="", max_length=500)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)


# --- what the API answers ------------------------------------------------------------------------


class ReturnLineOut(BaseModel):
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


class ReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    pms_return_id: int
    pms_number: str
    warehouse_id: int
    destination: Destination
    returned_by: str
    returned_at: dt.datetime
    remark: str
    lines: list[ReturnLineOut]
    received_at: dt.datetime

"""A shortage request (报缺) as the warehouse received it from the pharmacy.

pms files it and sends it by its outbox; sms keeps it once per request and marks it fulfilled as
outbound orders (sms/outbound) go out for it. The drug is named as the pharmacist saw it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime
from sms.db import SmsTable

MAX_QUANTITY = 999999


class State(StrEnum):
    """open (nothing sent for it yet) → partly_fulfilled → fulfilled, by outbound orders."""

    open = "open"
    partly_fulfilled = "partly_fulfilled"
    fulfilled = "fulfilled"


class ShortageRequest(SmsTable, table=True):
    __tablename__ = "shortage_requests"
    # One request per pharmacy request, whichever key it came with.
    __table_args__ = (UniqueConstraint("pms_request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    # The pharmacy's id and number (BQ…): what the delivery names back to pms.
    pms_request_id: int
    number: str = Field(sa_type=String(32), index=True)
    state: str = Field(default=State.open, sa_type=String(20), index=True)
    requested_by: str = Field(sa_type=String(64))
    requested_at: dt.datetime = Field(sa_type=UTCDateTime)
    remark: str = Field(default="", sa_type=String(500))
    received_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    fulfilled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ShortageLine(SmsTable, table=True):
    __tablename__ = "shortage_lines"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="shortage_requests.id", index=True)
    pms_line_id: int
    drug_id: int = Field(index=True)
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))
    quantity: int
    remark: str = Field(default="", sa_type=String(200))
    # What outbound orders for this request sent of the drug so far.
    sent: int = 0


# --- what the pharmacy's outbox posts ------------------------------------------------------------


class ShortageLineIn(BaseModel):
    model_config = INPUT_CONFIG
    line_id: int = Field(ge=1)
    drug_id: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    spec: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    remark: str = Field(default="", max_length=200)

    @field_validator("spec", "unit", "remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value


class ShortageRequestIn(BaseModel):
    model_config = INPUT_CONFIG
    request_id: int = Field(ge=1)
    number: str = Field(min_length=1, max_length=32)
    requested_by: str = Field(min_length=1, max_length=64)
    requested_at: dt.datetime
    remark: str = Field(default="", max_length=500)
    lines: list[ShortageLineIn] = Field(min_length=1, max_length=200)

    @field_validator("remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value


# --- what the API answers ------------------------------------------------------------------------


class WarehouseStock(BaseModel):
    warehouse_id: int
    quantity: int


class ShortageLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    pms_line_id: int
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    quantity: int
    remark: str
    sent: int
    # Unexpired stock of the drug now: in all warehouses, and warehouse by warehouse.
    in_stock: int = 0
    stock: list[WarehouseStock] = []


class ShortageRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    pms_request_id: int
    number: str
    state: State
    requested_by: str
    requested_at: dt.datetime
    remark: str
    lines: list[ShortageLineOut]
    received_at: dt.datetime
    updated_at: dt.datetime
    fulfilled_at: dt.datetime | None

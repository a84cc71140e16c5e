"""A shortage request (报缺): the pharmacy asks the warehouse for drugs it is short of.

Filed here, sent to sms through pms's outbox, and fulfilled by the warehouse's outbound orders as
they arrive as deliveries (pms/stock/service.py). The drug is named as the console showed it, so
the warehouse reads what the pharmacist asked for even before it looks the drug up.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from pms.db import PmsTable
from shared.i18n import Text
from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime

MAX_QUANTITY = 999999


class State(StrEnum):
    """open (filed; the message to the warehouse may still be on its way) → sent (the warehouse has
    it) → partly_fulfilled / fulfilled (deliveries arrived); cancelled only before it was sent."""

    open = "open"
    sent = "sent"
    partly_fulfilled = "partly_fulfilled"
    fulfilled = "fulfilled"
    cancelled = "cancelled"


class ShortageRequest(PmsTable, table=True):
    __tablename__ = "shortage_requests"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    # Stored: open, partly_fulfilled, fulfilled, cancelled. `sent` is read from the outbox message
    # (`message_key`): the relay, not this table, knows when the warehouse accepted it.
    state: str = Field(default=State.open, sa_type=String(20), index=True)
    message_key: str = Field(sa_type=String(100))
    remark: str = Field(default="", sa_type=String(500))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, sa_type=String(64))
    fulfilled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ShortageLine(PmsTable, table=True):
    __tablename__ = "shortage_lines"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="shortage_requests.id", index=True)
    drug_id: int = Field(index=True)
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(100))
    spec: str = Field(sa_type=String(100))
    unit: str = Field(sa_type=String(50))
    quantity: int
    remark: str = Field(default="", sa_type=String(200))
    # What deliveries naming this request brought of the drug so far.
    delivered: int = 0


# --- what a pharmacist sends ---------------------------------------------------------------------


class ShortageLineIn(BaseModel):
    model_config = INPUT_CONFIG
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
    remark: str = Field(default="", max_length=500)
    lines: list[ShortageLineIn] = Field(min_length=1, max_length=200)

    @field_validator("remark", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("lines")
    @classmethod
    def _distinct_drugs(cls, lines: list[ShortageLineIn]) -> list[ShortageLineIn]:
        drugs = [line.drug_id for line in lines]
        if len(drugs) != len(set(drugs)):
            raise ValueError(Text("同一药品出现了两次，请合并数量", "a drug appears twice: add the quantities up"))
        return lines


# --- what the API answers ------------------------------------------------------------------------


class ShortageLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    quantity: int
    remark: str
    delivered: int


class ShortageRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    state: State
    remark: str
    lines: list[ShortageLineOut]
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
    fulfilled_at: dt.datetime | None

"""A disposal (报损销毁): units of one batch taken out of the warehouse for good, with the reason.

The only way an expired batch leaves the warehouse. Names are frozen on the record as they were.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime
from sms.db import SmsTable

MAX_QUANTITY = 1_000_000


class Disposal(SmsTable, table=True):
    __tablename__ = "disposals"
    __table_args__ = (UniqueConstraint("number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32))
    warehouse_id: int = Field(index=True)
    batch_id: int = Field(index=True)
    drug_id: int = Field(index=True)
    # As dbs named the drug when it was disposed of; empty when dbs no longer knew it.
    drug_name: str = Field(default="", sa_type=String(100))
    drug_spec: str = Field(default="", sa_type=String(100))
    batch_no: str = Field(sa_type=String(50))
    expiry_date: dt.date
    purchase_price: Decimal = Field(sa_type=MONEY_COLUMN)
    quantity: int
    # Whether the batch had expired on the day it was disposed of.
    expired: bool
    reason: str = Field(sa_type=String(200))
    created_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(sa_type=String(64))


class DisposalIn(BaseModel):
    model_config = INPUT_CONFIG
    batch_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    reason: str = Field(min_length=1, max_length=200)


class DisposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    warehouse_id: int
    batch_id: int
    drug_id: int
    drug_name: str
    drug_spec: str
    batch_no: str
    expiry_date: dt.date
    purchase_price: Decimal
    quantity: int
    # The loss at purchase price.
    amount: Decimal
    expired: bool
    reason: str
    created_at: dt.datetime
    created_by: str

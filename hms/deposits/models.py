"""Deposits (预交款): money in from the patient, and the money a settlement moves."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlmodel import Field

from hms.db import HmsTable
from shared.types import MONEY_COLUMN, UTCDateTime


class DepositKind(StrEnum):
    payment = "payment"  # 预交款: in (amount > 0)
    settlement_refund = "settlement_refund"  # 结算退还余额: out (amount < 0)
    settlement_collect = "settlement_collect"  # 结算补缴: in (amount > 0)
    reversal = "reversal"  # 结算冲销: undoes the settlement's entry (the opposite amount)


class Deposit(HmsTable, table=True):
    __tablename__ = "deposits"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    kind: str = Field(sa_type=String(20))
    # Signed: what it adds to the stay's deposit_total.
    amount: Decimal = Field(sa_type=MONEY_COLUMN)
    method: str = Field(sa_type=String(20))
    remark: str | None = Field(default=None, sa_type=String(200))
    settlement_id: int | None = Field(default=None, index=True)
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class DepositOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    stay_id: int
    stay_number: str = ""
    patient_name: str = ""
    kind: DepositKind
    amount: Decimal
    method: str
    remark: str | None
    settlement_id: int | None
    created_by: str
    created_at: datetime

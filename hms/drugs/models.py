"""Drug orders (药品记账): drugs booked to a stay, sent to the pharmacy as one inpatient dispensing
order each; the lines themselves are the stay's charges (kind `drug`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, field_validator
from pydantic import Field as Pydantic
from sqlalchemy import String
from sqlmodel import Field

from hms.charges.models import ChargeOut
from hms.db import HmsTable
from shared.i18n import Text
from shared.records import INPUT_CONFIG, distinct
from shared.types import MONEY_COLUMN, UTCDateTime

# As the pharmacy dispenses a line: a whole number 1–9999.
MAX_QUANTITY = 9999


class DrugOrderState(StrEnum):
    pending = "pending"  # at the pharmacy, not yet dispensed
    dispensed = "dispensed"
    cancelled = "cancelled"  # every line credited before the pharmacy handed it out


class DrugOrder(HmsTable, table=True):
    __tablename__ = "drug_orders"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(20), unique=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    state: str = Field(sa_type=String(20), index=True)
    total: Decimal = Field(sa_type=MONEY_COLUMN)
    dispensing_number: str | None = Field(default=None, sa_type=String(32))
    dispensed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispensed_by: str | None = Field(default=None, sa_type=String(64))
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class DrugReturn(HmsTable, table=True):
    """One return or cancel (退药/撤销) of lines of a drug order, credited after the pharmacy's claim.

    `claim` is the claim's id at the pharmacy, unique: the ward's request and the pharmacy's notice
    of that claim (docs/pharmacy.md, "Never both", rule 3) may both try to record it; one row wins."""

    __tablename__ = "drug_returns"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="drug_orders.id", index=True)
    stay_id: int = Field(foreign_key="stays.id", index=True)
    claim: str = Field(sa_type=String(100), unique=True)
    # Negative: what the stay was credited.
    amount: Decimal = Field(sa_type=MONEY_COLUMN)
    reason: str = Field(sa_type=String(200))
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- what the ward and the pharmacy post ----------------------------------------------------------


class DrugLineIn(BaseModel):
    model_config = INPUT_CONFIG  # a price sent along is ignored: dbs's of now is booked
    drug_id: int = Pydantic(ge=1)
    quantity: int = Pydantic(ge=1, le=MAX_QUANTITY, strict=True)
    usage: str | None = Pydantic(default=None, max_length=200)


class DrugOrderIn(BaseModel):
    model_config = INPUT_CONFIG
    lines: list[DrugLineIn] = Pydantic(min_length=1, max_length=50)


class DrugReturnIn(BaseModel):
    """Whole lines (the pharmacy claims whole lines), named by their charge row id."""

    model_config = INPUT_CONFIG
    line_ids: list[int] = Pydantic(min_length=1, max_length=50)
    reason: str = Pydantic(min_length=1, max_length=200)

    @field_validator("line_ids")
    @classmethod
    def _distinct(cls, line_ids: list[int]) -> list[int]:
        return distinct(line_ids, Text("同一明细出现了两次", "a line appears twice"))


# --- what the API answers -------------------------------------------------------------------------


class DrugOrderOut(BaseModel):
    id: int
    number: str
    stay_id: int
    stay_number: str
    patient_name: str
    department_id: int
    state: DrugOrderState
    # As booked; `credited` (negative) is what returns and cancels took off since.
    total: Decimal
    credited: Decimal
    # The drugs as booked, each a charge row (booked → dispensed, or cancelled / returned once credited).
    lines: list[ChargeOut]
    # The credit rows of its returns and cancels, each naming the line it reverses.
    credits: list[ChargeOut]
    dispensing_number: str | None
    dispensed_at: datetime | None
    dispensed_by: str | None
    created_by: str
    created_at: datetime


class UndispensedLine(BaseModel):
    """A drug booked and not yet handed out by the pharmacy: what keeps a stay from settling."""

    id: int
    stay_id: int
    stay_number: str
    patient_name: str
    order_id: int
    order_number: str
    drug_id: int
    code: str
    name: str
    spec: str
    unit: str
    quantity: int
    amount: Decimal
    usage: str | None
    created_at: datetime

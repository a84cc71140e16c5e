"""Wards (病区) and their beds (病床): a bed has a daily price and a state, and is occupied by
exactly one stay or none.

`beds.stay_id` and `beds.state` change together, only by one conditional UPDATE (free → occupied
for an admission or a transfer, occupied → free on a transfer out or a settlement): that
UPDATE is what makes two admissions to one bed impossible (docs/inpatient.md, "One bed, one stay").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Pydantic
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from hms.db import HmsTable
from shared.fields import Money
from shared.records import INPUT_CONFIG
from shared.types import MONEY_COLUMN, UTCDateTime


class BedState(StrEnum):
    free = "free"
    occupied = "occupied"
    cleaning = "cleaning"
    closed = "closed"


# What a nurse may set by hand; `occupied` comes only with a stay.
MANUAL_STATES = frozenset({BedState.free, BedState.cleaning, BedState.closed})


class Ward(HmsTable, table=True):
    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("code"), UniqueConstraint("name"))
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(30))
    name: str = Field(sa_type=String(50))
    # An inpatient department of dbs, its name frozen as it was when the ward was saved.
    department_id: int = Field(index=True)
    department_name: str = Field(sa_type=String(50))
    location: str | None = Field(default=None, sa_type=String(100))
    enabled: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Bed(HmsTable, table=True):
    __tablename__ = "beds"
    __table_args__ = (UniqueConstraint("ward_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="wards.id", index=True)
    number: str = Field(sa_type=String(20))
    daily_price: Decimal = Field(sa_type=MONEY_COLUMN)
    state: str = Field(sa_type=String(20), index=True)
    # The stay occupying it (state occupied), else None.
    stay_id: int | None = Field(default=None, index=True)
    remark: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WardIn(BaseModel):
    model_config = INPUT_CONFIG
    code: str = Pydantic(min_length=1, max_length=30)
    name: str = Pydantic(min_length=1, max_length=50)
    department_id: int = Pydantic(ge=1)
    location: str | None = Pydantic(default=None, max_length=100)


class WardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    department_id: int
    department_name: str
    location: str | None
    enabled: bool
    beds: int = 0
    free_beds: int = 0
    created_at: datetime
    updated_at: datetime


class BedIn(BaseModel):
    model_config = INPUT_CONFIG
    ward_id: int = Pydantic(ge=1)
    number: str = Pydantic(min_length=1, max_length=20)
    daily_price: Money
    remark: str | None = Pydantic(default=None, max_length=200)


class BedUpdate(BaseModel):
    model_config = INPUT_CONFIG
    number: str = Pydantic(min_length=1, max_length=20)
    daily_price: Money
    remark: str | None = Pydantic(default=None, max_length=200)


class BedStateIn(BaseModel):
    model_config = INPUT_CONFIG
    state: BedState
    remark: str | None = Pydantic(default=None, max_length=200)


class Occupant(BaseModel):
    """Who is in a bed, as the bed board shows it (no ID card or phone)."""

    stay_id: int
    stay_number: str
    patient_name: str
    sex: str | None
    age: int | None
    doctor_name: str
    diagnosis: str
    admitted_at: datetime
    days: int
    balance: Decimal
    low_balance: bool


class BedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ward_id: int
    ward_name: str = ""
    department_id: int = 0
    department_name: str = ""
    number: str
    daily_price: Decimal
    state: BedState
    stay_id: int | None
    remark: str | None
    occupant: Occupant | None = None
    updated_at: datetime


class BoardWard(BaseModel):
    """One ward of the bed board: its beds, each with its occupant."""

    id: int
    code: str
    name: str
    department_id: int
    department_name: str
    counts: dict[BedState, int]
    beds: list[BedOut]

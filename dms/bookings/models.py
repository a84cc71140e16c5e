"""A booking: one place on a schedule, keyed by the caller's own key so a repeated call books once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Rule
from sqlalchemy import String
from sqlmodel import Field

from dms.calendar import Shift
from dms.db import DmsTable
from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime


class BookingStatus(StrEnum):
    booked = "booked"
    released = "released"


KEY_PATTERN = r"^[A-Za-z0-9._:\-]+$"


class Booking(DmsTable, table=True):
    __tablename__ = "bookings"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    schedule_id: int = Field(foreign_key="schedules.id", index=True)
    seq: int
    status: str = Field(default=BookingStatus.booked, sa_type=String(10), index=True)
    visit_number: str | None = Field(default=None, max_length=32, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    released_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class BookingIn(BaseModel):
    """The caller's key for the booking goes in the `Idempotency-Key` header, as every idempotent
    call's does."""

    model_config = INPUT_CONFIG
    schedule_id: int = Rule(ge=1)
    visit_number: str | None = Rule(default=None, max_length=32)
    # Conditions of the caller's own (a registration desk books today only, in its departments):
    # checked before a place is taken, so a refused request books nothing.
    date: dt.date | None = None
    department_ids: list[int] | None = Rule(default=None, max_length=1000)


class BookingOut(BaseModel):
    """The booking, with the schedule it holds a place on (date, shift, doctor) for follow-up calls."""

    model_config = ConfigDict(from_attributes=True)
    key: str
    schedule_id: int
    seq: int
    status: BookingStatus
    visit_number: str | None
    created_at: dt.datetime
    released_at: dt.datetime | None
    date: dt.date
    shift: Shift
    doctor_id: int
    doctor_name: str


class BookedPlace(BookingOut):
    """A booking as its maker needs it to record a registration, in one answer: the schedule's
    department and registration type, and the fee that type costs now (dbs)."""

    department_id: int
    department_name: str
    registration_type_id: int
    registration_type_name: str
    fee: Decimal

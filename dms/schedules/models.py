"""A schedule (排班): one doctor's shift on one date, with its quota and live bookings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, computed_field
from pydantic import Field as Rule
from sqlalchemy import Date, String, UniqueConstraint
from sqlmodel import Field

from dms.calendar import Shift
from dms.db import DmsTable
from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime

MAX_QUOTA = 500


class ScheduleStatus(StrEnum):
    open = "open"
    closed = "closed"  # by a leave


class Schedule(DmsTable, table=True):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("doctor_id", "date", "shift"),)

    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(index=True)
    doctor_name: str = Field(max_length=50)
    department_id: int = Field(index=True)
    department_name: str = Field(max_length=50)
    date: dt.date = Field(sa_type=Date, index=True)
    shift: str = Field(sa_type=String(10))
    registration_type_id: int = Field(index=True)
    registration_type_name: str = Field(max_length=50)
    quota: int
    # Live bookings; changed only by single conditional UPDATEs (never read-modify-write).
    booked: int = Field(default=0)
    # The last queue number handed out: it only grows, so a released place never repeats a number.
    last_seq: int = Field(default=0)
    status: str = Field(default=ScheduleStatus.open, sa_type=String(10), index=True)
    leave_id: int | None = Field(default=None, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)


class ScheduleIn(BaseModel):
    model_config = INPUT_CONFIG
    doctor_id: int = Rule(ge=1)
    date: dt.date
    shift: Shift
    registration_type_id: int = Rule(ge=1)
    quota: int = Rule(ge=1, le=MAX_QUOTA)


class ScheduleUpdate(BaseModel):
    model_config = INPUT_CONFIG
    registration_type_id: int = Rule(ge=1)
    quota: int = Rule(ge=1, le=MAX_QUOTA)


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    doctor_id: int
    doctor_name: str
    department_id: int
    department_name: str
    date: dt.date
    shift: Shift
    registration_type_id: int
    registration_type_name: str
    quota: int
    booked: int
    status: ScheduleStatus
    leave_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def free(self) -> int:
        return max(self.quota - self.booked, 0)


class ScheduleList(BaseModel):
    items: list[ScheduleOut]


class CopyWeekIn(BaseModel):
    model_config = INPUT_CONFIG
    from_monday: dt.date
    to_monday: dt.date
    department_id: int | None = Rule(default=None, ge=1)


class CopyWeekOut(BaseModel):
    created: int
    skipped: int

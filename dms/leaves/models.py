"""Leave (请假): a doctor away from one half day to another; their schedules there close."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Rule
from sqlalchemy import Date, String
from sqlmodel import Field

from dms.bookings.models import BookingOut
from dms.calendar import Shift
from dms.db import DmsTable
from dms.schedules.models import ScheduleOut
from shared.records import INPUT_CONFIG
from shared.types import UTCDateTime


class LeaveStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"


class Leave(DmsTable, table=True):
    __tablename__ = "leaves"

    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(index=True)
    doctor_name: str = Field(max_length=50)
    start_date: dt.date = Field(sa_type=Date, index=True)
    start_shift: str = Field(sa_type=String(10))
    end_date: dt.date = Field(sa_type=Date, index=True)
    end_shift: str = Field(sa_type=String(10))
    reason: str = Field(max_length=200)
    status: str = Field(default=LeaveStatus.active, sa_type=String(10), index=True)
    closed_schedules: int = Field(default=0)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    cancelled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeaveIn(BaseModel):
    model_config = INPUT_CONFIG
    doctor_id: int = Rule(ge=1)
    start_date: dt.date
    start_shift: Shift
    end_date: dt.date
    end_shift: Shift
    reason: str = Rule(min_length=1, max_length=200)


class LeaveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    doctor_id: int
    doctor_name: str
    start_date: dt.date
    start_shift: Shift
    end_date: dt.date
    end_shift: Shift
    reason: str
    status: LeaveStatus
    closed_schedules: int
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None


class LeaveDetail(BaseModel):
    """The leave, the schedules it closed, and the live bookings on them (patients to call)."""

    leave: LeaveOut
    closed: list[ScheduleOut]
    affected_bookings: list[BookingOut]

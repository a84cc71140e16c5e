"""Visit records (出诊记录): which shifts each doctor sat on each day, and how many patients booked.

A shift closed by leave was not sat, so it is not a visit; places are counted from the live
bookings themselves, not from the schedule's counter.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dms.bookings.models import Booking, BookingStatus
from dms.calendar import Shift
from dms.schedules.models import Schedule, ScheduleStatus
from dms.schedules.service import ROSTER_ORDER, check_range


class VisitRecord(BaseModel):
    date: dt.date
    doctor_id: int
    doctor_name: str
    department_id: int
    department_name: str
    shifts: list[Shift]
    quota: int
    booked: int


class VisitRecordList(BaseModel):
    items: list[VisitRecord]


async def visit_records(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    doctor_id: int | None = None,
    department_id: int | None = None,
) -> list[VisitRecord]:
    check_range(date_from, date_to)
    live = (
        select(Booking.schedule_id, func.count().label("booked"))
        .where(Booking.status == BookingStatus.booked)
        .group_by(Booking.schedule_id)
        .subquery()
    )
    query = (
        select(Schedule, func.coalesce(live.c.booked, 0))
        .outerjoin(live, live.c.schedule_id == Schedule.id)
        .where(Schedule.status == ScheduleStatus.open, Schedule.date >= date_from, Schedule.date <= date_to)
    )
    if doctor_id is not None:
        query = query.where(Schedule.doctor_id == doctor_id)
    if department_id is not None:
        query = query.where(Schedule.department_id == department_id)
    records: dict[tuple[dt.date, int], VisitRecord] = {}
    for schedule, booked in (await session.execute(query.order_by(*ROSTER_ORDER))).all():
        record = records.get((schedule.date, schedule.doctor_id))
        if record is None:
            record = records[(schedule.date, schedule.doctor_id)] = VisitRecord(
                date=schedule.date,
                doctor_id=schedule.doctor_id,
                doctor_name=schedule.doctor_name,
                department_id=schedule.department_id,
                department_name=schedule.department_name,
                shifts=[],
                quota=0,
                booked=0,
            )
        record.shifts.append(schedule.shift)  # type: ignore[arg-type]
        record.quota += schedule.quota
        record.booked += int(booked)
    return sorted(records.values(), key=lambda r: (r.date, r.department_id, r.doctor_id))

"""Leave closes the doctor's schedules in its range; the bookings already there stay, to be called.

A schedule remembers the leave that closed it (`leave_id`), so cancelling reopens exactly those.
Active leaves of one doctor never overlap: which leave a schedule belongs to is then never in doubt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dms.bookings import service as bookings
from dms.calendar import AFTERNOON, MORNING, half_day
from dms.db import audit_log
from dms.leaves.models import Leave, LeaveDetail, LeaveIn, LeaveOut, LeaveStatus
from dms.masterdata import MasterData
from dms.schedules.models import Schedule, ScheduleOut, ScheduleStatus
from dms.schedules.service import ROSTER_ORDER
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams

ENTITY = "leave"


def row_dict(leave: Leave) -> dict[str, Any]:
    return {column.name: getattr(leave, column.name) for column in Leave.__table__.columns}


def _in_range(start_date: dt.date, start_shift: str, end_date: dt.date, end_shift: str) -> Any:
    """Schedules from the start half day to the end half day, both included."""
    after_start = (
        Schedule.date >= start_date
        if start_shift == MORNING
        else or_(Schedule.date > start_date, and_(Schedule.date == start_date, Schedule.shift == AFTERNOON))
    )
    before_end = (
        Schedule.date <= end_date
        if end_shift == AFTERNOON
        else or_(Schedule.date < end_date, and_(Schedule.date == end_date, Schedule.shift == MORNING))
    )
    return and_(after_start, before_end)


def covers(leave: Leave, day: dt.date, shift: str) -> bool:
    point = half_day(day, shift)
    return half_day(leave.start_date, leave.start_shift) <= point <= half_day(leave.end_date, leave.end_shift)


async def active_leave_covering(session: AsyncSession, doctor_id: int, day: dt.date, shift: str) -> int | None:
    query = select(Leave).where(
        Leave.doctor_id == doctor_id, Leave.status == LeaveStatus.active, Leave.start_date <= day, Leave.end_date >= day
    )
    for leave in (await session.execute(query)).scalars():
        if covers(leave, day, shift):
            return leave.id
    return None


def _check_dates(data: LeaveIn, today: dt.date) -> None:
    errors = []
    if half_day(data.end_date, data.end_shift) < half_day(data.start_date, data.start_shift):
        errors.append(field_error("end_date", Text("不能早于开始时间", "must not be before the start"), "before_start"))
    elif data.end_date < today:
        errors.append(field_error("end_date", Text("请假已经结束", "the leave would be over already"), "date_in_past"))
    if errors:
        raise Invalid(Text("请假时间有误", "The leave's dates are wrong"), errors=errors)


async def _check_no_overlap(session: AsyncSession, data: LeaveIn) -> None:
    query = select(Leave).where(
        Leave.doctor_id == data.doctor_id,
        Leave.status == LeaveStatus.active,
        Leave.start_date <= data.end_date,
        Leave.end_date >= data.start_date,
    )
    start, end = half_day(data.start_date, data.start_shift), half_day(data.end_date, data.end_shift)
    for leave in (await session.execute(query)).scalars():
        if half_day(leave.start_date, leave.start_shift) <= end and start <= half_day(leave.end_date, leave.end_shift):
            raise Conflict(
                Text(
                    f"与该医生已有的请假（编号 {leave.id}）时间重叠",
                    f"Overlaps the doctor's leave {leave.id}; cancel or change that one first",
                ),
                code="leave_overlaps",
                errors=[field_error("start_date", Text("时间重叠", "overlaps another leave"), "overlap")],
            )


async def detail(session: AsyncSession, leave: Leave) -> LeaveDetail:
    closed = (
        (await session.execute(select(Schedule).where(Schedule.leave_id == leave.id).order_by(*ROSTER_ORDER)))
        .scalars()
        .all()
    )
    return LeaveDetail(
        leave=LeaveOut.model_validate(leave),
        closed=[ScheduleOut.model_validate(s) for s in closed],
        affected_bookings=await bookings.booked_on(session, [s.id for s in closed if s.id is not None]),
    )


async def create(session: AsyncSession, masters: MasterData, data: LeaveIn, today: dt.date) -> LeaveDetail:
    _check_dates(data, today)
    # A doctor disabled since may still have schedules to close.
    doctor = await masters.doctor(data.doctor_id, allow_disabled=True)
    await _check_no_overlap(session, data)
    now = utcnow()
    leave = Leave(
        doctor_id=doctor.id,
        doctor_name=doctor.name,
        start_date=data.start_date,
        start_shift=data.start_shift,
        end_date=data.end_date,
        end_shift=data.end_shift,
        reason=data.reason,
        status=LeaveStatus.active,
        closed_schedules=0,
        created_at=now,
        updated_at=now,
    )
    session.add(leave)
    await session.flush()
    closing = await session.execute(
        update(Schedule)
        .where(
            Schedule.doctor_id == doctor.id,
            Schedule.status == ScheduleStatus.open,
            _in_range(data.start_date, data.start_shift, data.end_date, data.end_shift),
        )
        .values(status=ScheduleStatus.closed, leave_id=leave.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    leave.closed_schedules = closing.rowcount
    await session.flush()
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=leave.id, after=row_dict(leave))
    return await detail(session, leave)


async def get(session: AsyncSession, leave_id: int) -> Leave:
    leave = await session.get(Leave, leave_id)
    if leave is None:
        raise NotFound(Text(f"请假记录（编号 {leave_id}）不存在", f"Leave {leave_id} not found"))
    return leave


async def cancel(session: AsyncSession, leave_id: int) -> LeaveDetail:
    leave = await get(session, leave_id)
    if leave.status == LeaveStatus.cancelled:
        return await detail(session, leave)
    before = row_dict(leave)
    now = utcnow()
    flipped = await session.execute(
        update(Leave)
        .where(Leave.id == leave_id, Leave.status == LeaveStatus.active)
        .values(status=LeaveStatus.cancelled, cancelled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount == 1:
        await session.execute(
            update(Schedule)
            .where(Schedule.leave_id == leave_id)
            .values(status=ScheduleStatus.open, leave_id=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(leave)
    if flipped.rowcount == 1:
        await audit.record(
            session, audit_log, action="cancel", entity=ENTITY, entity_id=leave_id, before=before, after=row_dict(leave)
        )
    return await detail(session, leave)


async def search(
    session: AsyncSession, params: PageParams, *, doctor_id: int | None = None, status: LeaveStatus | None = None
) -> Page[LeaveOut]:
    query = select(Leave)
    if doctor_id is not None:
        query = query.where(Leave.doctor_id == doctor_id)
    if status is not None:
        query = query.where(Leave.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Leave.start_date.desc(), Leave.id.desc()).offset(params.offset).limit(params.size)
    )
    return Page(
        items=[LeaveOut.model_validate(r) for r in rows.scalars()], total=total, page=params.page, size=params.size
    )

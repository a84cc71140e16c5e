"""The roster's rules: one schedule per doctor, date and shift; quota never below the booked places."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dms.calendar import SHIFT_ORDER
from dms.db import audit_log
from dms.masterdata import Doctor, MasterData, RegistrationType
from dms.schedules.models import CopyWeekIn, CopyWeekOut, Schedule, ScheduleIn, ScheduleStatus, ScheduleUpdate
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text

ENTITY = "schedule"
# A roster listing is not paged: a wider range than this is a mistake, not a week to show.
MAX_LIST_DAYS = 93

ROSTER_ORDER = (
    Schedule.date,
    case(SHIFT_ORDER, value=Schedule.shift),
    Schedule.department_id,
    Schedule.doctor_id,
)


def row_dict(schedule: Schedule) -> dict[str, Any]:
    return {column.name: getattr(schedule, column.name) for column in Schedule.__table__.columns}


def _not_found(schedule_id: int) -> NotFound:
    return NotFound(Text(f"排班（编号 {schedule_id}）不存在", f"Schedule {schedule_id} not found"))


async def get(session: AsyncSession, schedule_id: int) -> Schedule:
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None:
        raise _not_found(schedule_id)
    return schedule


def check_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from and date_to and date_to < date_from:
        raise Invalid(
            Text("结束日期早于开始日期", "date_to is before date_from"),
            errors=[field_error("date_to", Text("不能早于开始日期", "must not be before date_from"))],
        )
    if date_from and date_to and (date_to - date_from).days >= MAX_LIST_DAYS:
        raise Invalid(
            Text(f"一次最多查询 {MAX_LIST_DAYS} 天", f"At most {MAX_LIST_DAYS} days at a time"),
            errors=[field_error("date_to", Text("范围过大", "range too wide"))],
        )


async def roster(
    session: AsyncSession,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    department_id: int | None = None,
    doctor_id: int | None = None,
    status: ScheduleStatus | None = None,
) -> Sequence[Schedule]:
    check_range(date_from, date_to)
    query = select(Schedule)
    if date_from:
        query = query.where(Schedule.date >= date_from)
    if date_to:
        query = query.where(Schedule.date <= date_to)
    for column, value in (
        (Schedule.department_id, department_id),
        (Schedule.doctor_id, doctor_id),
        (Schedule.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return (await session.execute(query.order_by(*ROSTER_ORDER))).scalars().all()


async def available(
    session: AsyncSession, day: dt.date, department_id: int | None, registration_type_id: int | None
) -> Sequence[Schedule]:
    query = select(Schedule).where(
        Schedule.date == day, Schedule.status == ScheduleStatus.open, Schedule.booked < Schedule.quota
    )
    if department_id is not None:
        query = query.where(Schedule.department_id == department_id)
    if registration_type_id is not None:
        query = query.where(Schedule.registration_type_id == registration_type_id)
    return (await session.execute(query.order_by(*ROSTER_ORDER))).scalars().all()


async def _exists(session: AsyncSession, doctor_id: int, day: dt.date, shift: str) -> bool:
    query = select(Schedule.id).where(Schedule.doctor_id == doctor_id, Schedule.date == day, Schedule.shift == shift)
    return (await session.execute(query.limit(1))).first() is not None


def _exists_error() -> Conflict:
    return Conflict(
        Text("该医生在这一天的这个班次已有排班", "This doctor already has a schedule for that date and shift"),
        code="schedule_exists",
        errors=[
            field_error(name, Text("已有排班", "already scheduled"), "duplicate")
            for name in ("doctor_id", "date", "shift")
        ],
    )


async def covering_leave_id(session: AsyncSession, doctor_id: int, day: dt.date, shift: str) -> int | None:
    """The active leave of the doctor covering that half day, if any: a new schedule there starts closed."""
    from dms.leaves.service import active_leave_covering  # leaves import schedules; break the cycle here

    return await active_leave_covering(session, doctor_id, day, shift)


def _new_schedule(
    doctor: Doctor, kind: RegistrationType | None, day: dt.date, shift: str, quota: int, leave_id: int | None
) -> Schedule:
    now = utcnow()
    return Schedule(
        doctor_id=doctor.id,
        doctor_name=doctor.name,
        department_id=doctor.department_id,
        department_name=doctor.department_name,
        date=day,
        shift=shift,
        registration_type_id=kind.id if kind else doctor.registration_type_id,
        registration_type_name=kind.name if kind else doctor.registration_type_name,
        quota=quota,
        booked=0,
        last_seq=0,
        status=ScheduleStatus.closed if leave_id else ScheduleStatus.open,
        leave_id=leave_id,
        created_at=now,
        updated_at=now,
    )


async def create(session: AsyncSession, masters: MasterData, data: ScheduleIn, today: dt.date) -> Schedule:
    if data.date < today:
        raise Invalid(
            Text("不能为过去的日期排班", "Cannot schedule a date in the past"),
            errors=[field_error("date", Text("不能早于今天", "must not be before today"), "date_in_past")],
        )
    errors: list[dict[str, Any]] = []
    doctor = kind = None
    for lookup in ("doctor", "type"):
        try:
            if lookup == "doctor":
                doctor = await masters.doctor(data.doctor_id)
            else:
                kind = await masters.registration_type(data.registration_type_id)
        except Invalid as problem:
            errors.extend(problem.errors)
    if errors or doctor is None or kind is None:
        raise Invalid(
            Text("引用的主数据不可用", "Referenced master data is not usable"), code="bad_reference", errors=errors
        )
    if await _exists(session, doctor.id, data.date, data.shift):
        raise _exists_error()
    leave_id = await covering_leave_id(session, doctor.id, data.date, data.shift)
    schedule = _new_schedule(doctor, kind, data.date, data.shift, data.quota, leave_id)
    session.add(schedule)
    await session.flush()
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=schedule.id, after=row_dict(schedule)
    )
    return schedule


async def change(session: AsyncSession, masters: MasterData, schedule_id: int, data: ScheduleUpdate) -> Schedule:
    schedule = await get(session, schedule_id)
    before = row_dict(schedule)
    if data.registration_type_id != schedule.registration_type_id:
        kind = await masters.registration_type(data.registration_type_id)
        type_name = kind.name
    else:
        type_name = schedule.registration_type_name  # keeping a type that was since disabled is fine
    # One conditional UPDATE: a booking landing between a check and a write cannot push booked over quota.
    result = await session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.booked <= data.quota)
        .values(
            quota=data.quota,
            registration_type_id=data.registration_type_id,
            registration_type_name=type_name,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.refresh(schedule)
        raise Conflict(
            Text(
                f"号源数不能少于已预约数（{schedule.booked}）",
                f"The quota cannot be below the places already booked ({schedule.booked})",
            ),
            code="quota_below_booked",
            errors=[field_error("quota", Text(f"不能少于 {schedule.booked}", f"must be at least {schedule.booked}"))],
        )
    await session.refresh(schedule)
    await audit.record(
        session,
        audit_log,
        action="update",
        entity=ENTITY,
        entity_id=schedule_id,
        before=before,
        after=row_dict(schedule),
    )
    return schedule


def _has_bookings() -> Conflict:
    return Conflict(
        Text("该排班已有预约记录，不能删除（可请假停诊）", "This schedule has bookings; it cannot be deleted"),
        code="schedule_has_bookings",
    )


async def remove(session: AsyncSession, schedule_id: int) -> None:
    from dms.bookings.models import Booking  # bookings reference schedules; imported here to keep one direction

    schedule = await get(session, schedule_id)
    before = row_dict(schedule)
    # Released bookings are history too: a schedule that ever had a patient stays.
    if (await session.execute(select(func.count()).where(Booking.schedule_id == schedule_id))).scalar_one():
        raise _has_bookings()
    # booked = 0 in the same statement: a booking racing this delete holds the row first or finds it gone.
    result = await session.execute(
        delete(Schedule)
        .where(Schedule.id == schedule_id, Schedule.booked == 0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _has_bookings()
    session.expunge(schedule)
    await audit.record(session, audit_log, action="delete", entity=ENTITY, entity_id=schedule_id, before=before)


def _week_errors(data: CopyWeekIn, today: dt.date) -> list[dict[str, Any]]:
    errors = []
    for name in ("from_monday", "to_monday"):
        if getattr(data, name).weekday() != 0:
            errors.append(field_error(name, Text("必须是星期一", "must be a Monday"), "not_monday"))
    if not errors and data.to_monday <= data.from_monday:
        errors.append(field_error("to_monday", Text("必须晚于源周", "must be after from_monday"), "not_forward"))
    if not errors and data.to_monday + dt.timedelta(days=6) < today:
        errors.append(field_error("to_monday", Text("目标周已过去", "that week is over"), "date_in_past"))
    return errors


async def copy_week(session: AsyncSession, masters: MasterData, data: CopyWeekIn, today: dt.date) -> CopyWeekOut:
    errors = _week_errors(data, today)
    if errors:
        raise Invalid(Text("复制排班的周次有误", "The weeks to copy are wrong"), errors=errors)
    offset = data.to_monday - data.from_monday
    query = select(Schedule).where(
        Schedule.date >= data.from_monday, Schedule.date <= data.from_monday + dt.timedelta(days=6)
    )
    if data.department_id is not None:
        query = query.where(Schedule.department_id == data.department_id)
    sources = (await session.execute(query.order_by(*ROSTER_ORDER))).scalars().all()
    doctors = await _current_doctors(masters, {s.doctor_id for s in sources})
    created = skipped = 0
    for source in sources:
        day = source.date + offset
        doctor = doctors.get(source.doctor_id)
        # Days already past, doctors since disabled and places already taken are not copied.
        if day < today or doctor is None or await _exists(session, source.doctor_id, day, source.shift):
            skipped += 1
            continue
        kind = RegistrationType(id=source.registration_type_id, name=source.registration_type_name)
        leave_id = await covering_leave_id(session, doctor.id, day, source.shift)
        schedule = _new_schedule(doctor, kind, day, source.shift, source.quota, leave_id)
        session.add(schedule)
        await session.flush()
        await audit.record(
            session, audit_log, action="create", entity=ENTITY, entity_id=schedule.id, after=row_dict(schedule)
        )
        created += 1
    return CopyWeekOut(created=created, skipped=skipped)


async def _current_doctors(masters: MasterData, ids: set[int]) -> dict[int, Doctor]:
    """The doctors still usable, with today's names; the others are skipped, not an error."""
    found = {}
    for doctor_id in sorted(ids):
        try:
            found[doctor_id] = await masters.doctor(doctor_id)
        except Invalid:
            continue
    return found

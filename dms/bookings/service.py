"""Places on a schedule: never more than the quota, each key booked once, each release counted once.

The count lives on the schedule row and changes only through single conditional UPDATEs, so
the database decides who gets the last place: a read-then-write in Python would let two
concurrent requests both see one place free (see docs/scheduling.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dms.bookings.models import KEY_PATTERN, BookedPlace, Booking, BookingIn, BookingOut, BookingStatus
from dms.calendar import LEGACY_END, MORNING, SHIFT_LABELS, shift_end
from dms.db import audit_log
from dms.masterdata import Doctor, MasterData
from dms.schedules.models import Schedule, ScheduleStatus
from shared import audit
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams

ENTITY = "booking"
KEY_LENGTH = 64
# The current moment (aware); injectable so the shift rule can be tested at any time of day.
Clock = Callable[[], dt.datetime]


def row_dict(booking: Booking) -> dict[str, Any]:
    return {column.name: getattr(booking, column.name) for column in Booking.__table__.columns}


def present(booking: Booking, schedule: Schedule) -> BookingOut:
    return BookingOut(
        key=booking.key,
        schedule_id=booking.schedule_id,
        seq=booking.seq,
        status=booking.status,  # type: ignore[arg-type]
        visit_number=booking.visit_number,
        created_at=booking.created_at,
        released_at=booking.released_at,
        date=schedule.date,
        shift=schedule.shift,  # type: ignore[arg-type]
        doctor_id=schedule.doctor_id,
        doctor_name=schedule.doctor_name,
    )


async def _find(session: AsyncSession, key: str) -> tuple[Booking, Schedule] | None:
    query = select(Booking, Schedule).join(Schedule, Booking.schedule_id == Schedule.id).where(Booking.key == key)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


def _same_request(found: tuple[Booking, Schedule], schedule_id: int) -> tuple[Booking, Schedule]:
    booking, _ = found
    if booking.schedule_id != schedule_id:
        # A key names one booking: reusing it for another slot is a caller's bug, not a repeat.
        raise Conflict(
            Text("该预约键已用于另一个排班", "This booking key was already used for another schedule"),
            code="booking_key_reused",
            errors=[field_error("key", Text("已用于另一个排班", "used for another schedule"), "duplicate")],
        )
    return found


def _missing(schedule_id: int) -> Invalid:
    return Invalid(
        Text(f"排班（编号 {schedule_id}）不存在", f"Schedule {schedule_id} does not exist"),
        code="bad_reference",
        errors=[field_error("schedule_id", Text("排班不存在", "schedule does not exist"), "reference_missing")],
    )


def _closed_or_full(schedule: Schedule) -> Conflict:
    if schedule.status != ScheduleStatus.open:
        return Conflict(
            Text("该医生已停诊，不能预约", "This shift is closed (the doctor is on leave)"), code="slot_closed"
        )
    return Conflict(Text("号源已满", "No place is left on this schedule"), code="slot_full")


def _refuse_unwanted(schedule: Schedule, data: BookingIn) -> None:
    """The caller's own conditions (BookingIn.date, department_ids)."""
    if data.date is not None and schedule.date != data.date:
        raise Invalid(
            Text(f"排班不是 {data.date.isoformat()} 的", f"The schedule is not on {data.date.isoformat()}"),
            code="wrong_date",
            errors=[field_error("schedule_id", Text("日期不符", "is on another date"), "wrong_date")],
        )
    if data.department_ids is not None and schedule.department_id not in data.department_ids:
        raise Conflict(
            Text("排班不在所限科室内", "The schedule is outside the departments asked for"),
            code="outside_departments",
        )


def _refuse_ended(schedule: Schedule, doctor: Doctor | None, timezone: str, now: dt.datetime) -> None:
    end = (doctor.am_end if schedule.shift == MORNING else doctor.pm_end) if doctor else None
    if now < shift_end(schedule.date, schedule.shift, end, timezone):
        return
    shift = SHIFT_LABELS[schedule.shift]
    end = end or LEGACY_END[schedule.shift]
    raise Conflict(
        Text(
            f"{schedule.doctor_name}医生{shift.zh}门诊已于 {end} 结束，不能再挂该班次的号，请选择其他班次",
            f"Dr {schedule.doctor_name}'s {shift.en} shift ended at {end}: choose another shift",
        ),
        code="shift_over",
    )


async def _place(masters: MasterData, booking: Booking, schedule: Schedule) -> BookedPlace:
    kind = await masters.registration_type(schedule.registration_type_id, "schedule_id", cached=True)
    return BookedPlace(
        **present(booking, schedule).model_dump(),
        department_id=schedule.department_id,
        department_name=schedule.department_name,
        registration_type_id=schedule.registration_type_id,
        registration_type_name=schedule.registration_type_name,
        fee=kind.fee,
    )


async def _doctor(masters: MasterData, doctor_id: int) -> Doctor | None:
    try:
        return await masters.doctor(doctor_id, allow_disabled=True, cached=True)
    except Invalid:
        return None  # a doctor dbs no longer has: the legacy hours


async def _book_in(
    session: AsyncSession, masters: MasterData, data: BookingIn, key: str, timezone: str, clock: Clock
) -> tuple[BookedPlace, bool]:
    found = await _find(session, key)
    if found is not None:
        return await _place(masters, *_same_request(found, data.schedule_id)), False
    schedule = await session.get(Schedule, data.schedule_id)
    if schedule is None:
        raise _missing(data.schedule_id)
    _refuse_unwanted(schedule, data)
    # Master data before the place is taken: no call to dbs while the schedule row is locked.
    doctor = await _doctor(masters, schedule.doctor_id)
    _refuse_ended(schedule, doctor, timezone, clock())
    await masters.registration_type(schedule.registration_type_id, "schedule_id", cached=True)
    taken = await session.execute(
        update(Schedule)
        .where(
            Schedule.id == data.schedule_id, Schedule.booked < Schedule.quota, Schedule.status == ScheduleStatus.open
        )
        .values(booked=Schedule.booked + 1, last_seq=Schedule.last_seq + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    # Our own UPDATE holds the row until commit: this reads our increment, nobody else's.
    schedule = await session.get(Schedule, data.schedule_id, populate_existing=True)
    assert schedule is not None
    if taken.rowcount != 1:
        raise _closed_or_full(schedule)
    booking = Booking(
        key=key,
        schedule_id=data.schedule_id,
        seq=schedule.last_seq,
        status=BookingStatus.booked,
        visit_number=data.visit_number or None,
        created_at=utcnow(),
    )
    session.add(booking)
    await session.flush()  # a racing twin with the same key fails here, on the unique key
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=key, after=row_dict(booking))
    return await _place(masters, booking, schedule), True


def booking_key(key: str | None) -> str:
    """The `Idempotency-Key` header, which names the booking: required, and short enough to store."""
    if key is None:
        raise Invalid(
            Text("缺少 Idempotency-Key 请求头", "The Idempotency-Key header is required"),
            code="idempotency_key_required",
            errors=[field_error("Idempotency-Key", Text("必填", "is required"), "missing")],
        )
    if len(key) > KEY_LENGTH or not re.fullmatch(KEY_PATTERN, key):
        raise Invalid(
            Text("Idempotency-Key 无效", "Invalid Idempotency-Key"),
            errors=[field_error("Idempotency-Key", Text(f"最多 {KEY_LENGTH} 个字母、数字或 ._:-",
                                                        f"at most {KEY_LENGTH} letters, digits or ._:-"))],
        )  # fmt: skip
    return key


async def book(
    db: Database, masters: MasterData, data: BookingIn, key: str, timezone: str, clock: Clock = utcnow
) -> tuple[BookedPlace, bool]:
    """(the booking, whether it is new). Runs its own transaction: a lost race on the same key must
    roll back (undoing its increment) and then read the winner's booking in a fresh one."""
    try:
        async with db.transaction() as session:
            return await _book_in(session, masters, data, key, timezone, clock)
    except IntegrityError:
        async with db.transaction() as session:
            found = await _find(session, key)
        if found is None:
            raise
        return await _place(masters, *_same_request(found, data.schedule_id)), False


async def release(session: AsyncSession, key: str) -> BookingOut:
    found = await _find(session, key)
    if found is None:
        raise NotFound(Text(f"预约 {key} 不存在", f"Booking {key} not found"))
    booking, _ = found
    if booking.status == BookingStatus.released:
        return present(*found)
    before = row_dict(booking)
    # Only the request that flips this row gives the place back: a second release changes nothing.
    flipped = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BookingStatus.booked)
        .values(status=BookingStatus.released, released_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount == 1:
        await session.execute(
            update(Schedule)
            .where(Schedule.id == booking.schedule_id, Schedule.booked > 0)
            .values(booked=Schedule.booked - 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    found = await _find_fresh(session, key)
    if flipped.rowcount == 1:
        await audit.record(
            session, audit_log, action="release", entity=ENTITY, entity_id=key, before=before, after=row_dict(found[0])
        )
    return present(*found)


async def _find_fresh(session: AsyncSession, key: str) -> tuple[Booking, Schedule]:
    query = (
        select(Booking, Schedule)
        .join(Schedule, Booking.schedule_id == Schedule.id)
        .where(Booking.key == key)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).one()
    return row[0], row[1]


async def search(
    session: AsyncSession,
    params: PageParams,
    *,
    schedule_id: int | None = None,
    status: BookingStatus | None = None,
    doctor_id: int | None = None,
    day: dt.date | None = None,
) -> Page[BookingOut]:
    query = select(Booking, Schedule).join(Schedule, Booking.schedule_id == Schedule.id)
    for column, value in (
        (Booking.schedule_id, schedule_id),
        (Booking.status, status),
        (Schedule.doctor_id, doctor_id),
        (Schedule.date, day),
    ):
        if value is not None:
            query = query.where(column == value)
    if params.q:
        query = query.where((Booking.key == params.q) | (Booking.visit_number == params.q))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Schedule.date.desc(), Booking.schedule_id, Booking.seq).offset(params.offset).limit(params.size)
    )
    items = [present(b, s) for b, s in rows.all()]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def booked_on(session: AsyncSession, schedule_ids: Sequence[int]) -> list[BookingOut]:
    """The live bookings on these schedules (the patients a leave must call)."""
    if not schedule_ids:
        return []
    query = (
        select(Booking, Schedule)
        .join(Schedule, Booking.schedule_id == Schedule.id)
        .where(Booking.schedule_id.in_(schedule_ids), Booking.status == BookingStatus.booked)
        .order_by(Schedule.date, Booking.schedule_id, Booking.seq)
    )
    return [present(b, s) for b, s in (await session.execute(query)).all()]

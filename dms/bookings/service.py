"""Places on a schedule: never more than the quota, each key booked once, each release counted once.

The count lives on the schedule row and changes only through single conditional UPDATEs, so
the database decides who gets the last place: a read-then-write in Python would let two
concurrent requests both see one place free (see docs/scheduling.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dms.bookings.models import BOOKED, RELEASED, Booking, BookingIn, BookingOut
from dms.db import audit_log
from dms.schedules.models import OPEN, Schedule
from shared import audit
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.types import utcnow

ENTITY = "booking"


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


def _same_request(found: tuple[Booking, Schedule], data: BookingIn) -> BookingOut:
    booking, schedule = found
    if booking.schedule_id != data.schedule_id:
        # A key names one booking: reusing it for another slot is a caller's bug, not a repeat.
        raise Conflict(
            Text("该预约键已用于另一个排班", "This booking key was already used for another schedule"),
            code="booking_key_reused",
            errors=[field_error("key", Text("已用于另一个排班", "used for another schedule"), "duplicate")],
        )
    return present(booking, schedule)


async def _refusal(session: AsyncSession, schedule_id: int) -> Exception:
    """Why the increment changed no row: no such schedule, closed, or full."""
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None:
        return Invalid(
            Text(f"排班（编号 {schedule_id}）不存在", f"Schedule {schedule_id} does not exist"),
            code="bad_reference",
            errors=[field_error("schedule_id", Text("排班不存在", "schedule does not exist"), "reference_missing")],
        )
    if schedule.status != OPEN:
        return Conflict(
            Text("该医生已停诊，不能预约", "This shift is closed (the doctor is on leave)"), code="slot_closed"
        )
    return Conflict(Text("号源已满", "No place is left on this schedule"), code="slot_full")


async def _book_in(session: AsyncSession, data: BookingIn) -> tuple[BookingOut, bool]:
    found = await _find(session, data.key)
    if found is not None:
        return _same_request(found, data), False
    taken = await session.execute(
        update(Schedule)
        .where(Schedule.id == data.schedule_id, Schedule.booked < Schedule.quota, Schedule.status == OPEN)
        .values(booked=Schedule.booked + 1, last_seq=Schedule.last_seq + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise await _refusal(session, data.schedule_id)
    # Our own UPDATE holds the row until commit: this reads our increment, nobody else's.
    seq = (await session.execute(select(Schedule.last_seq).where(Schedule.id == data.schedule_id))).scalar_one()
    booking = Booking(
        key=data.key,
        schedule_id=data.schedule_id,
        seq=seq,
        status=BOOKED,
        visit_number=data.visit_number or None,
        created_at=utcnow(),
    )
    session.add(booking)
    await session.flush()  # a racing twin with the same key fails here, on the unique key
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=data.key, after=row_dict(booking))
    schedule = await session.get(Schedule, data.schedule_id, populate_existing=True)
    assert schedule is not None
    return present(booking, schedule), True


async def book(db: Database, data: BookingIn) -> tuple[BookingOut, bool]:
    """(the booking, whether it is new). Runs its own transaction: a lost race on the same key must
    roll back (undoing its increment) and then read the winner's booking in a fresh one."""
    try:
        async with db.transaction() as session:
            return await _book_in(session, data)
    except IntegrityError:
        async with db.transaction() as session:
            found = await _find(session, data.key)
        if found is None:
            raise
        return _same_request(found, data), False


async def release(session: AsyncSession, key: str) -> BookingOut:
    found = await _find(session, key)
    if found is None:
        raise NotFound(Text(f"预约 {key} 不存在", f"Booking {key} not found"))
    booking, _ = found
    if booking.status == RELEASED:
        return present(*found)
    before = row_dict(booking)
    # Only the request that flips this row gives the place back: a second release changes nothing.
    flipped = await session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BOOKED)
        .values(status=RELEASED, released_at=utcnow())
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
    status: str | None = None,
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
        .where(Booking.schedule_id.in_(schedule_ids), Booking.status == BOOKED)
        .order_by(Schedule.date, Booking.schedule_id, Booking.seq)
    )
    return [present(b, s) for b, s in (await session.execute(query)).all()]

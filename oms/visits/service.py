"""Registration and the life of a visit."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms import remote
from oms.admissions import service as admissions
from oms.admissions.models import AdmissionRequest
from oms.db import audit_log, change_feed, counters, outbox
from oms.patients.models import Patient
from oms.visits.models import (
    CLOSED_STATES,
    MANUAL_TRANSITIONS,
    RELEASED_STATES,
    RegistrationDoctor,
    RegistrationIn,
    Visit,
    VisitOut,
    VisitState,
)
from shared import audit, scope
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.search import contains
from shared.sequences import business_number
from shared.service_client import ServiceClient

STATE_LABELS = {
    VisitState.registered: "已挂号",
    VisitState.in_consultation: "就诊中",
    VisitState.paid: "已缴费",
    VisitState.dispensed: "已取药",
    VisitState.no_show: "未到诊",
    VisitState.cancelled: "已退号",
    VisitState.transferred: "已转住院",
}
SHIFT_LABELS = {"morning": Text("上午", "morning"), "afternoon": Text("下午", "afternoon")}
# Which of the doctor's hours (dbs) ends each shift.
SHIFT_END = {"morning": "am_end", "afternoon": "pm_end"}
# dms keeps booking keys of up to 64 characters; "oms-visit-" takes 10 of them.
BOOKING_KEY_ROOM = 54

# The current moment (aware); injectable so the shift rules can be tested at any time of day.
Clock = Callable[[], datetime]


def snapshot(visit: Visit) -> dict[str, Any]:
    return VisitOut.model_validate(visit).model_dump(mode="json")


async def get_visit(session: AsyncSession, visit_id: int, *, for_update: bool = False) -> Visit:
    query = select(Visit).where(Visit.id == visit_id)
    if for_update:
        query = query.with_for_update()
    visit = (await session.execute(query)).scalar_one_or_none()
    if visit is None:
        raise NotFound(Text("就诊记录不存在", "No such visit"))
    return visit


def require_open(visit: Visit) -> None:
    if VisitState(visit.state) in CLOSED_STATES:
        label = STATE_LABELS[VisitState(visit.state)]
        raise Conflict(Text(f"就诊{label}，不能再办理", f"The visit is {visit.state}"), code="visit_closed")


def shift_end(day: date, shift: str, hours: dict[str, str], timezone: str) -> datetime:
    """When a shift ends: the doctor's hour on that day, at the hospital. (A booking is refused by
    dms itself once its shift has ended; the desk uses this to leave such shifts off its offer.)"""
    return datetime.combine(day, time.fromisoformat(hours[SHIFT_END[shift]]), ZoneInfo(timezone))


def shift_over(day: date, shift: str, hours: dict[str, str], timezone: str, clock: Clock) -> bool:
    return clock() >= shift_end(day, shift, hours, timezone)


async def _hours_of(client: ServiceClient, doctor_ids: set[int]) -> dict[int, dict[str, str]]:
    ids = sorted(doctor_ids)
    found = await asyncio.gather(*(remote.doctor_hours(client, i) for i in ids))
    return {i: hours.model_dump() for i, hours in zip(ids, found, strict=True)}


async def registration_doctors(
    client: ServiceClient,
    today: date,
    department_id: int | None,
    registration_type_id: int | None,
    timezone: str,
    clock: Clock = utcnow,
) -> list[RegistrationDoctor]:
    """Today's shifts that have not ended, with free places, each with the fee it costs now."""
    fees = {t.id: t.fee for t in await remote.registration_types(client)}
    schedules = await remote.available_schedules(
        client, date=today.isoformat(), department_id=department_id, registration_type_id=registration_type_id
    )
    hours = await _hours_of(client, {s.doctor_id for s in schedules})
    schedules = [s for s in schedules if not shift_over(today, s.shift, hours[s.doctor_id], timezone, clock)]
    return [
        RegistrationDoctor.model_validate({**s.model_dump(), "schedule_id": s.id, "fee": fees[s.registration_type_id]})
        for s in schedules
        if s.registration_type_id in fees and s.free > 0
    ]


async def _patient_and_registration(
    session: AsyncSession, patient_id: int, schedule_id: int
) -> tuple[Patient, Visit | None]:
    """The patient (existing, enabled) and their visit still holding a place on this schedule, in
    one query. A schedule is one doctor's shift on one date, so this is the registration
    `active_key` names, found before dms is asked for anything."""
    query = (
        select(Patient, Visit)
        .outerjoin(
            Visit,
            and_(Visit.patient_id == Patient.id, Visit.schedule_id == schedule_id, Visit.active_key.is_not(None)),  # type: ignore[union-attr]
        )
        .where(Patient.id == patient_id)
    )
    row = (await session.execute(query)).first()
    patient = row[0] if row else None
    if patient is None or not patient.enabled:
        state = Text("不存在", "does not exist") if patient is None else Text("已停用", "is disabled")
        raise Invalid(
            Text(f"患者{state.zh}", f"The patient {state.en}"),
            code="bad_reference",
            errors=[field_error("patient_id", state, "bad_reference")],
        )
    return patient, row[1] if row else None


def active_key(patient_id: int, doctor_id: int, day: date, shift: str) -> str:
    return f"{patient_id}:{doctor_id}:{day.isoformat()}:{shift}"


async def active_registration(session: AsyncSession, key: str) -> Visit | None:
    """The visit holding `key`."""
    return (await session.execute(select(Visit).where(Visit.active_key == key))).scalar_one_or_none()


def already_registered(visit: Visit) -> Conflict:
    shift = SHIFT_LABELS.get(visit.shift, Text(visit.shift, visit.shift))
    return Conflict(
        Text(
            f"该患者已挂{visit.doctor_name}医生{visit.visit_date.isoformat()}{shift.zh}的号（就诊号 {visit.number}），"
            "不能重复挂号",
            f"The patient is already registered with Dr {visit.doctor_name} for this {shift.en} (visit {visit.number})",
        ),
        code="already_registered",
    )


def booking_key(key: str | None) -> str:
    """dms's key for the visit's place, from the request's Idempotency-Key (so a retried request
    books once): the key itself when dms can store it, else its digest; random without one."""
    if key is None:
        return f"oms-visit-{uuid.uuid4().hex}"
    if len(key) <= BOOKING_KEY_ROOM and re.fullmatch(r"[A-Za-z0-9._:\-]+", key):
        return f"oms-visit-{key}"
    return f"oms-visit-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


async def prepare_registration(db: Database, body: RegistrationIn, booking_key: str, today: date) -> tuple[str, str]:
    """Before dms is asked: the patient (enabled, not registered on this shift already) and a visit
    number, in one short transaction: (patient name, number). The number is taken before booking so that dms can show it
    (a doctor's leave lists the bookings to follow up by visit number); a registration that then
    fails leaves a gap. Two registrations at the same moment are settled by the unique
    `active_key` in record_registration."""
    async with db.transaction() as session:
        patient, existing = await _patient_and_registration(session, body.patient_id, body.schedule_id)
        if existing is not None:
            # The same request again (its Idempotency-Key) is answered as the first time, even late.
            if existing.booking_key != booking_key:
                raise already_registered(existing)
            return patient.name, existing.number
        return patient.name, await business_number(session, counters, "MZ", today)


def new_visit(
    body: RegistrationIn,
    place: remote.BookedPlace,
    patient_name: str,
    number: str,
    booking_key: str,
    paid: bool,
    actor: str,
) -> Visit:
    """The visit as booked. A repeated request finds the first attempt's booking, and with it the
    first number (`number` is this attempt's, used only if dms kept none)."""
    now = utcnow()
    return Visit(
        number=place.visit_number or number,
        patient_id=body.patient_id,
        patient_name=patient_name,
        department_id=place.department_id,
        department_name=place.department_name,
        doctor_id=place.doctor_id,
        doctor_name=place.doctor_name,
        registration_type_id=place.registration_type_id,
        registration_type_name=place.registration_type_name,
        schedule_id=place.schedule_id,
        booking_key=booking_key,
        active_key=active_key(body.patient_id, place.doctor_id, place.date, place.shift),
        visit_date=place.date,
        shift=place.shift,
        queue_no=place.seq,
        fee=place.fee,
        # Paid at the desk in the same transaction (payments.pay_registration): written paid, so
        # there is no unpaid state for a guard to move it out of.
        fee_paid=paid,
        state=VisitState.registered,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


async def record_registration(session: AsyncSession, visit: Visit) -> Visit:
    """Writes the new visit, audited and published. Another registration of the same patient,
    doctor and shift committed meanwhile makes the insert fail (IntegrityError on `active_key`):
    the caller answers it with the registration that won, read afresh."""
    session.add(visit)
    await session.flush()
    await audit.record(session, audit_log, action="create", entity="visit", entity_id=visit.id, after=snapshot(visit))
    await publish(
        session,
        change_feed,
        counters,
        entity="visit",
        entity_id=visit.id,
        action="registered",
        data={
            "number": visit.number,
            "visit_date": visit.visit_date.isoformat(),
            "department_id": visit.department_id,
            "doctor_id": visit.doctor_id,
            "registration_type_id": visit.registration_type_id,
            "fee": str(visit.fee),
        },
    )
    return visit


async def release_later(session: AsyncSession, booking_key: str) -> None:
    """Frees the visit's place at dms through the outbox: it happens even if dms is down now."""
    await enqueue(
        session,
        outbox,
        destination="DMS",
        path=f"/api/dms/bookings/{booking_key}/release",
        body={},
        key=f"release-{booking_key}",
    )


async def release_unless_held(session: AsyncSession, booking_key: str) -> None:
    """After a failed registration: free the place unless a visit holds it (a retry that lost a race
    with its own first attempt must not free the first attempt's place)."""
    held = await session.execute(select(Visit.id).where(Visit.booking_key == booking_key))
    if held.first() is None:
        await release_later(session, booking_key)


async def set_state(session: AsyncSession, visit: Visit, to: VisitState, reason: str | None = None) -> None:
    before = snapshot(visit)
    visit.state = to
    visit.state_reason = reason
    if to in RELEASED_STATES:
        visit.active_key = None
    visit.updated_at = utcnow()
    session.add(visit)
    await session.flush()
    await audit.record(
        session, audit_log, action="state", entity="visit", entity_id=visit.id, before=before, after=snapshot(visit)
    )
    await publish(
        session,
        change_feed,
        counters,
        entity="visit",
        entity_id=visit.id,
        action=to.value,
        data={
            "number": visit.number,
            "visit_date": visit.visit_date.isoformat(),
            "department_id": visit.department_id,
            "doctor_id": visit.doctor_id,
        },
    )


async def transition(
    session: AsyncSession, visit_id: int, to: VisitState, reason: str | None, actor: str
) -> tuple[Visit, AdmissionRequest | None]:
    """A hand-made move (call in, no-show, transfer); the rest follow payments and dispensing.
    A transfer is a pending admission, written with it, for the inpatient service to take up."""
    visit = await get_visit(session, visit_id, for_update=True)
    current = VisitState(visit.state)
    if to not in MANUAL_TRANSITIONS.get(current, frozenset()):
        raise Conflict(
            Text(
                f"就诊状态不能从“{STATE_LABELS[current]}”变为“{STATE_LABELS[to]}”",
                f"A visit cannot go from {current.value} to {to.value}",
            ),
            code="invalid_transition",
        )
    # A free registration type has nothing to collect.
    if to == VisitState.in_consultation and not visit.fee_paid and visit.fee > 0:
        raise Conflict(
            Text("挂号费尚未缴纳，请先收取挂号费再接诊", "The registration fee is unpaid: collect it first"),
            code="fee_unpaid",
        )
    await set_state(session, visit, to, reason)
    admission = None
    if to == VisitState.transferred:
        admission = await admissions.request_admission(session, visit, reason, actor)
    return visit, admission


async def cancel(session: AsyncSession, visit_id: int, reason: str) -> Visit:
    """退号: only before the fee is paid (a paid fee is refunded instead) and before consultation."""
    visit = await get_visit(session, visit_id, for_update=True)
    if visit.fee_paid:
        raise Conflict(Text("挂号费已缴，请办理退费", "The fee is paid: refund it instead"), code="refund_required")
    if VisitState(visit.state) != VisitState.registered:
        raise Conflict(
            Text(
                f"就诊{STATE_LABELS[VisitState(visit.state)]}，不能退号", f"A {visit.state} visit cannot be cancelled"
            ),
            code="invalid_transition",
        )
    await set_state(session, visit, VisitState.cancelled, reason)
    await release_later(session, visit.booking_key)
    return visit


async def mark_paid(session: AsyncSession, visit: Visit) -> None:
    """Paying an order moves a visit that is waiting or in consultation to paid."""
    if VisitState(visit.state) in (VisitState.registered, VisitState.in_consultation):
        await set_state(session, visit, VisitState.paid)


async def queue(session: AsyncSession, doctor_id: int, day: date) -> list[Visit]:
    waiting = Visit.state.in_([VisitState.registered, VisitState.in_consultation])  # type: ignore[attr-defined]
    rows = await session.execute(
        select(Visit)
        .where(Visit.doctor_id == doctor_id, Visit.visit_date == day)
        .order_by(waiting.desc(), Visit.queue_no)
    )
    return list(rows.scalars())


def visits_query(filters: dict[str, Any], q: str, departments: frozenset[int] | None) -> Any:
    query = select(Visit)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Visit, name) == value)
    query = scope.restrict(query, Visit.department_id, departments)
    if q:
        query = query.where(contains(q, Visit.number, Visit.patient_name))
    return query


async def settle_fee(session: AsyncSession, visit_id: int) -> Visit:
    """Marks the fee paid, once: the conditional update is the guard against a double payment."""
    done = await session.execute(
        update(Visit).where(Visit.id == visit_id, Visit.fee_paid.is_(False)).values(fee_paid=True, updated_at=utcnow())  # type: ignore[attr-defined]
    )
    visit = await get_visit(session, visit_id)
    await session.refresh(visit)
    if not done.rowcount:
        raise Conflict(Text("挂号费已缴，不能重复缴费", "The registration fee is already paid"), code="already_paid")
    return visit

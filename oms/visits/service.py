"""Registration and the life of a visit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
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
from shared import audit
from shared.auth import Principal
from shared.db import Database
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.search import contains
from shared.sequences import business_number
from shared.service_client import ServiceClient
from shared.types import utcnow

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
    """When a shift ends: the doctor's hour on that day, at the hospital."""
    return datetime.combine(day, time.fromisoformat(hours[SHIFT_END[shift]]), ZoneInfo(timezone))


def shift_over(day: date, shift: str, hours: dict[str, str], timezone: str, clock: Clock) -> bool:
    return clock() >= shift_end(day, shift, hours, timezone)


def _shift_over_error(schedule: dict[str, Any], hours: dict[str, str]) -> Conflict:
    shift = SHIFT_LABELS[schedule["shift"]]
    end = hours[SHIFT_END[schedule["shift"]]]
    return Conflict(
        Text(
            f"{schedule['doctor_name']}医生{shift.zh}门诊已于 {end} 结束，不能再挂该班次的号，请选择其他班次",
            f"Dr {schedule['doctor_name']}'s {shift.en} shift ended at {end}: choose another shift",
        ),
        code="shift_over",
    )


async def _hours_of(client: ServiceClient, doctor_ids: set[int]) -> dict[int, dict[str, str]]:
    ids = sorted(doctor_ids)
    found = await asyncio.gather(*(remote.doctor_hours(client, i) for i in ids))
    return dict(zip(ids, found, strict=True))


async def registration_doctors(
    client: ServiceClient,
    today: date,
    department_id: int | None,
    registration_type_id: int | None,
    timezone: str,
    clock: Clock = utcnow,
) -> list[RegistrationDoctor]:
    """Today's shifts that have not ended, with free places, each with the fee it costs now."""
    fees = {t["id"]: Decimal(t["fee"]) for t in await remote.registration_types(client)}
    schedules = await remote.available_schedules(
        client, date=today.isoformat(), department_id=department_id, registration_type_id=registration_type_id
    )
    hours = await _hours_of(client, {s["doctor_id"] for s in schedules})
    schedules = [s for s in schedules if not shift_over(today, s["shift"], hours[s["doctor_id"]], timezone, clock)]
    return [
        RegistrationDoctor(
            **{k: s[k] for k in RegistrationDoctor.model_fields if k in s},
            schedule_id=s["id"],
            fee=fees[s["registration_type_id"]],
        )
        for s in schedules
        if s["registration_type_id"] in fees and s.get("free", 0) > 0
    ]


async def _patient(session: AsyncSession, patient_id: int) -> Patient:
    patient = await session.get(Patient, patient_id)
    if patient is None or not patient.enabled:
        state = Text("不存在", "does not exist") if patient is None else Text("已停用", "is disabled")
        raise Invalid(
            Text(f"患者{state.zh}", f"The patient {state.en}"),
            code="bad_reference",
            errors=[field_error("patient_id", state, "bad_reference")],
        )
    return patient


def active_key(patient_id: int, doctor_id: int, day: date, shift: str) -> str:
    return f"{patient_id}:{doctor_id}:{day.isoformat()}:{shift}"


async def active_registration(session: AsyncSession, key: str, *, latest: bool = False) -> Visit | None:
    """The visit holding `key`. `latest`: as committed now, not as this transaction's snapshot saw it
    (a locking read; InnoDB's plain reads keep the snapshot of the transaction's first read)."""
    query = select(Visit).where(Visit.active_key == key)
    if latest:
        query = query.with_for_update(read=True)
    return (await session.execute(query)).scalar_one_or_none()


def _already_registered(visit: Visit) -> Conflict:
    shift = SHIFT_LABELS.get(visit.shift, Text(visit.shift, visit.shift))
    return Conflict(
        Text(
            f"该患者已挂{visit.doctor_name}医生{visit.visit_date.isoformat()}{shift.zh}的号（就诊号 {visit.number}），"
            "不能重复挂号",
            f"The patient is already registered with Dr {visit.doctor_name} for this {shift.en} (visit {visit.number})",
        ),
        code="already_registered",
    )


def in_scope(departments: frozenset[int] | None, department_id: int) -> bool:
    """Within the caller's data scope (None: every department)."""
    return departments is None or department_id in departments


async def prepare_registration(
    db: Database,
    client: ServiceClient,
    body: RegistrationIn,
    today: date,
    key: str | None,
    departments: frozenset[int] | None,
    timezone: str,
    clock: Clock = utcnow,
) -> tuple[dict[str, Any], Decimal, dict[str, Any], str]:
    """Everything a registration needs from elsewhere, in order: today's schedule in the caller's
    departments, not yet ended, its fee, the patient (not registered there already) and a visit
    number, and the booked place (idempotent by the booking key, so a retried request books once).
    The patient's registration is looked up here so that a plain duplicate books nothing; two at
    the same moment are settled by the unique `active_key` in record_registration."""
    schedule = await remote.schedule(client, body.schedule_id)
    if not in_scope(departments, schedule["department_id"]):
        raise Forbidden(Text("不能挂您科室范围以外的号", "That department is outside your scope"), code="out_of_scope")
    if schedule["date"] != today.isoformat():
        raise Invalid(
            Text("只能挂今天的号", "Only today's shifts can be registered"),
            code="not_today",
            errors=[field_error("schedule_id", Text("不是今天的排班", "is not today's shift"), "not_today")],
        )
    hours = await remote.doctor_hours(client, schedule["doctor_id"])
    registration_type = await remote.enabled_record(
        client,
        "DBS",
        f"/api/dbs/registration-types/{schedule['registration_type_id']}",
        "schedule_id",
        Text("挂号类型", "registration type"),
    )
    booking_key = f"oms-visit-{key or uuid.uuid4().hex}"
    # The number is taken before booking so that dms can show it (a doctor's leave lists the
    # bookings to follow up by visit number); a registration that then fails leaves a gap.
    async with db.transaction() as session:
        patient_name = (await _patient(session, body.patient_id)).name
        existing = await active_registration(
            session, active_key(body.patient_id, schedule["doctor_id"], today, schedule["shift"])
        )
        # The same request again (its Idempotency-Key) is answered as the first time, even late.
        replayed = existing is not None and existing.booking_key == booking_key
        if existing is not None and not replayed:
            raise _already_registered(existing)
        if not replayed and shift_over(today, schedule["shift"], hours, timezone, clock):
            raise _shift_over_error(schedule, hours)
        number = await business_number(session, counters, "MZ", today)
    booking = await remote.book(client, booking_key, body.schedule_id, number)
    # A repeated request finds the first attempt's booking, and with it the first number.
    booking["visit_number"] = booking.get("visit_number") or number
    schedule["patient_name"] = patient_name
    return schedule, Decimal(registration_type["fee"]), booking, booking_key


async def record_registration(
    session: AsyncSession,
    *,
    body: RegistrationIn,
    schedule: dict[str, Any],
    fee: Decimal,
    booking: dict[str, Any],
    booking_key: str,
    today: date,
    principal: Principal,
) -> Visit:
    now = utcnow()
    key = active_key(body.patient_id, schedule["doctor_id"], today, schedule["shift"])
    visit = Visit(
        number=booking["visit_number"],
        patient_id=body.patient_id,
        patient_name=schedule["patient_name"],
        department_id=schedule["department_id"],
        department_name=schedule["department_name"],
        doctor_id=schedule["doctor_id"],
        doctor_name=schedule["doctor_name"],
        registration_type_id=schedule["registration_type_id"],
        registration_type_name=schedule["registration_type_name"],
        schedule_id=schedule["id"],
        booking_key=booking_key,
        active_key=key,
        visit_date=today,
        shift=schedule["shift"],
        queue_no=booking["seq"],
        fee=fee,
        fee_paid=False,
        state=VisitState.registered,
        created_by=principal.username,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(visit)
            await session.flush()
    except IntegrityError:
        # Another registration of the same patient, doctor and shift committed meanwhile.
        existing = await active_registration(session, key, latest=True)
        if existing is None:
            raise
        raise _already_registered(existing) from None
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
            "visit_date": today.isoformat(),
            "department_id": visit.department_id,
            "doctor_id": visit.doctor_id,
            "registration_type_id": visit.registration_type_id,
            "fee": str(fee),
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
    if departments is not None:
        query = query.where(Visit.department_id.in_(departments))  # type: ignore[attr-defined]
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

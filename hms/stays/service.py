"""Admissions and transfers (docs/inpatient.md, "Stays" and "Transfers")."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hms import remote
from hms.charges import bed_days
from hms.db import audit_log, counters, feed, outbox
from hms.deposits import service as deposits
from hms.settings import BedDayRule
from hms.stays import account
from hms.stays.models import AdmissionIn, Stay, StayOut, StayState, Transfer, TransferIn, TransferOut
from hms.wards import service as wards
from hms.wards.models import Ward
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.paging import PageParams, fetch_page
from shared.scope import Departments, check
from shared.search import contains
from shared.sequences import business_number
from shared.service_client import ServiceClient

OUTSIDE_BED = Text("该床位不在您的科室范围内", "This bed is outside your departments")
STAY_SORTS = {"admitted_at": Stay.admitted_at, "number": Stay.number, "id": Stay.id}


def _required(field: str, label: Text) -> Invalid:
    return Invalid(
        Text(f"请选择{label.zh}", f"Choose the {label.en}"),
        code="required",
        errors=[field_error(field, Text("必填", "required"), "required")],
    )


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def _bed_in(
    session: AsyncSession, bed_id: int, department_id: int | None, departments: Departments
) -> tuple[Any, Ward]:
    """The bed a stay is to take, in an enabled ward of `department_id` (any, when None) and of
    the caller's departments (a clerk limited to some admits and moves only into those)."""
    bed = await wards.get_bed(session, bed_id, "bed_id")
    ward = await wards.get_ward(session, bed.ward_id)
    check(departments, ward.department_id, OUTSIDE_BED)
    if not ward.enabled or (department_id is not None and ward.department_id != department_id):
        reason = (
            Text("病区已停用", "its ward is disabled")
            if not ward.enabled
            else Text("不属于所选科室", "is not in the chosen department")
        )
        raise Invalid(
            Text(f"{ward.name} {bed.number}床{reason.zh}", f"Bed {bed.number}: {reason.en}"),
            code="bed_outside_department",
            errors=[field_error("bed_id", reason, "bed_outside_department")],
        )
    return bed, ward


async def _refuse_if_in_hospital(session: AsyncSession, patient_id: int) -> None:
    number = (
        await session.execute(select(Stay.number).where(Stay.open_patient_id == patient_id))  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if number is not None:
        in_hospital = Text(f"已在院（{number}）", f"in hospital ({number})")
        raise Conflict(
            Text(f"该患者已在院（住院号 {number}），请先办理出院结算", f"Already in hospital ({number})"),
            code="already_admitted",
            errors=[field_error("patient_id", in_hospital, "already_admitted")],
        )


async def _refuse_taken(session: AsyncSession, request_id: int | None, patient_id: int) -> None:
    """409 when the transfer was admitted already, or the patient is in hospital."""
    if request_id is not None:
        query = select(Stay.number).where(Stay.admission_request_id == request_id)  # type: ignore[arg-type]
        number = (await session.execute(query)).scalar_one_or_none()
        if number is not None:
            raise Conflict(
                Text(f"该入院申请已办理入院（住院号 {number}）", f"This transfer was admitted already ({number})"),
                code="not_pending",
            )
    await _refuse_if_in_hospital(session, patient_id)


async def hold_patient(session: AsyncSession, stay: Stay) -> None:
    """A reversed settlement opens its stay again: only while its patient has no other open stay."""
    await _refuse_if_in_hospital(session, stay.patient_id)
    stay.open_patient_id = stay.patient_id
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        await _refuse_if_in_hospital(session, stay.patient_id)
        raise


def snapshot(stay: Stay) -> dict[str, Any]:
    return StayOut.model_validate(stay).model_dump(mode="json")


def _feed_data(stay: Stay) -> dict[str, Any]:
    # No patient name or diagnosis: statistics count stays, not people.
    return {
        "number": stay.number, "department_id": stay.department_id, "department_name": stay.department_name,
        "doctor_id": stay.doctor_id, "ward_id": stay.ward_id, "bed_id": stay.bed_id,
        "charge_type_id": stay.charge_type_id, "admitted_at": stay.admitted_at, "state": stay.state,
    }  # fmt: skip


async def admit(
    session: AsyncSession, services: ServiceClient, body: AdmissionIn, principal: Principal, today: date
) -> Stay:
    """入院登记: the stay, its bed taken, its first deposit and (for a transfer) the report to oms,
    in one transaction."""
    request = await remote.admission_request(services, body.admission_request_id) if body.admission_request_id else None
    patient_id = body.patient_id or (request.patient_id if request else None)
    if patient_id is None:
        raise _required("patient_id", Text("患者", "patient"))
    doctor_id = body.doctor_id or (request.doctor_id if request else None)
    if doctor_id is None:
        raise _required("doctor_id", Text("主治医生", "doctor"))
    bed, ward = await _bed_in(session, body.bed_id, body.department_id, principal.departments)
    # Three services' answers at once: an admission waits for the slowest, not for their sum.
    patient, doctor, charge_type = await asyncio.gather(
        remote.patient(services, patient_id),
        remote.doctor(services, doctor_id),
        remote.charge_type(services, body.charge_type_id),
    )
    now = utcnow()
    stay = Stay(
        number=await business_number(session, counters, "ZY", today),
        state=StayState.admitted,
        patient_id=patient.id,
        patient_name=patient.name,
        sex=patient.sex,
        age=patient.age if patient.age is not None else _age(patient.birth_date, today),
        admission_request_id=request.id if request else None,
        visit_number=request.visit_number if request else None,
        department_id=ward.department_id,
        department_name=ward.department_name,
        doctor_id=doctor.id,
        doctor_name=doctor.name,
        ward_id=ward.id,  # type: ignore[arg-type]
        ward_name=ward.name,
        bed_id=bed.id,
        bed_number=bed.number,
        diagnosis=body.diagnosis,
        charge_type_id=charge_type.id,
        charge_type_name=charge_type.name,
        reimbursement_ratio=charge_type.reimbursement_ratio,
        admitted_at=now,
        admitted_by=principal.username,
        updated_at=now,
    )
    await _refuse_taken(session, stay.admission_request_id, patient.id)
    stay.open_patient_id = patient.id
    session.add(stay)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # Another clerk's admission committed first: of the same transfer, or of the same patient.
        await _refuse_taken(session, stay.admission_request_id, patient.id)
        raise
    await wards.take(session, bed.id, stay.id)  # type: ignore[arg-type]
    if request is not None:
        # Same transaction: oms hears of exactly the admissions that happened.
        await enqueue(
            session, outbox, destination="OMS", path=f"/api/oms/admission-requests/{request.id}/admit",
            body={"admission_number": stay.number}, key=f"hms-admit-{stay.id}",
        )  # fmt: skip
    await audit.record(session, audit_log, action="admit", entity="stay", entity_id=stay.id, after=snapshot(stay))
    await publish(session, feed, counters, entity="stay", entity_id=stay.id, action="admitted", data=_feed_data(stay))
    if body.deposit is not None:
        await deposits.pay_in(session, stay, body.deposit, principal.username, today)
    return await account.locked(session, stay.id)  # type: ignore[arg-type]


async def stays(
    session: AsyncSession,
    paging: PageParams,
    state: StayState | None,
    department_id: int | None,
    ward_id: int | None,
    departments: frozenset[int] | None,
) -> tuple[list[Stay], int]:
    query = select(Stay)
    if state is not None:
        query = query.where(Stay.state == state)  # type: ignore[arg-type]
    if department_id is not None:
        query = query.where(Stay.department_id == department_id)  # type: ignore[arg-type]
    if ward_id is not None:
        query = query.where(Stay.ward_id == ward_id)  # type: ignore[arg-type]
    if departments is not None:
        query = query.where(Stay.department_id.in_(departments))  # type: ignore[attr-defined]
    if paging.q:
        query = query.where(contains(paging.q, Stay.number, Stay.patient_name, Stay.visit_number))
    return await fetch_page(session, query, paging, Stay.id.desc())  # type: ignore[union-attr]


async def get(session: AsyncSession, stay_id: int) -> Stay:
    stay = await session.get(Stay, stay_id)
    if stay is None:
        raise account.no_stay()
    return stay


async def transfer(
    session: AsyncSession,
    services: ServiceClient,
    stay_id: int,
    body: TransferIn,
    principal: Principal,
    today: date,
    rule: BedDayRule,
    timezone: str,
) -> Transfer:
    """转科/转床: the new bed taken, the old freed, the history written, in one transaction; the days
    so far charged first at the old bed's price."""
    stay = account.in_scope(await account.open_stay(session, stay_id), principal.departments)
    await bed_days.accrue(session, stay, today, rule, timezone=timezone)
    if body.bed_id == stay.bed_id:
        raise Invalid(
            Text("新床位与当前床位相同", "That is the bed the patient is in"), code="same_bed",
            errors=[field_error("bed_id", Text("与当前床位相同", "is the current bed"), "same_bed")],
        )  # fmt: skip
    bed, ward = await _bed_in(session, body.bed_id, body.department_id, principal.departments)
    moves_department = ward.department_id != stay.department_id
    doctor_id = body.doctor_id or (None if moves_department else stay.doctor_id)
    if doctor_id is None:
        raise _required("doctor_id", Text("转入科室的主治医生", "doctor of the new department"))
    doctor_name = stay.doctor_name if doctor_id == stay.doctor_id else (await remote.doctor(services, doctor_id)).name
    before = snapshot(stay)
    await wards.take(session, bed.id, stay.id)  # type: ignore[arg-type]
    await wards.release(session, stay.bed_id, stay.id)  # type: ignore[arg-type]
    move = Transfer(
        stay_id=stay.id,  # type: ignore[arg-type]
        from_department_id=stay.department_id, from_department_name=stay.department_name,
        from_ward_name=stay.ward_name, from_bed_id=stay.bed_id, from_bed_number=stay.bed_number,
        from_doctor_name=stay.doctor_name,
        to_department_id=ward.department_id, to_department_name=ward.department_name, to_ward_name=ward.name,
        to_bed_id=bed.id, to_bed_number=bed.number, to_doctor_name=doctor_name,  # type: ignore[arg-type]
        reason=body.reason, transferred_by=principal.username, transferred_at=utcnow(),
    )  # fmt: skip
    session.add(move)
    stay.department_id, stay.department_name = ward.department_id, ward.department_name
    stay.ward_id, stay.ward_name = ward.id, ward.name  # type: ignore[assignment]
    stay.bed_id, stay.bed_number = bed.id, bed.number  # type: ignore[assignment]
    stay.doctor_id, stay.doctor_name = doctor_id, doctor_name
    stay.updated_at = move.transferred_at
    await session.flush()
    await audit.record(
        session, audit_log, action="transfer", entity="stay", entity_id=stay.id, before=before, after=snapshot(stay)
    )
    await publish(
        session, feed, counters, entity="stay", entity_id=stay.id, action="transferred",
        data={**_feed_data(stay), "from_department_id": move.from_department_id, "from_bed_id": move.from_bed_id},
    )  # fmt: skip
    return move


async def transfers(session: AsyncSession, stay_id: int, departments: Departments) -> list[TransferOut]:
    await account.visible(session, stay_id, departments)
    rows = await session.execute(select(Transfer).where(Transfer.stay_id == stay_id).order_by(Transfer.id))  # type: ignore[arg-type]
    return [TransferOut.model_validate(t) for t in rows.scalars()]


async def admission_requests(services: ServiceClient, state: str | None, page: int, size: int) -> Any:
    """oms's waiting transfers, for the admissions desk (asked with hms's own identity)."""
    params = {"page": page, "size": size, **({"state": state} if state else {})}
    return await remote.get_json(services, "OMS", "/api/oms/admission-requests", params) or {
        "items": [], "total": 0, "page": page, "size": size,
    }  # fmt: skip

"""HTTP for registration, visits, the doctors' queues and visit states."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from oms import remote
from oms.admissions import service as admissions
from oms.admissions.models import AdmissionRequestOut
from oms.orders import service as orders
from oms.patients import service as patients
from oms.payments import service as payments
from oms.state import OmsConfig
from oms.visits import registration, service, slip
from oms.visits.models import (
    CancelIn,
    DepartmentChoice,
    RegistrationDoctor,
    RegistrationIn,
    RegistrationTypeChoice,
    TransitionIn,
    Visit,
    VisitOut,
    VisitState,
)
from oms.visits.schemas import TransitionOut, VisitDetail
from shared import crud, scope
from shared.auth import CurrentPrincipal, requires
from shared.crud_router import viewer_of
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, IdempotencyKey, answered
from shared.paging import Page, Paging, fetch_page
from shared.state import Db, HospitalToday, Outbox, Services, Timezone

VISIT = Text("就诊", "visit")
READ = requires("oms:visit:read", VISIT)
WRITE = requires("oms:visit:write", VISIT)
OUT_OF_SCOPE = Text("该就诊不在您的科室范围内", "This visit is outside your departments")

router = APIRouter(prefix="/api/oms", tags=["visits 挂号与就诊"])


@router.get(
    "/registration/departments", response_model=list[DepartmentChoice], summary="Departments to register with", **READ
)
async def registration_departments(services: Services, principal: CurrentPrincipal) -> list[DepartmentChoice]:
    found = await remote.departments(services)
    return [DepartmentChoice.model_validate(d.model_dump()) for d in found if scope.covers(principal.departments, d.id)]


@router.get(
    "/registration/types", response_model=list[RegistrationTypeChoice], summary="Registration types and fees", **READ
)
async def registration_types(services: Services) -> list[RegistrationTypeChoice]:
    return [RegistrationTypeChoice.model_validate(t.model_dump()) for t in await remote.registration_types(services)]


@router.get(
    "/registration/doctors",
    response_model=list[RegistrationDoctor],
    summary="Doctors with a shift today and free places",
    **READ,
)
async def registration_doctors(
    services: Services,
    today: HospitalToday,
    timezone: Timezone,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    registration_type_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[RegistrationDoctor]:
    return await service.registration_doctors(services, today, department_id, registration_type_id, timezone)


@router.post(
    "/visits",
    response_model=VisitOut,
    status_code=201,
    summary="Register a patient with today's shift of a doctor (Idempotency-Key recommended)",
    description=REPLAY_DOC,
    **WRITE,
)
async def register(
    body: RegistrationIn,
    db: Db,
    services: Services,
    outbox: Outbox,
    key: IdempotencyKey,
    principal: CurrentPrincipal,
    today: HospitalToday,
    timezone: Timezone,
) -> Response:
    return answered(await registration.register(db, services, outbox, body, key, principal, today, timezone))


@router.get("/visits", response_model=Page[VisitOut], summary="Visits", **READ)
async def list_visits(
    session: ReadSession,
    paging: Paging,
    principal: CurrentPrincipal,
    visit_date: Annotated[date | None, Query(alias="date")] = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    patient_id: Annotated[int | None, Query(ge=1)] = None,
    state: VisitState | None = None,
) -> Page[VisitOut]:
    query = service.visits_query(
        {"visit_date": visit_date, "department_id": department_id, "doctor_id": doctor_id, "patient_id": patient_id,
         "state": state}, paging.q, principal.departments,
    )  # fmt: skip
    rows, total = await fetch_page(session, query, paging, Visit.id.desc())  # type: ignore[union-attr]
    return Page(items=[VisitOut.model_validate(v) for v in rows], total=total, page=paging.page, size=paging.size)


@router.get("/visits/{visit_id}", response_model=VisitDetail, summary="A visit with its orders and payments", **READ)
async def get_visit(session: ReadSession, visit_id: int, principal: CurrentPrincipal) -> VisitDetail:
    visit = await service.get_visit(session, visit_id)
    scope.check(principal.departments, visit.department_id, OUT_OF_SCOPE)
    # The patient as this caller may see them (masked without pii:read), whatever their department.
    patient = await crud.get_record(session, patients.patients, visit.patient_id, viewer_of(principal))
    admission = await admissions.of_visit(session, visit_id)
    return VisitDetail(
        visit=VisitOut.model_validate(visit),
        patient=patient,
        orders=await orders.of_visit(session, visit),
        payments=await payments.of_visit(session, visit),
        admission=AdmissionRequestOut.model_validate(admission) if admission else None,
    )


@router.get("/visits/{visit_id}/slip.pdf", summary="The printable registration slip (挂号单, PDF)", **READ)
async def slip_pdf(session: ReadSession, config: OmsConfig, principal: CurrentPrincipal, visit_id: int) -> Response:
    return await slip.slip_pdf(session, visit_id, config, principal)


@router.get("/queue", response_model=list[VisitOut], summary="A doctor's queue of the day", **READ)
async def queue(
    session: ReadSession,
    principal: CurrentPrincipal,
    today: HospitalToday,
    doctor_id: Annotated[int, Query(ge=1)],
    day: Annotated[date | None, Query(alias="date")] = None,
) -> list[VisitOut]:
    rows = await service.queue(session, doctor_id, day or today)
    return [VisitOut.model_validate(v) for v in rows if scope.covers(principal.departments, v.department_id)]


@router.post(
    "/visits/{visit_id}/state",
    response_model=TransitionOut,
    summary="Call in (fee paid), no-show or transfer (a pending admission)",
    **WRITE,
)
async def change_state(session: WriteSession, visit_id: int, body: TransitionIn, principal: CurrentPrincipal) -> Any:
    scope.check(principal.departments, (await service.get_visit(session, visit_id)).department_id, OUT_OF_SCOPE)
    visit, admission = await service.transition(session, visit_id, body.to, body.reason, principal.username)
    return TransitionOut(
        **VisitOut.model_validate(visit).model_dump(),
        admission=admission and AdmissionRequestOut.model_validate(admission),
    )


@router.post("/visits/{visit_id}/cancel", response_model=VisitOut, summary="Cancel an unpaid registration", **WRITE)
async def cancel(session: WriteSession, visit_id: int, body: CancelIn, principal: CurrentPrincipal) -> Any:
    scope.check(principal.departments, (await service.get_visit(session, visit_id)).department_id, OUT_OF_SCOPE)
    return VisitOut.model_validate(await service.cancel(session, visit_id, body.reason))


routers = [router]

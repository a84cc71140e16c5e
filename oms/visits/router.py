"""HTTP for registration, visits, the doctors' queues and visit states."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from oms import remote
from oms.admissions import service as admissions
from oms.admissions.models import AdmissionRequestOut
from oms.db import idempotency_keys
from oms.orders import service as orders
from oms.patients import service as patients
from oms.payments import charge_types
from oms.payments import service as payments
from oms.payments.models import PaymentIn
from oms.visits import service
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
from shared import crud
from shared.auth import CurrentPrincipal, Principal, requires
from shared.crud_router import viewer_of
from shared.db import ReadSession, WriteSession, get_database
from shared.errors import Forbidden
from shared.i18n import Text
from shared.idempotency import Answer, key_of, run_once
from shared.paging import Page, Paging, fetch_page
from shared.types import local_today

VISIT = Text("就诊", "visit")
READ = requires("oms:visit:read", VISIT)
WRITE = requires("oms:visit:write", VISIT)

router = APIRouter(prefix="/api/oms", tags=["visits 挂号与就诊"])


def _today(request: Request) -> date:
    return local_today(request.app.state.settings.timezone)


def _in_scope(principal: Principal, department_id: int) -> bool:
    return service.in_scope(principal.departments, department_id)


def _check_scope(principal: Principal, visit: Visit) -> None:
    if not _in_scope(principal, visit.department_id):
        raise Forbidden(Text("该就诊不在您的科室范围内", "This visit is outside your departments"), code="out_of_scope")


@router.get(
    "/registration/departments", response_model=list[DepartmentChoice], summary="Departments to register with", **READ
)
async def registration_departments(request: Request, principal: CurrentPrincipal) -> list[DepartmentChoice]:
    found = await remote.departments(remote.services(request))
    return [DepartmentChoice(**d) for d in found if _in_scope(principal, d["id"])]


@router.get(
    "/registration/types", response_model=list[RegistrationTypeChoice], summary="Registration types and fees", **READ
)
async def registration_types(request: Request) -> list[RegistrationTypeChoice]:
    return [RegistrationTypeChoice(**t) for t in await remote.registration_types(remote.services(request))]


@router.get(
    "/registration/doctors",
    response_model=list[RegistrationDoctor],
    summary="Doctors with a shift today and free places",
    **READ,
)
async def registration_doctors(
    request: Request,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    registration_type_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[RegistrationDoctor]:
    return await service.registration_doctors(
        remote.services(request), _today(request), department_id, registration_type_id,
        request.app.state.settings.timezone,
    )  # fmt: skip


@router.post(
    "/visits",
    response_model=VisitOut,
    status_code=201,
    summary="Register a patient with today's shift of a doctor (Idempotency-Key recommended)",
    **WRITE,
)
async def register(body: RegistrationIn, request: Request, principal: CurrentPrincipal) -> Response:
    db = get_database(request)
    client = remote.services(request)
    key = key_of(request)
    today = _today(request)
    settings = request.app.state.settings
    # A 医保 registration's charge type is checked before a place is booked.
    charge = PaymentIn(visit_id=1, method=body.payment_method or "cash", charge_type_id=body.charge_type_id)
    insured = await charge_types.insured_share(client, charge)
    schedule, fee, booking, booking_key = await service.prepare_registration(
        db, client, body, today, key, principal.departments, settings.timezone
    )

    async def work(session: Any) -> Answer:
        visit = await service.record_registration(
            session, body=body, schedule=schedule, fee=fee, booking=booking, booking_key=booking_key, today=today,
            principal=principal,
        )  # fmt: skip
        if body.payment_method is not None:
            paid = PaymentIn(visit_id=visit.id, method=body.payment_method, self_method=body.self_method)
            await payments.pay(session, paid, principal, settings.timezone, insured)
            await session.refresh(visit)
        return Answer(201, jsonable_encoder(VisitOut.model_validate(visit)))

    try:
        answer = await run_once(db, idempotency_keys, key, "POST /api/oms/visits", body.model_dump(mode="json"), work)
    except BaseException:
        # The place is booked at dms but no visit holds it: free it again.
        async with db.transaction() as session:
            await service.release_unless_held(session, booking_key)
        request.app.state.outbox.wake()
        raise
    return JSONResponse(answer.body, status_code=200 if answer.replayed else answer.status)


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
    _check_scope(principal, visit)
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


@router.get("/queue", response_model=list[VisitOut], summary="A doctor's queue of the day", **READ)
async def queue(
    request: Request,
    session: ReadSession,
    principal: CurrentPrincipal,
    doctor_id: Annotated[int, Query(ge=1)],
    day: Annotated[date | None, Query(alias="date")] = None,
) -> list[VisitOut]:
    rows = await service.queue(session, doctor_id, day or _today(request))
    return [VisitOut.model_validate(v) for v in rows if _in_scope(principal, v.department_id)]


@router.post(
    "/visits/{visit_id}/state",
    response_model=TransitionOut,
    summary="Call in (fee paid), no-show or transfer (a pending admission)",
    **WRITE,
)
async def change_state(session: WriteSession, visit_id: int, body: TransitionIn, principal: CurrentPrincipal) -> Any:
    _check_scope(principal, await service.get_visit(session, visit_id))
    visit, admission = await service.transition(session, visit_id, body.to, body.reason, principal.username)
    return TransitionOut(
        **VisitOut.model_validate(visit).model_dump(),
        admission=admission and AdmissionRequestOut.model_validate(admission),
    )


@router.post("/visits/{visit_id}/cancel", response_model=VisitOut, summary="Cancel an unpaid registration", **WRITE)
async def cancel(
    request: Request, session: WriteSession, visit_id: int, body: CancelIn, principal: CurrentPrincipal
) -> Any:
    _check_scope(principal, await service.get_visit(session, visit_id))
    return VisitOut.model_validate(await service.cancel(session, visit_id, body.reason))


routers = [router]

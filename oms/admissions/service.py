"""Pending admissions: written with the transfer, taken up once by the inpatient service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.admissions.models import AdmissionRequest, AdmissionRequestOut, AdmissionState
from oms.db import audit_log
from oms.visits.models import Visit
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.i18n import Text
from shared.paging import Page, PageParams, fetch_page
from shared.scope import check, restrict

ENTITY = "admission"
OUTSIDE = Text("该入院申请不在您的科室范围内", "This request is outside your departments")


def snapshot(request: AdmissionRequest) -> dict[str, Any]:
    return AdmissionRequestOut.model_validate(request).model_dump(mode="json")


async def request_admission(session: AsyncSession, visit: Visit, note: str | None, actor: str) -> AdmissionRequest:
    """In the transfer's transaction: the visit is transferred exactly when its request exists."""
    request = AdmissionRequest(
        visit_id=visit.id,  # type: ignore[arg-type]
        visit_number=visit.number,
        patient_id=visit.patient_id,
        patient_name=visit.patient_name,
        department_id=visit.department_id,
        department_name=visit.department_name,
        doctor_id=visit.doctor_id,
        doctor_name=visit.doctor_name,
        note=note,
        state=AdmissionState.pending,
        requested_by=actor,
        requested_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=request.id, after=snapshot(request)
    )
    return request


async def of_visit(session: AsyncSession, visit_id: int) -> AdmissionRequest | None:
    rows = await session.execute(select(AdmissionRequest).where(AdmissionRequest.visit_id == visit_id))
    return rows.scalar_one_or_none()


async def get_request(session: AsyncSession, request_id: int) -> AdmissionRequest:
    request = await session.get(AdmissionRequest, request_id)
    if request is None:
        raise NotFound(Text("入院申请不存在", "No such admission request"))
    return request


async def visible_request(
    session: AsyncSession, request_id: int, departments: frozenset[int] | None
) -> AdmissionRequest:
    request = await get_request(session, request_id)
    check(departments, request.department_id, OUTSIDE)
    return request


async def page(
    session: AsyncSession, paging: PageParams, state: AdmissionState | None, departments: frozenset[int] | None
) -> Page[AdmissionRequestOut]:
    """The requests of the caller's departments."""
    query = select(AdmissionRequest)
    if state is not None:
        query = query.where(AdmissionRequest.state == state)
    query = restrict(query, AdmissionRequest.department_id, departments)
    rows, total = await fetch_page(session, query, paging, AdmissionRequest.id)
    items = [AdmissionRequestOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


async def admit(
    session: AsyncSession, request_id: int, admission_number: str, principal: Principal
) -> AdmissionRequest:
    """Marks a pending request of the caller's departments admitted, once: the conditional
    UPDATE settles two admitting at once."""
    request = await get_request(session, request_id)
    check(principal.departments, request.department_id, OUTSIDE)
    actor = principal.username
    before = snapshot(request)
    done = await session.execute(
        update(AdmissionRequest)
        .where(AdmissionRequest.id == request_id, AdmissionRequest.state == AdmissionState.pending)  # type: ignore[arg-type]
        .values(
            state=AdmissionState.admitted, admission_number=admission_number, admitted_by=actor, admitted_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    request = await get_request(session, request_id)
    await session.refresh(request)
    if not done.rowcount and request.admission_number == admission_number:
        # The inpatient service's report sent again (its outbox retries): already done.
        return request
    if not done.rowcount:
        taken = f"（住院号 {request.admission_number}）" if request.admission_number else ""
        raise Conflict(
            Text(f"该入院申请已办理或已取消{taken}", f"The admission request is already {request.state}"),
            code="not_pending",
        )
    await audit.record(
        session, audit_log, action="admit", entity=ENTITY, entity_id=request_id, before=before, after=snapshot(request)
    )
    return request

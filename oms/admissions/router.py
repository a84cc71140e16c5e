"""HTTP for pending admissions: the desk lists them; the inpatient service admits them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from oms.admissions import service
from oms.admissions.models import AdmissionRequest, AdmissionRequestOut, AdmissionState, AdmitIn
from oms.visits.router import READ
from oms.visits.service import in_scope
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.errors import Forbidden
from shared.i18n import Text
from shared.paging import Page, PlainPaging, fetch_page

# The inpatient service calls it with its own identity once it exists; an admissions office may hold it too.
ADMIT = requires("oms:admission:write", Text("入院办理", "admission"))

router = APIRouter(prefix="/api/oms/admission-requests", tags=["admissions 转住院"])


@router.get("", response_model=Page[AdmissionRequestOut], summary="Transfers waiting for (or given) admission", **READ)
async def list_requests(
    session: ReadSession, paging: PlainPaging, principal: CurrentPrincipal, state: AdmissionState | None = None
) -> Page[AdmissionRequestOut]:
    query = service.requests_query(state, principal.departments)
    rows, total = await fetch_page(session, query, paging, AdmissionRequest.id)  # type: ignore[arg-type]
    items = [AdmissionRequestOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.post(
    "/{request_id}/admit", response_model=AdmissionRequestOut, summary="Admit (once; 409 when not pending)", **ADMIT
)
async def admit(session: WriteSession, request_id: int, body: AdmitIn, principal: CurrentPrincipal) -> Any:
    if not in_scope(principal.departments, (await service.get_request(session, request_id)).department_id):
        raise Forbidden(
            Text("该入院申请不在您的科室范围内", "This request is outside your departments"), code="out_of_scope"
        )
    return AdmissionRequestOut.model_validate(
        await service.admit(session, request_id, body.admission_number, principal.username)
    )


routers = [router]

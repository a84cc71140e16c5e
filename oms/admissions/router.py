"""HTTP for pending admissions: the desk lists them; the inpatient service admits them."""

from __future__ import annotations

from fastapi import APIRouter

from oms.admissions import service
from oms.admissions.models import AdmissionRequestOut, AdmissionState, AdmitIn
from oms.visits.router import READ
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PlainPaging

# The inpatient service calls it with its own identity once it exists; an admissions office may hold it too.
ADMIT = requires("oms:admission:write", Text("入院办理", "admission"))

router = APIRouter(prefix="/api/oms/admission-requests", tags=["admissions 转住院"])


@router.get("", response_model=Page[AdmissionRequestOut], summary="Transfers waiting for (or given) admission", **READ)
async def list_requests(
    session: ReadSession, paging: PlainPaging, principal: CurrentPrincipal, state: AdmissionState | None = None
) -> Page[AdmissionRequestOut]:
    return await service.page(session, paging, state, principal.departments)


@router.get("/{request_id}", response_model=AdmissionRequestOut, summary="One transfer", **READ)
async def get_request(session: ReadSession, request_id: int, principal: CurrentPrincipal) -> AdmissionRequestOut:
    return AdmissionRequestOut.model_validate(await service.visible_request(session, request_id, principal.departments))


@router.post(
    "/{request_id}/admit",
    response_model=AdmissionRequestOut,
    summary="Admit once (the same number again: done; otherwise 409)",
    **ADMIT,
)
async def admit(
    session: WriteSession, request_id: int, body: AdmitIn, principal: CurrentPrincipal
) -> AdmissionRequestOut:
    return AdmissionRequestOut.model_validate(
        await service.admit(session, request_id, body.admission_number, principal)
    )


routers = [router]

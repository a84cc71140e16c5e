"""`/api/oms/patients`: the generic record routes, with the patient rules on create and update.

No ``from __future__ import annotations``: FastAPI reads the body types from the annotations.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from oms.patients import service
from oms.patients.models import PatientIn, PatientOut
from shared import crud
from shared.auth import CurrentPrincipal, requires
from shared.crud_router import viewer_of
from shared.db import ReadSession, WriteSession
from shared.paging import Page, PageParams, sortable

TAG = "patients 门诊患者库"
patients = service.patients
read = requires("oms:patient:read", patients.label)
write = requires("oms:patient:write", patients.label)

router = APIRouter(prefix="/api/oms/patients", tags=[TAG])
PatientPaging = Annotated[PageParams, sortable(**crud.sort_columns(patients))]


@router.get("", response_model=Page[PatientOut], summary="List patients (q: name, ID card, phone)", **read)
async def list_patients(
    session: ReadSession,
    paging: PatientPaging,
    principal: CurrentPrincipal,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false).")] = None,
) -> Any:
    return await crud.list_records(session, patients, paging, {"enabled": enabled}, viewer_of(principal))


@router.get("/{patient_id}", response_model=PatientOut, summary="Get one patient", **read)
async def get_patient(session: ReadSession, patient_id: int, principal: CurrentPrincipal) -> Any:
    return await crud.get_record(session, patients, patient_id, viewer_of(principal))


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED, summary="Add a patient", **write)
async def create_patient(session: WriteSession, body: PatientIn, principal: CurrentPrincipal) -> Any:
    return await service.create_patient(session, body, viewer_of(principal))


@router.put("/{patient_id}", response_model=PatientOut, summary="Update a patient", **write)
async def update_patient(session: WriteSession, patient_id: int, body: PatientIn, principal: CurrentPrincipal) -> Any:
    return await service.update_patient(session, patient_id, body, viewer_of(principal))


@router.post("/{patient_id}/disable", response_model=PatientOut, summary="Disable a patient", **write)
async def disable_patient(session: WriteSession, patient_id: int, principal: CurrentPrincipal) -> Any:
    return await crud.set_enabled(session, patients, patient_id, False, viewer_of(principal))


@router.post("/{patient_id}/enable", response_model=PatientOut, summary="Enable a patient", **write)
async def enable_patient(session: WriteSession, patient_id: int, principal: CurrentPrincipal) -> Any:
    return await crud.set_enabled(session, patients, patient_id, True, viewer_of(principal))


@router.delete(
    "/{patient_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a patient (409 once visits refer to it)",
    **write,
)
async def delete_patient(session: WriteSession, patient_id: int, principal: CurrentPrincipal) -> Response:
    await crud.delete_record(session, patients, patient_id, viewer_of(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


routers = [router]

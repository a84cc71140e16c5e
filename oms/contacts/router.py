"""HTTP for the contacts of visits (whom to phone after a doctor's leave)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oms.contacts import service
from oms.contacts.models import MAX_NUMBERS, VisitContact
from oms.visits.router import READ
from shared.auth import CurrentPrincipal
from shared.crud_router import viewer_of
from shared.db import ReadSession

Numbers = Annotated[list[str], Query(min_length=1, max_length=MAX_NUMBERS, description="Visit numbers (MZ…).")]

router = APIRouter(prefix="/api/oms", tags=["visits 挂号与就诊"])


@router.get(
    "/visits/contacts", response_model=list[VisitContact], summary="Patients and phones of these visits", **READ
)
async def visit_contacts(session: ReadSession, principal: CurrentPrincipal, numbers: Numbers) -> list[VisitContact]:
    return await service.contacts(session, numbers, viewer_of(principal))


routers = [router]

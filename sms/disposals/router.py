"""HTTP for disposals (报损销毁): units of a batch out of the warehouse for good, expired ones included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday
from sms.disposals import service
from sms.disposals.models import DisposalIn, DisposalOut
from sms.masterdata import MasterData, master_data

TAG = "disposals 报损销毁"
LABEL = Text("报损销毁", "disposals")
READ = requires("sms:disposal:read", LABEL)
WRITE = requires("sms:disposal:write", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]

router = APIRouter(prefix="/api/sms/disposals", tags=[TAG])


@router.get("", response_model=Page[DisposalOut], summary="Disposals, newest first", **READ)
async def list_disposals(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
    drug_id: Annotated[int | None, Query(ge=1)] = None,
    batch_id: Annotated[int | None, Query(ge=1)] = None,
    expired: Annotated[bool | None, Query(description="Only batches that had expired (or had not)")] = None,
) -> Page[DisposalOut]:
    return await service.page(
        session, paging, warehouse_id=warehouse_id, drug_id=drug_id, batch_id=batch_id, expired=expired
    )


@router.get("/{disposal_id}", response_model=DisposalOut, summary="One disposal", **READ)
async def get_disposal(session: ReadSession, disposal_id: Annotated[int, Path(ge=1)]) -> DisposalOut:
    return await service.get(session, disposal_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DisposalOut,
    summary="Dispose of units of one batch (expired or not), with the reason; a ledger row `disposal`",
    responses={409: {"description": "More than the batch holds (`insufficient_stock`)"}},
    **WRITE,
)
async def create_disposal(
    session: WriteSession, masters: Masters, today: HospitalToday, principal: CurrentPrincipal, body: DisposalIn
) -> DisposalOut:
    return await service.create(session, masters, body, today, principal.username)


routers = [router]

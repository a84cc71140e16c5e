"""HTTP for pharmacy returns (药品回收): received from pms's outbox, listed for the store-keeper."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, RequiredIdempotencyKey, answered
from shared.paging import Page, PageParams, sortable
from shared.state import Db, HospitalToday
from sms.returns import service
from sms.returns.models import Destination, ReturnIn, ReturnOut

TAG = "returns 药品回收"
LABEL = Text("药品回收", "pharmacy returns")
READ = requires("sms:return:read", LABEL)
WRITE = requires("sms:return:write", LABEL)

router = APIRouter(prefix="/api/sms/returns", tags=[TAG])


@router.post(
    "",
    status_code=201,
    response_model=ReturnOut,
    summary="Receive a return of the pharmacy into stock or to disposal (sent by the pms outbox; once per key)",
    responses={201: {"description": f"The return. {REPLAY_DOC}"}},
    **WRITE,
)
async def receive(
    db: Db, today: HospitalToday, key: RequiredIdempotencyKey, body: ReturnIn, principal: CurrentPrincipal
) -> JSONResponse:
    return answered(await service.receive_once(db, key, body, today, principal.username))


@router.get("", response_model=Page[ReturnOut], summary="Pharmacy returns received, newest first", **READ)
async def list_returns(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
    destination: Annotated[Destination | None, Query(description="stock | disposal")] = None,
) -> Page[ReturnOut]:
    return await service.page(session, paging, warehouse_id=warehouse_id, destination=destination)


@router.get("/{return_id}", response_model=ReturnOut, summary="One pharmacy return", **READ)
async def get_return(session: ReadSession, return_id: Annotated[int, Path(ge=1)]) -> ReturnOut:
    return await service.get(session, return_id)


routers = [router]

"""HTTP for shortage requests (报缺) at the warehouse: received from pms's outbox, listed for the
store-keeper with the stock that could answer them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from shared.auth import requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, RequiredIdempotencyKey, answered
from shared.paging import Page, PageParams, sortable
from shared.state import Db, HospitalToday
from sms.shortages import service
from sms.shortages.models import ShortageRequestIn, ShortageRequestOut, State

TAG = "shortages 报缺"
LABEL = Text("报缺单", "shortage requests")
READ = requires("sms:shortage:read", LABEL)
WRITE = requires("sms:shortage:write", LABEL)

router = APIRouter(prefix="/api/sms/shortage-requests", tags=[TAG])


@router.post(
    "",
    status_code=201,
    response_model=ShortageRequestOut,
    summary="Receive a shortage request of the pharmacy (sent by the pms outbox; once per Idempotency-Key)",
    responses={201: {"description": f"The request. {REPLAY_DOC}"}},
    **WRITE,
)
async def receive(db: Db, key: RequiredIdempotencyKey, body: ShortageRequestIn) -> JSONResponse:
    return answered(await service.receive_once(db, key, body))


@router.get(
    "",
    response_model=Page[ShortageRequestOut],
    summary="Shortage requests, newest first, each line with the warehouses' unexpired stock of its drug",
    **READ,
)
async def list_requests(
    session: ReadSession,
    today: HospitalToday,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="open | partly_fulfilled | fulfilled")] = None,
) -> Page[ShortageRequestOut]:
    return await service.page(session, paging, today, state)


@router.get("/{request_id}", response_model=ShortageRequestOut, summary="One shortage request", **READ)
async def get_request(
    session: ReadSession, today: HospitalToday, request_id: Annotated[int, Path(ge=1)]
) -> ShortageRequestOut:
    return await service.get(session, request_id, today)


routers = [router]

"""HTTP for shortage requests (报缺): filed at the pharmacy, sent to the warehouse by the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query

from pms.shortages import service
from pms.shortages.models import ShortageRequestIn, ShortageRequestOut, State
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday, Outbox

TAG = "shortages 报缺"
LABEL = Text("报缺单", "shortage requests")
READ = requires("pms:shortage:read", LABEL)
WRITE = requires("pms:shortage:write", LABEL)

router = APIRouter(prefix="/api/pms/shortage-requests", tags=[TAG])
RequestId = Annotated[int, Path(ge=1)]


@router.post(
    "",
    status_code=201,
    response_model=ShortageRequestOut,
    summary="File a shortage request; its message to the warehouse is queued in the same transaction",
    **WRITE,
)
async def file(
    session: WriteSession,
    relay: Outbox,
    tasks: BackgroundTasks,
    today: HospitalToday,
    principal: CurrentPrincipal,
    body: ShortageRequestIn,
) -> ShortageRequestOut:
    request = await service.file(session, body, today, principal.username)
    # After the response, so after the commit: the relay sends it now instead of at its next pass.
    tasks.add_task(relay.wake)
    return request


@router.get("", response_model=Page[ShortageRequestOut], summary="Shortage requests, newest first", **READ)
async def list_requests(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="open | sent | partly_fulfilled | fulfilled | cancelled")] = None,
) -> Page[ShortageRequestOut]:
    return await service.page(session, paging, state)


@router.get("/{request_id}", response_model=ShortageRequestOut, summary="One shortage request", **READ)
async def get_request(session: ReadSession, request_id: RequestId) -> ShortageRequestOut:
    return await service.get(session, request_id)


@router.post(
    "/{request_id}/cancel",
    response_model=ShortageRequestOut,
    summary="Cancel a request the warehouse has not received yet",
    responses={409: {"description": "Already sent to the warehouse (`already_sent`)"}},
    **WRITE,
)
async def cancel(session: WriteSession, request_id: RequestId, principal: CurrentPrincipal) -> ShortageRequestOut:
    return await service.cancel(session, request_id, principal.username)


routers = [router]

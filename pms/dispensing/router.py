"""HTTP for dispensing: receiving paid prescriptions, handing drugs out, refund claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query
from fastapi.responses import JSONResponse

from pms.dispensing import service
from pms.dispensing.models import DispensingOrderIn, DispensingOrderOut, RefundClaimIn, RefundClaimOut, Source, State
from shared import failpoints
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, RequiredIdempotencyKey, answered
from shared.paging import Page, PageParams, sortable
from shared.state import Db, HospitalToday, Outbox

TAG = "dispensing 取药"
LABEL = Text("取药单", "dispensing orders")
READ = requires("pms:dispensing:read", LABEL)
WRITE = requires("pms:dispensing:write", LABEL)

router = APIRouter(prefix="/api/pms/dispensing-orders", tags=[TAG])
OrderId = Annotated[int, Path(ge=1)]


@router.post(
    "",
    status_code=201,
    response_model=DispensingOrderOut,
    summary="Receive a paid prescription (sent by the oms outbox; applied once per Idempotency-Key)",
    responses={201: {"description": f"The order. {REPLAY_DOC}"}},
    **WRITE,
)
async def receive(db: Db, today: HospitalToday, key: RequiredIdempotencyKey, body: DispensingOrderIn) -> JSONResponse:
    return answered(await service.receive_once(db, key, body, today))


@router.get("", response_model=Page[DispensingOrderOut], summary="Dispensing orders, newest first", **READ)
async def list_orders(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="pending | dispensed | cancelled")] = None,
) -> Page[DispensingOrderOut]:
    return await service.page(session, paging, state)


@router.get("/{order_id}", response_model=DispensingOrderOut, summary="One dispensing order", **READ)
async def get_order(session: ReadSession, order_id: OrderId) -> DispensingOrderOut:
    return await service.get(session, order_id)


@router.post(
    "/{order_id}/dispense",
    response_model=DispensingOrderOut,
    summary="Hand the drugs out of stock (first expiry first); the report to oms is queued in the same transaction",
    responses={409: {"description": "Not enough unexpired stock (`insufficient_stock`), or already dispensed"}},
    **WRITE,
)
async def dispense(
    session: WriteSession,
    relay: Outbox,
    tasks: BackgroundTasks,
    order_id: OrderId,
    principal: CurrentPrincipal,
    today: HospitalToday,
) -> DispensingOrderOut:
    order = await service.dispense(session, order_id, principal.username, today)
    # After the response, so after the commit: dying here leaves the report to oms in the outbox.
    tasks.add_task(failpoints.reached, "pms.dispense.after_commit")
    # The relay sends the report now instead of at its next pass.
    tasks.add_task(relay.wake)
    return order


@router.post(
    "/by-source/{source}/{order_id}/refund-claims",
    status_code=201,
    response_model=RefundClaimOut,
    summary="The sender claims lines for a refund before paying back (once per Idempotency-Key, the claim's id)",
    responses={409: {"description": "A line was already dispensed (`already_dispensed`) or refunded"}},
    **WRITE,
)
async def claim_refund(
    source: Source, order_id: OrderId, body: RefundClaimIn, db: Db, key: RequiredIdempotencyKey
) -> JSONResponse:
    return answered(await service.claim_refund_once(db, key, source, order_id, body))


routers = [router]

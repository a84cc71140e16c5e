from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import idempotency_keys
from pms.dispensing import service
from pms.dispensing.models import DispensingOrderIn, DispensingOrderOut, RefundClaimIn, RefundClaimOut, Source, State
from shared import failpoints
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession, get_database
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, Answer, RequiredIdempotencyKey, answered, run_once
from shared.paging import Page, Paging
from shared.types import local_today

TAG = "dispensing 取药"
LABEL = Text("取药单", "dispensing orders")
READ = requires("pms:dispensing:read", LABEL)
WRITE = requires("pms:dispensing:write", LABEL)
# Scope of the receive's keys: a key oms used elsewhere never matches one of these.
RECEIVE_SCOPE = "pms:dispensing-order:receive"
CLAIM_SCOPE = "pms:dispensing-order:refund-claim"

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
async def receive(body: DispensingOrderIn, request: Request, key: RequiredIdempotencyKey) -> JSONResponse:
    day = local_today(request.app.state.settings.timezone)

    async def work(session: AsyncSession) -> Answer:
        order = await service.receive(session, body, day)
        return Answer(201, order.model_dump(mode="json"))

    payload = body.model_dump(mode="json")
    answer = await run_once(get_database(request), idempotency_keys, key, RECEIVE_SCOPE, payload, work)
    return answered(answer)


@router.get("", response_model=Page[DispensingOrderOut], summary="Dispensing orders, newest first", **READ)
async def list_orders(
    session: ReadSession,
    paging: Paging,
    state: Annotated[State | None, Query(description="pending | dispensed | cancelled")] = None,
) -> Page[DispensingOrderOut]:
    return await service.page(session, paging, state)


@router.get("/{order_id}", response_model=DispensingOrderOut, summary="One dispensing order", **READ)
async def get_order(session: ReadSession, order_id: OrderId) -> DispensingOrderOut:
    return await service.get(session, order_id)


@router.post(
    "/{order_id}/dispense",
    response_model=DispensingOrderOut,
    summary="Hand the drugs out; the report to oms is queued in the same transaction",
    **WRITE,
)
async def dispense(
    session: WriteSession, order_id: OrderId, principal: CurrentPrincipal, request: Request, tasks: BackgroundTasks
) -> DispensingOrderOut:
    order = await service.dispense(session, order_id, principal.username)
    # After the response, so after the commit: dying here leaves the report to oms in the outbox.
    tasks.add_task(failpoints.reached, "pms.dispense.after_commit")
    relay = getattr(request.app.state, "outbox", None)
    if relay is not None:
        # The relay sends now instead of at its next pass.
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
    source: Source, order_id: OrderId, body: RefundClaimIn, request: Request, key: RequiredIdempotencyKey
) -> JSONResponse:

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await service.claim_refund(session, source, order_id, key, body)).model_dump(mode="json"))

    payload = {"source": source, "order_id": order_id, **body.model_dump(mode="json")}
    answer = await run_once(get_database(request), idempotency_keys, key, CLAIM_SCOPE, payload, work)
    failpoints.reached("pms.refund_claim.after_commit")
    return answered(answer)


routers = [router]

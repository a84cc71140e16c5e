"""HTTP for outbound orders (出库单): written and posted in one step, listed with their batches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, IdempotencyKey, answered
from shared.paging import Page, PageParams, sortable
from shared.state import Db, HospitalToday, Outbox
from sms.masterdata import MasterData, master_data
from sms.outbound import service
from sms.outbound.models import OutboundOrderIn, OutboundOrderOut

TAG = "outbound 出库"
LABEL = Text("出库单", "outbound orders")
READ = requires("sms:outbound:read", LABEL)
WRITE = requires("sms:outbound:write", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]

router = APIRouter(prefix="/api/sms/outbound-orders", tags=[TAG])


@router.post(
    "",
    status_code=201,
    response_model=OutboundOrderOut,
    summary="Send drugs to the pharmacy: stock leaves first expiry first (or from a chosen batch, with a reason), "
    "and the delivery to pms is queued in the same transaction (Idempotency-Key honoured)",
    responses={
        201: {"description": f"The posted order. {REPLAY_DOC}"},
        409: {"description": "Not enough unexpired stock (`insufficient_stock`), or the chosen batch expired"},
    },
    **WRITE,
)
async def create_order(
    db: Db,
    relay: Outbox,
    masters: Masters,
    today: HospitalToday,
    key: IdempotencyKey,
    principal: CurrentPrincipal,
    body: OutboundOrderIn,
) -> JSONResponse:
    return answered(await service.create_once(db, relay, masters, body, today, principal.username, key))


@router.get(
    "", response_model=Page[OutboundOrderOut], summary="Outbound orders with their batches, newest first", **READ
)
async def list_orders(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
    shortage_request_id: Annotated[int | None, Query(ge=1)] = None,
    drug_id: Annotated[int | None, Query(ge=1)] = None,
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
) -> Page[OutboundOrderOut]:
    return await service.page(
        session, paging, warehouse_id=warehouse_id, shortage_request_id=shortage_request_id, drug_id=drug_id,
        batch_no=batch_no,
    )  # fmt: skip


@router.get("/{order_id}", response_model=OutboundOrderOut, summary="One outbound order", **READ)
async def get_order(session: ReadSession, order_id: Annotated[int, Path(ge=1)]) -> OutboundOrderOut:
    return await service.get(session, order_id)


routers = [router]

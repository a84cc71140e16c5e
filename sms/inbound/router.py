"""HTTP for inbound orders (入库单): drafts, posting into stock, reversing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday
from sms.inbound import service
from sms.inbound.models import InboundOrderIn, InboundOrderOut, ReverseIn, State
from sms.masterdata import MasterData, master_data

TAG = "inbound 入库"
LABEL = Text("入库单", "inbound orders")
READ = requires("sms:inbound:read", LABEL)
WRITE = requires("sms:inbound:write", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]
OrderId = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/sms/inbound-orders", tags=[TAG])


@router.get("", response_model=Page[InboundOrderOut], summary="Inbound orders, newest first", **READ)
async def list_orders(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="draft | posted | reversed")] = None,
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
    supplier_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[InboundOrderOut]:
    return await service.page(session, paging, state=state, warehouse_id=warehouse_id, supplier_id=supplier_id)


@router.get("/{order_id}", response_model=InboundOrderOut, summary="One inbound order", **READ)
async def get_order(session: ReadSession, order_id: OrderId) -> InboundOrderOut:
    return await service.get(session, order_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InboundOrderOut,
    summary="Write a draft inbound order (drug, supplier, warehouse and handler checked at dbs)",
    **WRITE,
)
async def create_order(
    session: WriteSession, masters: Masters, today: HospitalToday, principal: CurrentPrincipal, body: InboundOrderIn
) -> InboundOrderOut:
    return await service.create(session, masters, body, today, principal.username)


@router.put(
    "/{order_id}",
    response_model=InboundOrderOut,
    summary="Replace a draft's header and lines (409 once posted)",
    **WRITE,
)
async def update_order(
    session: WriteSession, masters: Masters, order_id: OrderId, body: InboundOrderIn
) -> InboundOrderOut:
    return await service.update(session, masters, order_id, body)


@router.delete(
    "/{order_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a draft (409 once posted)",
    **WRITE,
)
async def delete_order(session: WriteSession, order_id: OrderId) -> Response:
    await service.remove(session, order_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{order_id}/post",
    response_model=InboundOrderOut,
    summary="Post a draft: its lines go into stock by batch, with their ledger rows",
    **WRITE,
)
async def post_order(session: WriteSession, order_id: OrderId, principal: CurrentPrincipal) -> InboundOrderOut:
    return await service.post(session, order_id, principal.username)


@router.post(
    "/{order_id}/reverse",
    status_code=status.HTTP_201_CREATED,
    response_model=InboundOrderOut,
    summary="Reverse a posted order: a new posted order takes the same quantities out of the same batches",
    responses={409: {"description": "Not posted, already reversed, or its stock has already left"}},
    **WRITE,
)
async def reverse_order(
    session: WriteSession, today: HospitalToday, principal: CurrentPrincipal, order_id: OrderId, body: ReverseIn
) -> InboundOrderOut:
    return await service.reverse(session, order_id, body.reason, today, principal.username)


routers = [router]

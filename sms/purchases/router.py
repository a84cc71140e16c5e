"""HTTP for purchase orders (采购单): the proposal, drafts, approval by another person, receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday, lifespan_value
from sms.masterdata import MasterData, master_data
from sms.purchases import service
from sms.purchases.models import Proposal, PurchaseOrderIn, PurchaseOrderOut, ReceiveIn, State
from sms.settings import SmsSettings

TAG = "purchases 采购"
LABEL = Text("采购单", "purchase orders")
READ = requires("sms:purchase:read", LABEL)
WRITE = requires("sms:purchase:write", LABEL)
# Approving is a permission of its own: the one who drafts an order is not the one who approves it.
APPROVE = requires("sms:purchase:approve", LABEL)
# Receiving is the store-keeper's: it writes an inbound order.
RECEIVE = requires("sms:inbound:write", Text("入库单", "inbound orders"))
Masters = Annotated[MasterData, Depends(master_data)]
Config = Annotated[SmsSettings, lifespan_value("settings")]
OrderId = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/sms/purchase-orders", tags=[TAG])


@router.get(
    "/proposal",
    response_model=Proposal,
    summary="Lines to buy for a warehouse: drugs under their low-stock threshold, and open shortage requests",
    **READ,
)
async def get_proposal(
    session: ReadSession,
    masters: Masters,
    today: HospitalToday,
    config: Config,
    warehouse_id: Annotated[int, Query(ge=1)],
) -> Proposal:
    return await service.proposal(session, masters, warehouse_id, today, config.low_stock_threshold)


@router.get("", response_model=Page[PurchaseOrderOut], summary="Purchase orders, newest first", **READ)
async def list_orders(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="draft | approved | received | cancelled")] = None,
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
    supplier_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[PurchaseOrderOut]:
    return await service.page(session, paging, state=state, warehouse_id=warehouse_id, supplier_id=supplier_id)


@router.get("/{order_id}", response_model=PurchaseOrderOut, summary="One purchase order", **READ)
async def get_order(session: ReadSession, order_id: OrderId) -> PurchaseOrderOut:
    return await service.get(session, order_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PurchaseOrderOut,
    summary="Write a draft purchase order (supplier, warehouse and drugs checked at dbs)",
    **WRITE,
)
async def create_order(
    session: WriteSession, masters: Masters, today: HospitalToday, principal: CurrentPrincipal, body: PurchaseOrderIn
) -> PurchaseOrderOut:
    return await service.create(session, masters, body, today, principal.username)


@router.put(
    "/{order_id}",
    response_model=PurchaseOrderOut,
    summary="Replace a draft's header and lines (409 once approved)",
    **WRITE,
)
async def update_order(
    session: WriteSession, masters: Masters, order_id: OrderId, body: PurchaseOrderIn
) -> PurchaseOrderOut:
    return await service.update(session, masters, order_id, body)


@router.post(
    "/{order_id}/approve",
    response_model=PurchaseOrderOut,
    summary="Approve a draft (409 `own_order` for the person who wrote it)",
    **APPROVE,
)
async def approve_order(session: WriteSession, order_id: OrderId, principal: CurrentPrincipal) -> PurchaseOrderOut:
    return await service.approve(session, order_id, principal.username)


@router.post("/{order_id}/cancel", response_model=PurchaseOrderOut, summary="Cancel a draft or approved order", **WRITE)
async def cancel_order(session: WriteSession, order_id: OrderId, principal: CurrentPrincipal) -> PurchaseOrderOut:
    return await service.cancel(session, order_id, principal.username)


@router.post(
    "/{order_id}/receive",
    response_model=PurchaseOrderOut,
    summary="Receive an approved order: writes a draft inbound order with its lines and the batches that came",
    **RECEIVE,
)
async def receive_order(
    session: WriteSession,
    masters: Masters,
    today: HospitalToday,
    principal: CurrentPrincipal,
    order_id: OrderId,
    body: ReceiveIn,
) -> PurchaseOrderOut:
    return await service.receive(session, masters, order_id, body, today, principal.username)


routers = [router]

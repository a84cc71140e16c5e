"""HTTP for pricing: prescriptions and item orders, and the pharmacy's report that it dispensed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from oms.orders import prescription, service
from oms.orders.models import ItemOrderIn, OrderKind, OrderOut, OrderState, PrescriptionIn
from oms.state import OmsConfig
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, IdempotencyKey, answered
from shared.paging import Page, Paging
from shared.pharmacy_reports import DispensedIn
from shared.state import Db, Services, Timezone

ORDER = Text("处方与项目单", "order")
READ = requires("oms:order:read", ORDER)
WRITE = requires("oms:order:write", ORDER)

router = APIRouter(prefix="/api/oms", tags=["orders 划价"])


@router.post(
    "/visits/{visit_id}/prescriptions", response_model=OrderOut, status_code=201, summary="Price a prescription",
    **WRITE,
)  # fmt: skip
async def price_prescription(
    session: WriteSession,
    services: Services,
    timezone: Timezone,
    visit_id: int,
    body: PrescriptionIn,
    principal: CurrentPrincipal,
) -> OrderOut:
    return await service.prescribe(session, services, visit_id, body, principal, timezone)


@router.post(
    "/visits/{visit_id}/item-orders", response_model=OrderOut, status_code=201, summary="Price examination and "
    "treatment items", **WRITE,
)  # fmt: skip
async def price_items(
    session: WriteSession,
    services: Services,
    timezone: Timezone,
    visit_id: int,
    body: ItemOrderIn,
    principal: CurrentPrincipal,
) -> OrderOut:
    return await service.order_items(session, services, visit_id, body, principal, timezone)


@router.get("/orders", response_model=Page[OrderOut], summary="Orders", **READ)
async def list_orders(
    session: ReadSession,
    paging: Paging,
    visit_id: Annotated[int | None, Query(ge=1)] = None,
    kind: OrderKind | None = None,
    state: OrderState | None = None,
) -> Page[OrderOut]:
    return await service.page(session, paging, visit_id, kind, state)


@router.get("/orders/{order_id}", response_model=OrderOut, summary="An order with its lines", **READ)
async def get_order(session: ReadSession, order_id: int) -> OrderOut:
    return await service.order_out(session, await service.get_order(session, order_id))


@router.get("/orders/{order_id}/prescription.pdf", summary="The printable prescription (处方笺, PDF)", **READ)
async def prescription_pdf(
    session: ReadSession, config: OmsConfig, principal: CurrentPrincipal, order_id: int
) -> Response:
    return await prescription.prescription_pdf(session, order_id, config, principal)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, summary="Cancel an unpaid order", **WRITE)
async def cancel_order(session: WriteSession, order_id: int) -> OrderOut:
    return await service.cancel_order(session, order_id)


@router.post(
    "/orders/{order_id}/dispensed",
    response_model=OrderOut,
    summary="The pharmacy reports a prescription dispensed (sent by pms's outbox, with an Idempotency-Key)",
    responses={200: {"description": f"The order. {REPLAY_DOC}"}},
    **requires("oms:dispensing:write", Text("发药回执", "dispensing report")),
)
async def dispensed(db: Db, key: IdempotencyKey, order_id: int, body: DispensedIn) -> JSONResponse:
    return answered(await service.dispensed_once(db, key, order_id, body))


routers = [router]

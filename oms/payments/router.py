"""HTTP for payments, refunds and receipts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from oms.payments import charge_types, receipts, service
from oms.payments.models import PaymentIn, PaymentKind, PaymentOut, RefundIn
from oms.state import OmsConfig
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, IdempotencyKey, answered
from shared.paging import Page, Paging
from shared.pharmacy_reports import ClaimedIn
from shared.state import Db, Outbox, Services, Timezone

PAYMENT = Text("缴费", "payment")
READ = requires("oms:payment:read", PAYMENT)
REPLAYED: dict[int | str, dict[str, Any]] = {201: {"description": f"The payment or refund. {REPLAY_DOC}"}}

router = APIRouter(prefix="/api/oms", tags=["payments 缴费与退费"])


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=201,
    summary="Pay a registration fee (no order_id) or an order; the amount is the server's (Idempotency-Key)",
    responses=REPLAYED,
    **requires("oms:payment:write", PAYMENT),
)
async def pay(
    db: Db,
    relay: Outbox,
    services: Services,
    timezone: Timezone,
    key: IdempotencyKey,
    body: PaymentIn,
    principal: CurrentPrincipal,
) -> JSONResponse:
    return answered(await service.pay_once(db, relay, services, body, principal, timezone, key))


@router.get(
    "/charge-types",
    response_model=list[charge_types.ChargeTypeChoice],
    summary="The enabled charge types (费别) a 医保 payment names, from master data",
    **READ,
)
async def list_charge_types(services: Services) -> list[charge_types.ChargeTypeChoice]:
    return await charge_types.choices(services)


@router.post(
    "/refunds",
    response_model=PaymentOut,
    status_code=201,
    summary="Refund a payment, or some of its lines, by a reversing record",
    responses=REPLAYED,
    **requires("oms:refund:approve", Text("退费审批", "refund approval")),
)
async def refund(
    db: Db,
    relay: Outbox,
    services: Services,
    timezone: Timezone,
    key: IdempotencyKey,
    body: RefundIn,
    principal: CurrentPrincipal,
) -> JSONResponse:
    return answered(await service.refund_once(db, relay, services, body, principal, timezone, key))


@router.post(
    "/refunds/claimed",
    response_model=PaymentOut,
    status_code=201,
    summary="The pharmacy claimed lines for a refund (sent by pms's outbox): the refund is recorded if it is not yet",
    responses=REPLAYED,
    **requires("oms:dispensing:write", Text("发药回执", "dispensing report")),
)
async def refund_claimed(
    db: Db, relay: Outbox, timezone: Timezone, key: IdempotencyKey, body: ClaimedIn, principal: CurrentPrincipal
) -> JSONResponse:
    return answered(await service.record_claimed_once(db, relay, body, principal, timezone, key))


@router.get("/payments", response_model=Page[PaymentOut], summary="Payments and refunds", **READ)
async def list_payments(
    session: ReadSession,
    timezone: Timezone,
    paging: Paging,
    visit_id: Annotated[int | None, Query(ge=1)] = None,
    kind: PaymentKind | None = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Page[PaymentOut]:
    return await service.page(session, paging, timezone, visit_id, kind, day)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="A payment", **READ)
async def get_payment(session: ReadSession, payment_id: int) -> PaymentOut:
    return await service.payment_out(session, await service.get_payment(session, payment_id))


@router.get("/payments/{payment_id}/receipt.pdf", summary="The printable receipt of a payment (PDF)", **READ)
async def receipt(session: ReadSession, settings: OmsConfig, payment_id: int) -> Response:
    payment = await service.get_payment(session, payment_id)
    pdf = await receipts.receipt_pdf(session, payment, settings)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{payment.number}.pdf"'},
    )


routers = [router]

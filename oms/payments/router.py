"""HTTP for payments, refunds and receipts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from oms import remote
from oms.db import idempotency_keys
from oms.payments import charge_types, receipts, service
from oms.payments.models import ClaimedIn, PaymentIn, PaymentKind, PaymentOut, RefundIn
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, get_database
from shared.i18n import Text
from shared.idempotency import Answer, key_of, run_once
from shared.paging import Page, Paging

PAYMENT = Text("缴费", "payment")
READ = requires("oms:payment:read", PAYMENT)

router = APIRouter(prefix="/api/oms", tags=["payments 缴费与退费"])


async def _record_once(request: Request, scope: str, body: BaseModel, act: Callable[[Any], Awaitable[Any]]) -> Response:
    """Runs `act(session)` once per Idempotency-Key (a repeat answers 200 with the first answer),
    then wakes the outbox: what the payment queued (a prescription for the pharmacy, a place to
    free) goes now, not at the next poll."""

    async def work(session: Any) -> Answer:
        return Answer(201, jsonable_encoder(await act(session)))

    db = get_database(request)
    answer = await run_once(db, idempotency_keys, key_of(request), scope, body.model_dump(mode="json"), work)
    request.app.state.outbox.wake()
    return JSONResponse(answer.body, status_code=200 if answer.replayed else answer.status)


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=201,
    summary="Pay a registration fee (no order_id) or an order; the amount is the server's (Idempotency-Key)",
    **requires("oms:payment:write", PAYMENT),
)
async def pay(request: Request, body: PaymentIn, principal: CurrentPrincipal) -> Response:
    timezone = request.app.state.settings.timezone
    insured = await charge_types.insured_share(remote.services(request), body)
    return await _record_once(
        request,
        "POST /api/oms/payments",
        body,
        lambda session: service.pay(session, body, principal, timezone, insured),
    )


@router.get(
    "/charge-types",
    response_model=list[charge_types.ChargeTypeChoice],
    summary="The enabled charge types (费别) a 医保 payment names, from master data",
    **READ,
)
async def list_charge_types(request: Request) -> list[charge_types.ChargeTypeChoice]:
    return await charge_types.choices(remote.services(request))


@router.post(
    "/refunds",
    response_model=PaymentOut,
    status_code=201,
    summary="Refund a payment, or some of its lines, by a reversing record",
    **requires("oms:refund:approve", Text("退费审批", "refund approval")),
)
async def refund(request: Request, body: RefundIn, principal: CurrentPrincipal) -> Response:
    timezone, client, key = request.app.state.settings.timezone, remote.services(request), key_of(request)
    return await _record_once(
        request, "POST /api/oms/refunds", body,
        lambda session: service.refund(session, body, principal, timezone, client, key),
    )  # fmt: skip


@router.post(
    "/refunds/claimed",
    response_model=PaymentOut,
    status_code=201,
    summary="The pharmacy claimed lines for a refund (sent by pms's outbox): the refund is recorded if it is not yet",
    **requires("oms:dispensing:write", Text("发药回执", "dispensing report")),
)
async def refund_claimed(request: Request, body: ClaimedIn, principal: CurrentPrincipal) -> Response:
    timezone = request.app.state.settings.timezone
    return await _record_once(
        request, "POST /api/oms/refunds/claimed", body,
        lambda session: service.record_claimed(session, body, principal, timezone),
    )  # fmt: skip


@router.get("/payments", response_model=Page[PaymentOut], summary="Payments and refunds", **READ)
async def list_payments(
    request: Request,
    session: ReadSession,
    paging: Paging,
    visit_id: Annotated[int | None, Query(ge=1)] = None,
    kind: PaymentKind | None = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Page[PaymentOut]:
    return await service.page(session, paging, request.app.state.settings.timezone, visit_id, kind, day)


@router.get("/payments/{payment_id}", response_model=PaymentOut, summary="A payment", **READ)
async def get_payment(session: ReadSession, payment_id: int) -> PaymentOut:
    return await service.payment_out(session, await service.get_payment(session, payment_id))


@router.get("/payments/{payment_id}/receipt.pdf", summary="The printable receipt of a payment (PDF)", **READ)
async def receipt(request: Request, session: ReadSession, payment_id: int) -> Response:
    payment = await service.get_payment(session, payment_id)
    pdf = await receipts.receipt_pdf(session, payment, request.app.state.settings)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{payment.number}.pdf"'},
    )


routers = [router]

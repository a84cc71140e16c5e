"""HTTP for drug orders (药品记账), the pharmacy's reports on them, and their returns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, status
from fastapi.responses import JSONResponse

from hms.drugs import service
from hms.drugs.models import (
    DrugOrderIn,
    DrugOrderOut,
    DrugOrderState,
    DrugReturnIn,
    UndispensedLine,
)
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, IdempotencyKey, RequiredIdempotencyKey, answered
from shared.paging import Page, Paging
from shared.pharmacy_reports import ClaimedIn, DispensedIn
from shared.state import Db, HospitalToday, Outbox, Services

LABEL = Text("药品记账", "drug orders")
READ = requires("hms:drug:read", LABEL)
WRITE = requires("hms:drug:write", LABEL)
# What the pharmacy's token holds: its reports and notices arrive through its outbox.
PHARMACY = requires("hms:dispensing:write", Text("发药回执", "dispensing report"))
Id = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/hms", tags=["drugs 药品记账"])


@router.post(
    "/stays/{stay_id}/drug-orders",
    response_model=DrugOrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Book drugs to a stay at dbs's price; the order goes to the pharmacy in the same transaction",
    responses={409: {"description": "The stay is settled (`stay_settled`)"}},
    **WRITE,
)
async def book(
    session: WriteSession, services: Services, relay: Outbox, tasks: BackgroundTasks, today: HospitalToday,
    principal: CurrentPrincipal, stay_id: Id, body: DrugOrderIn,
) -> DrugOrderOut:  # fmt: skip
    order = await service.book(session, services, stay_id, body, principal, today)
    # After the response, so after the commit: the relay sends the order now, not at its next pass.
    tasks.add_task(relay.wake)
    return order


@router.get(
    "/drug-orders",
    response_model=Page[DrugOrderOut],
    summary="Drug orders with their lines, newest first (q: YZ number, ZY number, patient name)",
    **READ,
)
async def list_orders(
    session: ReadSession,
    principal: CurrentPrincipal,
    paging: Paging,
    stay_id: Annotated[int | None, Query(ge=1)] = None,
    state: Annotated[DrugOrderState | None, Query(description="pending | dispensed | cancelled")] = None,
) -> Page[DrugOrderOut]:
    return await service.page(session, paging, principal.departments, stay_id, state)


@router.get("/drug-orders/{order_id}", response_model=DrugOrderOut, summary="One drug order", **READ)
async def get_order(session: ReadSession, principal: CurrentPrincipal, order_id: Id) -> DrugOrderOut:
    return await service.get(session, order_id, principal.departments)


@router.get(
    "/undispensed",
    response_model=list[UndispensedLine],
    summary="Drug lines booked and not yet dispensed (what keeps a stay from settling)",
    **READ,
)
async def undispensed(
    session: ReadSession, principal: CurrentPrincipal, stay_id: Annotated[int | None, Query(ge=1)] = None
) -> list[UndispensedLine]:
    return await service.undispensed(session, principal.departments, stay_id)


@router.post(
    "/drug-orders/{order_id}/returns",
    response_model=DrugOrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Return or cancel lines (退药/撤销): claimed at the pharmacy first, then credited (Idempotency-Key)",
    responses={
        201: {"description": f"The order with its credits. {REPLAY_DOC}"},
        409: {"description": "Handed out and not returned at the pharmacy (`already_dispensed`), already "
                             "credited, or the stay settled"},
        503: {"description": "The pharmacy did not answer (`pharmacy_unavailable`): nothing was credited"},
    },
    **WRITE,
)  # fmt: skip
async def give_back(
    db: Db, services: Services, key: RequiredIdempotencyKey, principal: CurrentPrincipal, order_id: Id,
    body: DrugReturnIn,
) -> JSONResponse:  # fmt: skip
    return answered(await service.give_back_once(db, services, order_id, body, principal, key))


@router.post(
    "/orders/{order_id}/dispensed",
    response_model=DrugOrderOut,
    summary="The pharmacy reports a drug order dispensed (sent by pms's outbox, with an Idempotency-Key)",
    responses={200: {"description": f"The order. {REPLAY_DOC}"}},
    **PHARMACY,
)
async def dispensed(db: Db, key: IdempotencyKey, order_id: Id, body: DispensedIn) -> JSONResponse:
    return answered(await service.dispensed_once(db, key, order_id, body))


@router.post(
    "/refunds/claimed",
    response_model=DrugOrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="The pharmacy claimed lines of a drug order (sent by pms's outbox): credited if they are not yet",
    responses={201: {"description": f"The order. {REPLAY_DOC}"}},
    **PHARMACY,
)
async def refund_claimed(db: Db, key: IdempotencyKey, body: ClaimedIn) -> JSONResponse:
    return answered(await service.record_claimed_once(db, key, body))


routers = [router]

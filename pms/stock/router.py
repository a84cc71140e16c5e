"""HTTP for pharmacy stock: deliveries from the warehouse, the shelf, its ledger, traceability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from pms.stock import service
from pms.stock.models import DeliveryIn, DeliveryOut, MovementOut, StockOut, TraceOut
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, RequiredIdempotencyKey, answered
from shared.paging import Page, PageParams, sortable
from shared.state import Db, HospitalToday
from shared.stock import Movement

TAG = "stock 药房库存"
DELIVERY_READ = requires("pms:delivery:read", Text("药房入库", "deliveries"))
DELIVERY_WRITE = requires("pms:delivery:write", Text("药房入库", "deliveries"))
STOCK_READ = requires("pms:stock:read", Text("药房库存", "pharmacy stock"))
# Names the patients who received a batch: a permission of its own.
TRACE_READ = requires("pms:trace:read", Text("批次追溯", "batch traceability"))

deliveries = APIRouter(prefix="/api/pms/deliveries", tags=[TAG])
stock = APIRouter(prefix="/api/pms/stock", tags=[TAG])


@deliveries.post(
    "",
    status_code=201,
    response_model=DeliveryOut,
    summary="Receive an outbound order of the warehouse into pharmacy stock (sent by the sms outbox; once per key)",
    responses={201: {"description": f"The delivery. {REPLAY_DOC}"}},
    **DELIVERY_WRITE,
)
async def receive(
    db: Db, today: HospitalToday, key: RequiredIdempotencyKey, body: DeliveryIn, principal: CurrentPrincipal
) -> JSONResponse:
    return answered(await service.receive_once(db, key, body, today, principal.username))


@deliveries.get("", response_model=Page[DeliveryOut], summary="Deliveries received, newest first", **DELIVERY_READ)
async def list_deliveries(
    session: ReadSession, paging: Annotated[PageParams, sortable(**service.DELIVERY_SORTS)]
) -> Page[DeliveryOut]:
    return await service.deliveries(session, paging)


@deliveries.get("/{delivery_id}", response_model=DeliveryOut, summary="One delivery", **DELIVERY_READ)
async def get_delivery(session: ReadSession, delivery_id: Annotated[int, Path(ge=1)]) -> DeliveryOut:
    return await service.get_delivery(session, delivery_id)


@stock.get("", response_model=Page[StockOut], summary="Pharmacy stock by batch, first expiry first", **STOCK_READ)
async def shelf(
    session: ReadSession,
    today: HospitalToday,
    paging: Annotated[PageParams, sortable(**service.STOCK_SORTS)],
    drug_id: Annotated[int | None, Query(ge=1)] = None,
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650, description="expired or expiring by then")] = None,
    include_empty: Annotated[bool, Query(description="also batches with nothing left")] = False,
) -> Page[StockOut]:
    return await service.shelf(
        session, paging, today, drug_id=drug_id, batch_no=batch_no,
        expiring_within_days=expiring_within_days, include_empty=include_empty,
    )  # fmt: skip


@stock.get("/movements", response_model=Page[MovementOut], summary="The stock ledger, newest first", **STOCK_READ)
async def movements(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.MOVEMENT_SORTS)],
    drug_id: Annotated[int | None, Query(ge=1)] = None,
    batch_id: Annotated[int | None, Query(ge=1)] = None,
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
    movement: Movement | None = None,
    reference: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[MovementOut]:
    return await service.ledger(
        session, paging, drug_id=drug_id, batch_id=batch_id, batch_no=batch_no, movement=movement, reference=reference
    )


@stock.get(
    "/trace",
    response_model=Page[TraceOut],
    summary="Who received a batch (batch_no, drug_id), or the batches a patient received (visit_number, patient_name)",
    **TRACE_READ,
)
async def trace(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.TRACE_SORTS)],
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
    drug_id: Annotated[int | None, Query(ge=1)] = None,
    visit_number: Annotated[str | None, Query(max_length=32)] = None,
    patient_name: Annotated[str | None, Query(max_length=50)] = None,
) -> Page[TraceOut]:
    return await service.trace(
        session, paging, batch_no=batch_no, drug_id=drug_id, visit_number=visit_number, patient_name=patient_name
    )


routers = [deliveries, stock]

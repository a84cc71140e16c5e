"""HTTP for returns: a patient's drugs back onto the shelf (退药), pharmacy stock back to the
warehouse (退库)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query

from pms.returns import service
from pms.returns.models import Destination, DrugReturnIn, DrugReturnOut, WarehouseReturnIn, WarehouseReturnOut
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday, Outbox

TAG = "returns 退药退库"
DRUG_RETURN_LABEL = Text("取药单", "dispensing orders")
STOCK_LABEL = Text("药房库存", "pharmacy stock")

drug_returns = APIRouter(tags=[TAG])
warehouse_returns = APIRouter(prefix="/api/pms/warehouse-returns", tags=[TAG])


@drug_returns.post(
    "/api/pms/dispensing-orders/{order_id}/returns",
    status_code=201,
    response_model=DrugReturnOut,
    summary="A patient gives dispensed lines back (退药): their units go back into the batches they came from",
    responses={409: {"description": "A line not dispensed, or already returned (`not_returnable`)"}},
    **requires("pms:dispensing:write", DRUG_RETURN_LABEL),
)
async def return_drugs(
    session: WriteSession,
    today: HospitalToday,
    principal: CurrentPrincipal,
    order_id: Annotated[int, Path(ge=1)],
    body: DrugReturnIn,
) -> DrugReturnOut:
    return await service.return_drugs(session, order_id, body, today, principal.username)


@drug_returns.get(
    "/api/pms/drug-returns",
    response_model=Page[DrugReturnOut],
    summary="Patient drug returns (退药), newest first",
    **requires("pms:dispensing:read", DRUG_RETURN_LABEL),
)
async def list_drug_returns(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.DRUG_RETURN_SORTS)],
    dispensing_order_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[DrugReturnOut]:
    return await service.drug_returns(session, paging, dispensing_order_id)


@warehouse_returns.post(
    "",
    status_code=201,
    response_model=WarehouseReturnOut,
    summary="Send pharmacy stock back to the warehouse (退库), into stock or to disposal; queued to sms at once",
    responses={409: {"description": "More than the batch holds (`insufficient_stock`)"}},
    **requires("pms:stock:write", STOCK_LABEL),
)
async def return_to_warehouse(
    session: WriteSession,
    relay: Outbox,
    tasks: BackgroundTasks,
    today: HospitalToday,
    principal: CurrentPrincipal,
    body: WarehouseReturnIn,
) -> WarehouseReturnOut:
    out = await service.return_to_warehouse(session, body, today, principal.username)
    # After the response, so after the commit: the relay sends it now instead of at its next pass.
    tasks.add_task(relay.wake)
    return out


@warehouse_returns.get(
    "",
    response_model=Page[WarehouseReturnOut],
    summary="Returns to the warehouse (退库), newest first",
    **requires("pms:stock:read", STOCK_LABEL),
)
async def list_warehouse_returns(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.WAREHOUSE_RETURN_SORTS)],
    destination: Annotated[Destination | None, Query(description="stock | disposal")] = None,
) -> Page[WarehouseReturnOut]:
    return await service.warehouse_returns(session, paging, destination)


routers = [drug_returns, warehouse_returns]

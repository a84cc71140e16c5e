"""HTTP for stock-takes (盘点): snapshot, count, submit, approve (by another person), cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday
from sms.masterdata import MasterData, master_data
from sms.stocktakes import service
from sms.stocktakes.models import CountIn, State, StocktakeIn, StocktakeOut

TAG = "stocktakes 盘点"
LABEL = Text("盘点单", "stock-takes")
READ = requires("sms:stocktake:read", LABEL)
WRITE = requires("sms:stocktake:write", LABEL)
# Approving posts the differences into stock: a permission of its own, and never the sheet's writer.
APPROVE = requires("sms:stocktake:approve", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]
SheetId = Annotated[int, Path(ge=1)]
LineId = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/sms/stocktakes", tags=[TAG])


@router.get("", response_model=Page[StocktakeOut], summary="Stock-takes, newest first", **READ)
async def list_stocktakes(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    state: Annotated[State | None, Query(description="counting | submitted | approved | cancelled")] = None,
    warehouse_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[StocktakeOut]:
    return await service.page(session, paging, state=state, warehouse_id=warehouse_id)


@router.get("/{stocktake_id}", response_model=StocktakeOut, summary="One stock-take with its lines", **READ)
async def get_stocktake(session: ReadSession, stocktake_id: SheetId) -> StocktakeOut:
    return await service.get(session, stocktake_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StocktakeOut,
    summary="Start a stock-take: every batch with stock in the warehouse, at its book quantity now",
    **WRITE,
)
async def create_stocktake(
    session: WriteSession, masters: Masters, today: HospitalToday, principal: CurrentPrincipal, body: StocktakeIn
) -> StocktakeOut:
    return await service.create(session, masters, body, today, principal.username)


@router.put(
    "/{stocktake_id}/lines/{line_id}",
    response_model=StocktakeOut,
    summary="Record the quantity counted on the shelf for one batch",
    **WRITE,
)
async def count_line(session: WriteSession, stocktake_id: SheetId, line_id: LineId, body: CountIn) -> StocktakeOut:
    return await service.count(session, stocktake_id, line_id, body.counted_quantity)


@router.post(
    "/{stocktake_id}/submit",
    response_model=StocktakeOut,
    summary="Submit a counted sheet for approval (409 while a batch is uncounted)",
    **WRITE,
)
async def submit_stocktake(session: WriteSession, stocktake_id: SheetId, principal: CurrentPrincipal) -> StocktakeOut:
    return await service.submit(session, stocktake_id, principal.username)


@router.post(
    "/{stocktake_id}/approve",
    response_model=StocktakeOut,
    summary="Approve: each difference posted as a stock adjustment (409 for the writer, or when a batch moved since)",
    **APPROVE,
)
async def approve_stocktake(
    session: WriteSession, today: HospitalToday, stocktake_id: SheetId, principal: CurrentPrincipal
) -> StocktakeOut:
    return await service.approve(session, stocktake_id, today, principal.username)


@router.post("/{stocktake_id}/cancel", response_model=StocktakeOut, summary="Cancel a sheet not yet approved", **WRITE)
async def cancel_stocktake(session: WriteSession, stocktake_id: SheetId, principal: CurrentPrincipal) -> StocktakeOut:
    return await service.cancel(session, stocktake_id, principal.username)


routers = [router]

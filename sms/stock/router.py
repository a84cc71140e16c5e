"""HTTP for the stock query (库存查询) and the stock ledger (操作记录): read-only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shared.auth import requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.paging import Page, PageParams, PlainPaging, sortable
from shared.state import HospitalToday, Timezone
from shared.stock import Movement
from sms.masterdata import MasterData, master_data
from sms.stock import service
from sms.stock.models import MovementRow, StockRow

TAG = "stock 库存"
READ = requires("sms:stock:read", Text("库存", "stock"))
Masters = Annotated[MasterData, Depends(master_data)]
Id = Annotated[int | None, Query(ge=1)]

router = APIRouter(prefix="/api/sms/stock", tags=[TAG])


@router.get(
    "", response_model=Page[StockRow], summary="Stock by batch, with its value at purchase and selling price", **READ
)
async def list_stock(
    session: ReadSession,
    masters: Masters,
    today: HospitalToday,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    drug_id: Id = None,
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
    warehouse_id: Id = None,
    supplier_id: Id = None,
    include_empty: Annotated[bool, Query(description="Also batches with nothing left.")] = False,
) -> Page[StockRow]:
    return await service.stock_page(
        session, masters, paging, today, drug_id=drug_id, batch_no=batch_no, warehouse_id=warehouse_id,
        supplier_id=supplier_id, include_empty=include_empty,
    )  # fmt: skip


@router.get("/movements", response_model=Page[MovementRow], summary="The stock ledger (操作记录), newest first", **READ)
async def list_movements(
    session: ReadSession,
    masters: Masters,
    timezone: Timezone,
    paging: PlainPaging,
    drug_id: Id = None,
    batch_id: Id = None,
    batch_no: Annotated[str | None, Query(max_length=50)] = None,
    warehouse_id: Id = None,
    movement: Annotated[Movement | None, Query(description="The kind of movement")] = None,
    reference: Annotated[str | None, Query(max_length=40, description="An order number, e.g. RK20261128-00001")] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Page[MovementRow]:
    return await service.movements_page(
        session, masters, paging, timezone, drug_id=drug_id, batch_id=batch_id, batch_no=batch_no,
        warehouse_id=warehouse_id, movement=movement, reference=reference, date_from=date_from, date_to=date_to,
    )  # fmt: skip


routers = [router]

"""HTTP for low-stock thresholds and the two alerts: 库存不足 and 过期提醒."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PlainPaging
from shared.state import HospitalToday, lifespan_value
from sms.alerts import service
from sms.alerts.models import ExpiryRow, LowStockRow, ThresholdIn, ThresholdOut
from sms.masterdata import MasterData, master_data
from sms.settings import SmsSettings

ALERTS = requires("sms:alert:read", Text("库存预警", "stock alerts"))
THRESHOLD_LABEL = Text("库存下限", "low-stock thresholds")
THRESHOLD_READ = requires("sms:threshold:read", THRESHOLD_LABEL)
THRESHOLD_WRITE = requires("sms:threshold:write", THRESHOLD_LABEL)
Masters = Annotated[MasterData, Depends(master_data)]
Config = Annotated[SmsSettings, lifespan_value("settings")]
DrugId = Annotated[int, Path(ge=1)]
WarehouseId = Annotated[int | None, Query(ge=1, description="One warehouse (default: all)")]

alerts = APIRouter(prefix="/api/sms/alerts", tags=["alerts 库存预警"])
thresholds = APIRouter(prefix="/api/sms/thresholds", tags=["alerts 库存预警"])


@alerts.get(
    "/low-stock",
    response_model=Page[LowStockRow],
    summary="Drugs whose unexpired stock is below their threshold (库存不足), largest shortfall first",
    **ALERTS,
)
async def low_stock(
    session: ReadSession,
    masters: Masters,
    today: HospitalToday,
    config: Config,
    paging: PlainPaging,
    warehouse_id: WarehouseId = None,
) -> Page[LowStockRow]:
    return await service.low_stock(session, masters, paging, today, config.low_stock_threshold, warehouse_id)


@alerts.get(
    "/expiry",
    response_model=Page[ExpiryRow],
    summary="Batches in stock that are expired or expire within `days` days (过期提醒), soonest first",
    **ALERTS,
)
async def expiry(
    session: ReadSession,
    masters: Masters,
    today: HospitalToday,
    config: Config,
    paging: PlainPaging,
    days: Annotated[int | None, Query(ge=0, le=3650, description="Default: the expiry_warning_days setting")] = None,
    warehouse_id: WarehouseId = None,
) -> Page[ExpiryRow]:
    window = config.expiry_warning_days if days is None else days
    return await service.expiry(session, masters, paging, today, window, warehouse_id)


@thresholds.get("/{drug_id}", response_model=ThresholdOut, summary="A drug's low-stock threshold", **THRESHOLD_READ)
async def get_threshold(session: ReadSession, config: Config, drug_id: DrugId) -> ThresholdOut:
    return await service.threshold(session, drug_id, config.low_stock_threshold)


@thresholds.put(
    "/{drug_id}", response_model=ThresholdOut, summary="Set a drug's own low-stock threshold", **THRESHOLD_WRITE
)
async def set_threshold(
    session: WriteSession,
    masters: Masters,
    config: Config,
    principal: CurrentPrincipal,
    drug_id: DrugId,
    body: ThresholdIn,
) -> ThresholdOut:
    return await service.set_threshold(
        session, masters, drug_id, body.threshold, config.low_stock_threshold, principal.username
    )


routers = [alerts, thresholds]

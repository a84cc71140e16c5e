"""HTTP for the cashier's day: the open period, closing it (交班/日结), the reports and a supervisor's day.

No route changes or deletes a settlement: a settled period is corrected by new records, which
fall into the cashier's next period."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from oms.settlements import report, service
from oms.settlements.models import OpenPeriod, SettlementDay, SettlementOut
from oms.state import OmsConfig
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.state import HospitalToday, Timezone

LABEL = Text("收费日结", "cashier settlement")
READ = requires("oms:settlement:read", LABEL)
WRITE = requires("oms:settlement:write", LABEL)
READ_ALL = requires(service.READ_ALL, Text("全院日结汇总（收费主管）", "all cashiers' settlements (supervisor)"))

router = APIRouter(prefix="/api/oms/cashier-settlements", tags=["settlements 收费日结"])


@router.get("/preview", response_model=OpenPeriod, summary="The caller's open period, not stored", **READ)
async def preview(session: ReadSession, principal: CurrentPrincipal) -> OpenPeriod:
    return await service.preview(session, principal)


@router.post(
    "", response_model=SettlementOut, status_code=201, summary="Close the caller's open period (交班/日结)", **WRITE
)
async def settle(session: WriteSession, timezone: Timezone, principal: CurrentPrincipal) -> SettlementOut:
    return await service.settle(session, principal, timezone)


@router.get(
    "/day", response_model=SettlementDay, summary="Every cashier's settlements of a day and the total", **READ_ALL
)
async def day(
    session: ReadSession,
    timezone: Timezone,
    today: HospitalToday,
    on: Annotated[date | None, Query(alias="date")] = None,
) -> SettlementDay:
    return await service.day(session, on or today, timezone)


@router.get("", response_model=Page[SettlementOut], summary="Settlements: one's own, or anyone's (supervisor)", **READ)
async def search(
    session: ReadSession,
    principal: CurrentPrincipal,
    paging: Paging,
    on: Annotated[date | None, Query(alias="date")] = None,
    cashier: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[SettlementOut]:
    return await service.search(session, principal, paging, on, cashier)


@router.get("/{settlement_id}", response_model=SettlementOut, summary="A settlement", **READ)
async def get(session: ReadSession, principal: CurrentPrincipal, settlement_id: int) -> SettlementOut:
    return service.present(await service.get(session, principal, settlement_id))


@router.get("/{settlement_id}/report.pdf", summary="The printable settlement (PDF)", **READ)
async def report_pdf(
    session: ReadSession, settings: OmsConfig, principal: CurrentPrincipal, settlement_id: int
) -> Response:
    return report.pdf_answer(await service.get(session, principal, settlement_id), settings)


@router.get("/{settlement_id}/report.xlsx", summary="The settlement as a spreadsheet (XLSX)", **READ)
async def report_xlsx(
    session: ReadSession, settings: OmsConfig, principal: CurrentPrincipal, settlement_id: int
) -> Response:
    return report.xlsx_answer(await service.get(session, principal, settlement_id), settings)


routers = [router]

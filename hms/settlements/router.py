"""HTTP for discharge settlements (出院结算) and their reversals (结算冲销)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from hms.config import Config
from hms.settlements import service
from hms.settlements.models import ReversalIn, SettlementIn, SettlementKind, SettlementOut, SettlementPreview
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday

LABEL = Text("出院结算", "discharge settlements")
READ = requires("hms:settlement:read", LABEL)
WRITE = requires("hms:settlement:write", LABEL)
# A separate permission: undoing a settlement is not every cashier's.
REVERSE = requires("hms:settlement:reverse", Text("结算冲销", "settlement reversal"))
Id = Annotated[int, Path(ge=1)]


async def _clock(config: Config, today: HospitalToday) -> service.Clock:
    return service.Clock(today=today, timezone=config.timezone, rule=config.bed_day_rule)


Clock = Annotated[service.Clock, Depends(_clock)]

router = APIRouter(prefix="/api/hms", tags=["settlements 出院结算"])


@router.get(
    "/stays/{stay_id}/settlement-preview",
    response_model=SettlementPreview,
    summary="The figures a settlement of the stay would write now (bed-days still due included, nothing written)",
    **READ,
)
async def preview(session: ReadSession, clock: Clock, principal: CurrentPrincipal, stay_id: Id) -> SettlementPreview:
    return await service.preview(session, stay_id, clock, principal.departments)


@router.post(
    "/stays/{stay_id}/settlement",
    response_model=SettlementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Settle the stay (出院结算): refund the surplus or collect the amount due, free the bed",
    responses={
        409: {"description": "Settled already (`stay_settled`), drugs not dispensed (`undispensed_drugs`), "
              "or the total is not `expected_total` (`account_changed`)"}
    },
    **WRITE,
)  # fmt: skip
async def settle(
    session: WriteSession, clock: Clock, principal: CurrentPrincipal, stay_id: Id, body: SettlementIn
) -> SettlementOut:
    return await service.settle(session, stay_id, body, principal, clock)


@router.get(
    "/settlements",
    response_model=Page[SettlementOut],
    summary="Settlements and reversals, newest first (q: JS number, ZY number, patient name)",
    **READ,
)
async def list_settlements(
    session: ReadSession,
    principal: CurrentPrincipal,
    paging: Annotated[PageParams, sortable(**service.SORTS)],
    stay_id: Annotated[int | None, Query(ge=1)] = None,
    kind: SettlementKind | None = None,
) -> Page[SettlementOut]:
    return await service.settlements(session, paging, stay_id, kind, principal.departments)


@router.get("/settlements/{settlement_id}", response_model=SettlementOut, summary="A settlement", **READ)
async def get_settlement(session: ReadSession, principal: CurrentPrincipal, settlement_id: Id) -> SettlementOut:
    return await service.settlement(session, settlement_id, principal.departments)


@router.get("/settlements/{settlement_id}/pdf", summary="The settlement document (住院结算单, PDF)", **READ)
async def settlement_pdf(
    session: ReadSession, config: Config, principal: CurrentPrincipal, settlement_id: Id
) -> Response:
    number, pdf = await service.document(session, settlement_id, config, principal.departments)
    disposition = f'inline; filename="{number}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post(
    "/settlements/{settlement_id}/reverse",
    response_model=SettlementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Reverse a settlement (结算冲销): the stay admitted again, its bed taken again",
    responses={409: {"description": "Reversed already (`already_reversed`), a reversal (`not_reversible`), "
                     "or the bed is taken (`bed_taken`)"}},
    **REVERSE,
)  # fmt: skip
async def reverse(
    session: WriteSession, today: HospitalToday, principal: CurrentPrincipal, settlement_id: Id, body: ReversalIn
) -> SettlementOut:
    return await service.reverse(session, settlement_id, body, principal, today)


routers = [router]

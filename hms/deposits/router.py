"""HTTP for deposits (预交款) and the low-balance list (催款名单)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from hms.config import Config
from hms.deposits import service
from hms.deposits.models import DepositOut
from hms.stays.models import DepositIn, StayOut
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging, PlainPaging
from shared.state import HospitalToday

LABEL = Text("预交款", "deposits")
READ = requires("hms:deposit:read", LABEL)
WRITE = requires("hms:deposit:write", LABEL)
Id = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/hms", tags=["deposits 预交款"])


@router.post(
    "/stays/{stay_id}/deposits",
    response_model=DepositOut,
    status_code=status.HTTP_201_CREATED,
    summary="Take a deposit for a stay (预交款)",
    responses={409: {"description": "The stay is settled (`stay_settled`)"}},
    **WRITE,
)
async def pay_in(
    session: WriteSession, today: HospitalToday, principal: CurrentPrincipal, stay_id: Id, body: DepositIn
) -> DepositOut:
    return await service.pay(session, stay_id, body, principal, today)


@router.get(
    "/deposits", response_model=Page[DepositOut], summary="Deposits, newest first (q: YJ/ZY number, patient)", **READ
)
async def list_deposits(
    session: ReadSession,
    principal: CurrentPrincipal,
    paging: Paging,
    stay_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[DepositOut]:
    return await service.deposits(session, paging, stay_id, principal.departments)


@router.get(
    "/low-balance",
    response_model=Page[StayOut],
    summary="Admitted stays whose balance is below the threshold, lowest first (催款名单)",
    **READ,
)
async def low_balance(
    session: ReadSession,
    config: Config,
    principal: CurrentPrincipal,
    paging: PlainPaging,
    threshold: Annotated[Decimal | None, Query(ge=0, le=Decimal("9999999999.99"), decimal_places=2)] = None,
) -> Page[StayOut]:
    limit = config.low_balance_threshold if threshold is None else threshold
    return await service.low_balance(session, paging, limit, principal.departments)


routers = [router]

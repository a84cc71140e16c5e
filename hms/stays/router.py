"""HTTP for admissions (入院登记), stays and transfers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from hms.config import Config
from hms.stays import account, service
from hms.stays.models import AdmissionIn, StayOut, StayState, TransferIn, TransferOut
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday, Services

LABEL = Text("入院登记", "admissions")
READ = requires("hms:admission:read", LABEL)
WRITE = requires("hms:admission:write", LABEL)
TRANSFER = requires("hms:transfer:write", Text("转科转床", "transfers"))
Id = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/hms", tags=["stays 入院登记"])


@router.post(
    "/stays",
    response_model=StayOut,
    status_code=status.HTTP_201_CREATED,
    summary="Admit a patient (from an outpatient transfer or directly); the bed is taken atomically",
    responses={409: {"description": "The bed is taken (`bed_taken`) or the transfer already admitted (`not_pending`)"}},
    **WRITE,
)
async def admit(
    session: WriteSession, services: Services, config: Config, today: HospitalToday,
    principal: CurrentPrincipal, body: AdmissionIn,
) -> StayOut:  # fmt: skip
    stay = await service.admit(session, services, body, principal, today)
    return account.present(stay, config.low_balance_threshold)


@router.get(
    "/stays", response_model=Page[StayOut], summary="Stays, newest first (q: ZY number, patient, visit number)", **READ
)
async def list_stays(
    session: ReadSession,
    config: Config,
    principal: CurrentPrincipal,
    paging: Annotated[PageParams, sortable(**service.STAY_SORTS)],
    state: StayState | None = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    ward_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[StayOut]:
    rows, total = await service.stays(session, paging, state, department_id, ward_id, principal.departments)
    items = [account.present(s, config.low_balance_threshold) for s in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/stays/{stay_id}", response_model=StayOut, summary="One stay with its account's figures", **READ)
async def get_stay(session: ReadSession, config: Config, principal: CurrentPrincipal, stay_id: Id) -> StayOut:
    return account.present(await account.visible(session, stay_id, principal.departments), config.low_balance_threshold)


@router.post(
    "/stays/{stay_id}/transfers",
    response_model=TransferOut,
    status_code=status.HTTP_201_CREATED,
    summary="Move a stay to another bed or department (转科转床)",
    responses={409: {"description": "The bed is taken (`bed_taken`) or the stay settled (`stay_settled`)"}},
    **TRANSFER,
)
async def transfer(
    session: WriteSession, services: Services, config: Config, today: HospitalToday,
    principal: CurrentPrincipal, stay_id: Id, body: TransferIn,
) -> TransferOut:  # fmt: skip
    move = await service.transfer(
        session, services, stay_id, body, principal, today, config.bed_day_rule, config.timezone
    )
    return TransferOut.model_validate(move)


@router.get("/stays/{stay_id}/transfers", response_model=list[TransferOut], summary="A stay's transfers", **READ)
async def list_transfers(session: ReadSession, principal: CurrentPrincipal, stay_id: Id) -> list[TransferOut]:
    return await service.transfers(session, stay_id, principal.departments)


@router.get(
    "/admission-requests",
    summary="Outpatient transfers waiting for admission (from oms), oldest first",
    **READ,
)
async def admission_requests(
    services: Services,
    state: Annotated[str | None, Query(pattern="^(pending|admitted|cancelled)$")] = "pending",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    return await service.admission_requests(services, state, page, size)


routers = [router]

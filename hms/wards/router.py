"""HTTP for wards, beds and the bed board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from hms.config import Config
from hms.wards import service
from hms.wards.models import BedIn, BedOut, BedState, BedStateIn, BedUpdate, BoardWard, WardIn, WardOut
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, PageParams, sortable
from shared.state import HospitalToday, Services

LABEL = Text("病区床位", "wards and beds")
READ = requires("hms:ward:read", LABEL)
WRITE = requires("hms:ward:write", LABEL)
Id = Annotated[int, Path(ge=1)]

router = APIRouter(prefix="/api/hms", tags=["wards 病区床位"])


async def board_view(today: HospitalToday, config: Config) -> service.Board:
    return service.Board(today=today, timezone=config.timezone, threshold=config.low_balance_threshold)


BoardView = Annotated[service.Board, Depends(board_view)]


@router.get("/wards", response_model=Page[WardOut], summary="Wards (q: code, name)", **READ)
async def list_wards(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.WARD_SORTS)],
    department_id: Annotated[int | None, Query(ge=1)] = None,
    enabled: bool | None = None,
) -> Page[WardOut]:
    return await service.wards(session, paging, department_id, enabled)


@router.get("/wards/{ward_id}", response_model=WardOut, summary="One ward", **READ)
async def get_ward(session: ReadSession, ward_id: Id) -> WardOut:
    return await service.ward(session, ward_id)


@router.post("/wards", response_model=WardOut, status_code=status.HTTP_201_CREATED, summary="Add a ward", **WRITE)
async def add_ward(session: WriteSession, services: Services, body: WardIn) -> WardOut:
    return await service.save_ward(session, services, body)


@router.put("/wards/{ward_id}", response_model=WardOut, summary="Change a ward", **WRITE)
async def update_ward(session: WriteSession, services: Services, ward_id: Id, body: WardIn) -> WardOut:
    return await service.save_ward(session, services, body, ward_id)


@router.post("/wards/{ward_id}/disable", response_model=WardOut, summary="Disable a ward", **WRITE)
async def disable_ward(session: WriteSession, ward_id: Id) -> WardOut:
    return await service.set_ward_enabled(session, ward_id, False)


@router.post("/wards/{ward_id}/enable", response_model=WardOut, summary="Enable a ward", **WRITE)
async def enable_ward(session: WriteSession, ward_id: Id) -> WardOut:
    return await service.set_ward_enabled(session, ward_id, True)


@router.get("/beds", response_model=Page[BedOut], summary="Beds (q: bed number)", **READ)
async def list_beds(
    session: ReadSession,
    paging: Annotated[PageParams, sortable(**service.BED_SORTS)],
    ward_id: Annotated[int | None, Query(ge=1)] = None,
    state: BedState | None = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[BedOut]:
    return await service.beds(session, paging, ward_id, state, department_id)


@router.get("/beds/{bed_id}", response_model=BedOut, summary="One bed", **READ)
async def get_bed(session: ReadSession, bed_id: Id) -> BedOut:
    return await service.bed(session, bed_id)


@router.post("/beds", response_model=BedOut, status_code=status.HTTP_201_CREATED, summary="Add a bed", **WRITE)
async def add_bed(session: WriteSession, body: BedIn) -> BedOut:
    return await service.add_bed(session, body)


@router.put("/beds/{bed_id}", response_model=BedOut, summary="Change a bed's number, price or remark", **WRITE)
async def update_bed(session: WriteSession, bed_id: Id, body: BedUpdate) -> BedOut:
    return await service.update_bed(session, bed_id, body)


@router.post(
    "/beds/{bed_id}/state",
    response_model=BedOut,
    summary="Set a bed free, cleaning or closed (409 while occupied)",
    **WRITE,
)
async def set_bed_state(session: WriteSession, bed_id: Id, body: BedStateIn) -> BedOut:
    return await service.set_bed_state(session, bed_id, body)


@router.get("/bed-board", response_model=list[BoardWard], summary="The bed board (床位一览)", **READ)
async def bed_board(
    session: ReadSession, view: BoardView, ward_id: Annotated[int | None, Query(ge=1)] = None
) -> list[BoardWard]:
    return await service.board(session, ward_id, view)


routers = [router]

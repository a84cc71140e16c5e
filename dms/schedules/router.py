"""HTTP for the roster: schedules, copy-week and the places still free on a day."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from dms.masterdata import MasterData, master_data
from dms.schedules import service
from dms.schedules.models import (
    CopyWeekIn,
    CopyWeekOut,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    ScheduleStatus,
    ScheduleUpdate,
)
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.state import HospitalToday

LABEL = Text("排班", "schedule")
READ = requires("dms:schedule:read", LABEL)
WRITE = requires("dms:schedule:write", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]

router = APIRouter(prefix="/api/dms", tags=["schedules 排班"])


@router.get("/schedules", response_model=ScheduleList, summary="The roster of a date range (not paged)", **READ)
async def list_schedules(
    session: ReadSession,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    status: ScheduleStatus | None = None,
) -> ScheduleList:
    found = await service.roster(
        session,
        date_from=date_from,
        date_to=date_to,
        department_id=department_id,
        doctor_id=doctor_id,
        status=status,
    )
    return ScheduleList(items=[ScheduleOut.model_validate(s) for s in found])


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut, summary="One schedule", **READ)
async def get_schedule(session: ReadSession, schedule_id: int) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.get(session, schedule_id))


@router.post(
    "/schedules",
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a doctor's shift (doctor and type checked at dbs)",
    **WRITE,
)
async def create_schedule(
    session: WriteSession, masters: Masters, today: HospitalToday, body: ScheduleIn
) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.create(session, masters, body, today))


@router.post(
    "/schedules/copy-week",
    response_model=CopyWeekOut,
    summary="Copy one week's schedules to a later week",
    **WRITE,
)
async def copy_week(session: WriteSession, masters: Masters, today: HospitalToday, body: CopyWeekIn) -> CopyWeekOut:
    return await service.copy_week(session, masters, body, today)


@router.put(
    "/schedules/{schedule_id}",
    response_model=ScheduleOut,
    summary="Change the registration type or quota (409 below the booked places)",
    **WRITE,
)
async def update_schedule(
    session: WriteSession, masters: Masters, schedule_id: int, body: ScheduleUpdate
) -> ScheduleOut:
    return ScheduleOut.model_validate(await service.change(session, masters, schedule_id, body))


@router.delete(
    "/schedules/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a schedule nobody has booked (409 otherwise)",
    **WRITE,
)
async def delete_schedule(session: WriteSession, schedule_id: int) -> Response:
    await service.remove(session, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/available", response_model=ScheduleList, summary="Open schedules of a day with free places", **READ)
async def available(
    session: ReadSession,
    today: HospitalToday,
    date: dt.date | None = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    registration_type_id: Annotated[int | None, Query(ge=1)] = None,
) -> ScheduleList:
    day = date or today
    found = await service.available(session, day, department_id, registration_type_id)
    return ScheduleList(items=[ScheduleOut.model_validate(s) for s in found])


routers = [router]

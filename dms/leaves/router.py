"""HTTP for leave: closing a doctor's shifts and telling who had booked them."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dms.leaves import service
from dms.leaves.models import LeaveDetail, LeaveIn, LeaveOut, LeaveStatus
from dms.masterdata import MasterData, master_data
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.state import HospitalToday

LABEL = Text("请假", "leave")
READ = requires("dms:leave:read", LABEL)
WRITE = requires("dms:leave:write", LABEL)

router = APIRouter(prefix="/api/dms/leaves", tags=["leaves 请假"])


@router.post(
    "",
    response_model=LeaveDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Record a leave: closes the doctor's schedules in range, lists the bookings to call",
    **WRITE,
)
async def create_leave(
    session: WriteSession,
    masters: Annotated[MasterData, Depends(master_data)],
    today: HospitalToday,
    body: LeaveIn,
) -> LeaveDetail:
    return await service.create(session, masters, body, today)


@router.get("", response_model=Page[LeaveOut], summary="Leaves", **READ)
async def list_leaves(
    session: ReadSession,
    paging: Paging,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    status: LeaveStatus | None = None,
) -> Page[LeaveOut]:
    return await service.search(session, paging, doctor_id=doctor_id, status=status)


@router.get("/{leave_id}", response_model=LeaveDetail, summary="One leave, its closed schedules and bookings", **READ)
async def get_leave(session: ReadSession, leave_id: int) -> LeaveDetail:
    return await service.detail(session, await service.get(session, leave_id))


@router.post("/{leave_id}/cancel", response_model=LeaveDetail, summary="Cancel a leave: reopens its schedules", **WRITE)
async def cancel_leave(session: WriteSession, leave_id: int) -> LeaveDetail:
    return await service.cancel(session, leave_id)


routers = [router]

"""HTTP for visit records (出诊记录)."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from dms.visit_records.service import VisitRecordList, visit_records
from shared.auth import requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.state import HospitalToday

READ = requires("dms:visit_record:read", Text("出诊记录", "visit record"))

router = APIRouter(prefix="/api/dms", tags=["visit records 出诊记录"])


@router.get(
    "/visit-records",
    response_model=VisitRecordList,
    summary="Per doctor and day: shifts sat, quota and live bookings (default: this month so far)",
    **READ,
)
async def list_visit_records(
    session: ReadSession,
    today: HospitalToday,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
) -> VisitRecordList:
    items = await visit_records(
        session,
        date_from=date_from or (date_to or today).replace(day=1),
        date_to=date_to or today,
        doctor_id=doctor_id,
        department_id=department_id,
    )
    return VisitRecordList(items=items)


routers = [router]

"""HTTP for bookings: made by oms with its own identity, keyed by oms's key."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.encoders import jsonable_encoder

from dms.bookings import service
from dms.bookings.models import KEY_PATTERN, BookedPlace, BookingIn, BookingOut, BookingStatus
from dms.masterdata import MasterData, master_data
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.idempotency import REPLAY_DOC, Answer, IdempotencyKey, answered
from shared.paging import Page, Paging
from shared.state import Db, Timezone

LABEL = Text("预约", "booking")
READ = requires("dms:booking:read", LABEL)
WRITE = requires("dms:booking:write", LABEL)
Masters = Annotated[MasterData, Depends(master_data)]
Key = Annotated[str, Path(min_length=1, max_length=64, pattern=KEY_PATTERN)]

router = APIRouter(prefix="/api/dms/bookings", tags=["bookings 预约"])


@router.post(
    "",
    response_model=BookedPlace,
    status_code=status.HTTP_201_CREATED,
    summary="Book a place, keyed by the Idempotency-Key header; with the schedule's department, type and fee",
    description=REPLAY_DOC,
    **WRITE,
)
async def book(db: Db, masters: Masters, timezone: Timezone, key: IdempotencyKey, body: BookingIn) -> Response:
    # Its own transaction, not WriteSession: a lost race on the key is rolled back and answered from a fresh read.
    place, created = await service.book(db, masters, body, service.booking_key(key), timezone)
    return answered(Answer(201, jsonable_encoder(place), replayed=not created))


@router.post("/{key}/release", response_model=BookingOut, summary="Give the place back (once)", **WRITE)
async def release(session: WriteSession, key: Key) -> BookingOut:
    return await service.release(session, key)


@router.get("", response_model=Page[BookingOut], summary="Bookings (q: key or visit number)", **READ)
async def list_bookings(
    session: ReadSession,
    paging: Paging,
    schedule_id: Annotated[int | None, Query(ge=1)] = None,
    status: BookingStatus | None = None,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    date: dt.date | None = None,
) -> Page[BookingOut]:
    return await service.search(session, paging, schedule_id=schedule_id, status=status, doctor_id=doctor_id, day=date)


routers = [router]

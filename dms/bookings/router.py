"""HTTP for bookings: made by oms with its own identity, keyed by oms's key."""

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from dms.bookings import service
from dms.bookings.models import KEY_PATTERN, BookingIn, BookingOut
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging

LABEL = Text("预约", "booking")
READ = requires("dms:booking:read", LABEL)
WRITE = requires("dms:booking:write", LABEL)
Key = Annotated[str, Path(min_length=1, max_length=64, pattern=KEY_PATTERN)]

router = APIRouter(prefix="/api/dms/bookings", tags=["bookings 预约"])


@router.post(
    "",
    response_model=BookingOut,
    status_code=status.HTTP_201_CREATED,
    summary="Book a place (201); the same key again answers the same booking (200)",
    responses={200: {"model": BookingOut, "description": "This key was booked before: the same booking."}},
    **WRITE,
)
async def book(request: Request, response: Response, body: BookingIn) -> BookingOut:
    # Its own transaction, not WriteSession: a lost race on the key is rolled back and answered from a fresh read.
    booking, created = await service.book(request.app.state.db, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return booking


@router.post("/{key}/release", response_model=BookingOut, summary="Give the place back (once)", **WRITE)
async def release(session: WriteSession, key: Key) -> BookingOut:
    return await service.release(session, key)


@router.get("", response_model=Page[BookingOut], summary="Bookings (q: key or visit number)", **READ)
async def list_bookings(
    session: ReadSession,
    paging: Paging,
    schedule_id: Annotated[int | None, Query(ge=1)] = None,
    status: Literal["booked", "released"] | None = None,
    doctor_id: Annotated[int | None, Query(ge=1)] = None,
    date: dt.date | None = None,
) -> Page[BookingOut]:
    return await service.search(session, paging, schedule_id=schedule_id, status=status, doctor_id=doctor_id, day=date)


routers = [router]

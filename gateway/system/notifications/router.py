from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.system.notices import service as notices
from gateway.system.notifications import service
from gateway.system.notifications.models import NotificationOut, UnreadCount
from shared.auth import LoggedIn
from shared.db import ReadSession, WriteSession
from shared.paging import Page, PlainPaging

router = APIRouter(prefix="/api/system/notifications", tags=["system 消息通知"])


@router.get("", response_model=Page[NotificationOut], summary="System notifications addressed to me, newest first")
async def mine(
    session: ReadSession,
    principal: LoggedIn,
    paging: PlainPaging,
    unread: Annotated[bool, Query(description="Only those not read yet.")] = False,
) -> Page[NotificationOut]:
    return await service.mine(session, principal, paging, unread)


@router.get("/unread-count", response_model=UnreadCount, summary="Unread notices and notifications (the bell)")
async def unread_count(session: ReadSession, principal: LoggedIn) -> UnreadCount:
    return await service.unread_counts(session, principal, notices.unread_count)


@router.post("/read-all", response_model=int, summary="Mark every notification of mine read; answers how many")
async def read_all(session: WriteSession, principal: LoggedIn) -> int:
    return await service.mark_all_read(session, principal)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark one notification read")
async def read(
    session: WriteSession, principal: LoggedIn, notification_id: Annotated[int, Path(ge=1)]
) -> NotificationOut:
    return await service.mark_read(session, principal, notification_id)

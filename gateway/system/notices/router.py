from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.system.deps import CurrentActor
from gateway.system.notices import service
from gateway.system.notices.models import InboxNotice, NoticeIn, NoticeOut, NoticeStatus, Receipts
from shared.auth import CurrentPrincipal, LoggedIn, requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging, PlainPaging

LABEL = Text("通知公告", "notices")
READ = requires("system:notice:read", LABEL)
WRITE = requires("system:notice:write", LABEL)
Id = Annotated[int, Path(ge=1)]
Unread = Annotated[bool, Query(description="Only those not opened yet.")]

router = APIRouter(prefix="/api/system/notices", tags=["system 通知公告"])


# --- every user: what is addressed to them (declared first: `inbox` is not a notice id) ---


@router.get("/inbox", response_model=Page[InboxNotice], summary="Published notices addressed to me, newest first")
async def inbox(
    session: ReadSession, principal: LoggedIn, paging: PlainPaging, unread: Unread = False
) -> Page[InboxNotice]:
    return await service.inbox(session, principal.user_id, paging, unread)


@router.post(
    "/inbox/{notice_id}/read", response_model=InboxNotice, summary="Open a notice addressed to me (its read receipt)"
)
async def open_notice(session: WriteSession, principal: LoggedIn, notice_id: Id) -> InboxNotice:
    return await service.open_notice(session, principal.user_id, notice_id)


# --- the publisher ---


@router.get("", response_model=Page[NoticeOut], summary="Every notice, newest first, with its read count", **READ)
async def list_notices(session: ReadSession, paging: Paging, status: NoticeStatus | None = None) -> Page[NoticeOut]:
    return await service.list_notices(session, paging, status)


@router.post(
    "", response_model=NoticeOut, status_code=201, summary="Write a notice (a draft, or published at once)", **WRITE
)
async def create_notice(
    session: WriteSession, body: NoticeIn, actor: CurrentActor, principal: CurrentPrincipal
) -> NoticeOut:
    return await service.create_notice(session, body, actor, principal)


@router.get("/{notice_id}", response_model=NoticeOut, summary="One notice", **READ)
async def get_notice(session: ReadSession, notice_id: Id) -> NoticeOut:
    return await service.get_notice(session, notice_id)


@router.put("/{notice_id}", response_model=NoticeOut, summary="Change a draft", **WRITE)
async def update_notice(session: WriteSession, notice_id: Id, body: NoticeIn, actor: CurrentActor) -> NoticeOut:
    return await service.update_notice(session, notice_id, body, actor)


@router.post("/{notice_id}/publish", response_model=NoticeOut, summary="Publish a draft", **WRITE)
async def publish(session: WriteSession, notice_id: Id) -> NoticeOut:
    return await service.publish(session, notice_id)


@router.post("/{notice_id}/withdraw", response_model=NoticeOut, summary="Withdraw a published notice", **WRITE)
async def withdraw(session: WriteSession, notice_id: Id) -> NoticeOut:
    return await service.withdraw(session, notice_id)


@router.get(
    "/{notice_id}/receipts", response_model=Receipts, summary="Who of the audience opened it, and who not", **READ
)
async def receipts(session: ReadSession, notice_id: Id) -> Receipts:
    return await service.receipts(session, notice_id)

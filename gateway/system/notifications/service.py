"""System notifications: occurrences raised once, closed when their thing is gone, and read by
the users who hold their permission.

An occurrence is `(key, seq)`: the thing (`key`, say "sms:low_stock:12") and which time it
appeared. While one is open nothing more is raised for its key; once closed, the thing appearing
again is the next `seq`. Two gateways that see the same thing at once both try to insert the
same `(key, seq)`: the unique constraint lets one row in and the other insert is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.system.models import User
from gateway.system.notifications.models import Kind, Notification, NotificationOut, NotificationRead, UnreadCount
from shared.auth import Principal, permission_granted
from shared.clock import local_time, utcnow
from shared.context import current_language
from shared.errors import NotFound
from shared.i18n import Text
from shared.paging import Page, PageParams

log = logging.getLogger("hamp.gateway.notifications")

# Security administrators unlock accounts (roles/builtin.py, 三员分立): they are told of a lock.
LOCKED_ACCOUNT_PERMISSION = "system:user:unlock"


@dataclass(frozen=True)
class Occurrence:
    """Something to tell, as a source sees it now. Never a patient's name, ID card or phone."""

    kind: Kind
    key: str
    permission: str
    title: Text
    body: Text
    link: str
    department_id: int | None = None


# --- raising and closing ---


async def _open_keys(session: AsyncSession, keys: Iterable[str] | None = None, prefix: str | None = None) -> set[str]:
    query = select(Notification.key).where(Notification.closed_at.is_(None))
    if keys is not None:
        query = query.where(Notification.key.in_(list(keys)))
    if prefix is not None:
        query = query.where(Notification.key.startswith(prefix, autoescape=True))
    return set((await session.execute(query)).scalars())


async def raise_occurrence(session: AsyncSession, occurrence: Occurrence, at: datetime | None = None) -> bool:
    """Raises it unless it is open already; True when this call raised it."""
    if await _open_keys(session, [occurrence.key]):
        return False
    return await _insert(session, occurrence, at or utcnow())


async def _insert(session: AsyncSession, occurrence: Occurrence, at: datetime) -> bool:
    last = select(func.max(Notification.seq)).where(Notification.key == occurrence.key)
    seq = ((await session.execute(last)).scalar_one_or_none() or 0) + 1
    try:
        async with session.begin_nested():
            await session.execute(
                insert(Notification).values(
                    kind=occurrence.kind.value,
                    key=occurrence.key,
                    seq=seq,
                    permission=occurrence.permission,
                    department_id=occurrence.department_id,
                    title_zh=occurrence.title.zh[:200],
                    title_en=occurrence.title.en[:200],
                    body_zh=occurrence.body.zh[:500],
                    body_en=occurrence.body.en[:500],
                    link=occurrence.link,
                    raised_at=at,
                )
            )
    except IntegrityError:
        # Another gateway raised this very occurrence a moment ago.
        return False
    return True


async def sync(session: AsyncSession, prefix: str, current: list[Occurrence]) -> tuple[int, int]:
    """A source answered: raise what it shows that is not open, close the open ones under its
    `prefix` it no longer shows. (raised, closed)."""
    now = utcnow()
    open_keys = await _open_keys(session, prefix=prefix)
    seen = {o.key for o in current}
    raised = 0
    for occurrence in current:
        if occurrence.key not in open_keys and await _insert(session, occurrence, now):
            raised += 1
    gone = sorted(open_keys - seen)
    closed = 0
    if gone:
        result = await session.execute(
            update(Notification)
            .where(Notification.key.in_(gone), Notification.closed_at.is_(None))
            .values(closed_at=now)
        )
        closed = result.rowcount  # type: ignore[attr-defined]
    return raised, closed


def locked_account(user: User, timezone: str) -> Occurrence:
    """A staff account locked after failed logins; staff names are no patient data."""
    username = user.username
    shown = local_time(user.locked_until, timezone) if user.locked_until is not None else ""
    who = f"{username}（{user.real_name}）" if user.real_name else username
    return Occurrence(
        kind=Kind.ACCOUNT_LOCKED,
        key=f"system:account_locked:{user.id}",
        permission=LOCKED_ACCOUNT_PERMISSION,
        title=Text(f"账号已锁定：{who}", f"Account locked: {username}"),
        body=Text(
            f"连续登录失败次数过多，账号锁定至 {shown}；如为本人操作，可在用户管理中解锁。",
            f"Too many failed logins; locked until {shown}. Unlock it under Users if it was its owner.",
        ),
        link="/system/users",
    )


# --- what a user receives ---


async def _held(session: AsyncSession, principal: Principal) -> list[str] | None:
    """The notification permissions the user holds; None: all of them (`*`)."""
    if "*" in principal.permissions:
        return None
    named = (await session.execute(select(Notification.permission).distinct())).scalars()
    return [p for p in named if permission_granted(principal.permissions, p)]


async def _addressed(session: AsyncSession, principal: Principal) -> Any:
    held = await _held(session, principal)
    condition = true() if held is None else Notification.permission.in_(held)
    if principal.departments is not None:
        departments = list(principal.departments)
        in_scope = or_(Notification.department_id.is_(None), Notification.department_id.in_(departments))
        condition = and_(condition, in_scope)
    return condition


def _unread(user_id: int) -> Any:
    return ~Notification.id.in_(select(NotificationRead.notification_id).where(NotificationRead.user_id == user_id))


def _out(row: Notification, read_at: datetime | None, lang: str) -> NotificationOut:
    assert row.id is not None
    english = lang == "en"
    return NotificationOut(
        id=row.id,
        kind=Kind(row.kind),
        title=row.title_en if english else row.title_zh,
        body=row.body_en if english else row.body_zh,
        link=row.link,
        raised_at=row.raised_at,
        closed_at=row.closed_at,
        read_at=read_at,
    )


async def mine(session: AsyncSession, principal: Principal, params: PageParams, unread: bool) -> Page[NotificationOut]:
    """Newest first; an occurrence already closed stays, marked so, until it is read."""
    read_at = (
        select(NotificationRead.read_at)
        .where(NotificationRead.notification_id == Notification.id, NotificationRead.user_id == principal.user_id)
        .scalar_subquery()
        .label("read_at")
    )
    query = select(Notification, read_at).where(await _addressed(session, principal))
    if unread:
        query = query.where(_unread(principal.user_id))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Notification.raised_at.desc(), Notification.id.desc()).offset(params.offset).limit(params.size)
    )
    lang = current_language()
    items = [_out(row, at, lang) for row, at in rows.all()]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def unread_count(session: AsyncSession, principal: Principal) -> int:
    query = (
        select(func.count())
        .select_from(Notification)
        .where(await _addressed(session, principal), _unread(principal.user_id))
    )
    return int((await session.execute(query)).scalar_one())


async def _mark(session: AsyncSession, user_id: int, ids: list[int]) -> None:
    """Insert-if-absent per notification: reading twice, or in two tabs at once, keeps the first mark."""
    now = utcnow()
    for notification_id in ids:
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(NotificationRead).values(notification_id=notification_id, user_id=user_id, read_at=now)
                )
        except IntegrityError:
            continue


async def mark_read(session: AsyncSession, principal: Principal, notification_id: int) -> NotificationOut:
    query = select(Notification).where(Notification.id == notification_id, await _addressed(session, principal))
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(Text(f"消息（编号 {notification_id}）不存在", f"Notification {notification_id} not found"))
    await _mark(session, principal.user_id, [notification_id])
    query_read = select(NotificationRead.read_at).where(
        NotificationRead.notification_id == notification_id, NotificationRead.user_id == principal.user_id
    )
    return _out(row, (await session.execute(query_read)).scalar_one(), current_language())


async def mark_all_read(session: AsyncSession, principal: Principal) -> int:
    query = select(Notification.id).where(await _addressed(session, principal), _unread(principal.user_id))
    ids = list((await session.execute(query)).scalars())
    await _mark(session, principal.user_id, ids)
    return len(ids)


async def unread_counts(
    session: AsyncSession, principal: Principal, unread_notices: Callable[[AsyncSession, int], Awaitable[int]]
) -> UnreadCount:
    """The bell: two counts on indexed columns, polled by every open console."""
    notices = await unread_notices(session, principal.user_id)
    notifications = await unread_count(session, principal)
    return UnreadCount(notices=notices, notifications=notifications, total=notices + notifications)

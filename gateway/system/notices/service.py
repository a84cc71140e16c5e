"""通知公告: writing, publishing and withdrawing notices, each user's inbox, and read receipts.

A notice addresses everyone, or the holders of chosen roles and the members of chosen
departments (either is enough). Who is addressed is worked out when it is read, not frozen at
publication: someone who joins a role later finds the notice too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, or_, select, true, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from gateway.db import audit_log
from gateway.system.delegation import Actor
from gateway.system.models import Role, User, UserRole, UserStatus
from gateway.system.notices.models import (
    Audience,
    InboxNotice,
    Notice,
    NoticeDepartment,
    NoticeIn,
    NoticeOut,
    NoticeRead,
    NoticeRole,
    NoticeStatus,
    Reader,
    Receipts,
)
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains

# --- who a notice addresses ---


def _audience(notice_ids: list[int]) -> Any:
    """(notice_id, user_id) of every active account each notice addresses now, as one subquery."""
    active = User.status == UserStatus.ACTIVE
    everyone = (
        select(Notice.id.label("notice_id"), User.id.label("user_id"))
        .join(User, true())
        .where(Notice.id.in_(notice_ids), Notice.audience == Audience.ALL, active)
    )
    by_role = (
        select(NoticeRole.notice_id, UserRole.user_id)
        .join(UserRole, UserRole.role_id == NoticeRole.role_id)
        .join(User, User.id == UserRole.user_id)
        .where(NoticeRole.notice_id.in_(notice_ids), active)
    )
    by_department = (
        select(NoticeDepartment.notice_id, User.id)
        .join(User, User.department_id == NoticeDepartment.department_id)
        .where(NoticeDepartment.notice_id.in_(notice_ids), active)
    )
    # UNION (not ALL): someone in a chosen role and a chosen department counts once.
    return union(everyone, by_role, by_department).subquery("audience")


def _addressed_to(user_id: int) -> Any:
    """The notices that address this user, as a condition on Notice."""
    roles = select(UserRole.role_id).where(UserRole.user_id == user_id)
    department = select(User.department_id).where(User.id == user_id).scalar_subquery()
    return or_(
        Notice.audience == Audience.ALL,
        Notice.id.in_(select(NoticeRole.notice_id).where(NoticeRole.role_id.in_(roles))),
        Notice.id.in_(select(NoticeDepartment.notice_id).where(NoticeDepartment.department_id == department)),
    )


async def _counts(session: AsyncSession, notice_ids: list[int]) -> dict[int, tuple[int, int]]:
    """notice id -> (accounts addressed, of them who opened it), for a page of notices in one query."""
    if not notice_ids:
        return {}
    audience = _audience(notice_ids)
    rows = await session.execute(
        select(audience.c.notice_id, func.count(), func.count(NoticeRead.user_id))
        .select_from(audience)
        .outerjoin(
            NoticeRead, and_(NoticeRead.notice_id == audience.c.notice_id, NoticeRead.user_id == audience.c.user_id)
        )
        .group_by(audience.c.notice_id)
    )
    return {notice_id: (addressed, read) for notice_id, addressed, read in rows.all()}


async def _targets(session: AsyncSession, notice_ids: list[int]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    roles: dict[int, list[int]] = {i: [] for i in notice_ids}
    departments: dict[int, list[int]] = {i: [] for i in notice_ids}
    if notice_ids:
        query = select(NoticeRole.notice_id, NoticeRole.role_id).where(NoticeRole.notice_id.in_(notice_ids))
        for notice_id, role_id in (await session.execute(query.order_by(NoticeRole.role_id))).all():
            roles[notice_id].append(role_id)
        query = select(NoticeDepartment.notice_id, NoticeDepartment.department_id).where(
            NoticeDepartment.notice_id.in_(notice_ids)
        )
        for notice_id, department_id in (await session.execute(query.order_by(NoticeDepartment.department_id))).all():
            departments[notice_id].append(department_id)
    return roles, departments


async def _outs(session: AsyncSession, notices: list[Notice]) -> list[NoticeOut]:
    ids = [n.id for n in notices if n.id is not None]
    roles, departments = await _targets(session, ids)
    counts = await _counts(session, [n.id for n in notices if n.id is not None and n.status != NoticeStatus.DRAFT])
    return [
        NoticeOut(
            id=n.id,
            title=n.title,
            body=n.body,
            audience=Audience(n.audience),
            status=NoticeStatus(n.status),
            created_by=n.created_by,
            created_at=n.created_at,
            updated_at=n.updated_at,
            published_at=n.published_at,
            withdrawn_at=n.withdrawn_at,
            role_ids=roles[n.id],
            department_ids=departments[n.id],
            audience_count=counts.get(n.id, (0, 0))[0],
            read_count=counts.get(n.id, (0, 0))[1],
        )
        for n in notices
        if n.id is not None
    ]


async def _get(session: AsyncSession, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(Text(f"通知（编号 {notice_id}）不存在", f"Notice {notice_id} not found"))
    return notice


# --- the publisher's side ---


async def list_notices(session: AsyncSession, params: PageParams, status: NoticeStatus | None) -> Page[NoticeOut]:
    query = select(Notice)
    if status is not None:
        query = query.where(Notice.status == status)
    if params.q:
        query = query.where(contains(params.q, Notice.title, Notice.body))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(Notice.id.desc()).offset(params.offset).limit(params.size))
    return Page(items=await _outs(session, list(rows.scalars())), total=total, page=params.page, size=params.size)


async def get_notice(session: AsyncSession, notice_id: int) -> NoticeOut:
    return (await _outs(session, [await _get(session, notice_id)]))[0]


async def _check(session: AsyncSession, data: NoticeIn, actor: Actor) -> tuple[list[int], list[int]]:
    """The chosen roles and departments, checked: bad input and a reach beyond the publisher's
    own data scope are refused before anything is written."""
    if data.audience == Audience.ALL:
        role_ids: list[int] = []
        department_ids: list[int] = []
    else:
        role_ids, department_ids = sorted(set(data.role_ids)), sorted(set(data.department_ids))
    errors = []
    if data.audience == Audience.CHOSEN and not role_ids and not department_ids:
        errors.append(field_error("role_ids", Text("请选择角色或科室", "choose roles or departments"), "missing"))
    if role_ids:
        known = set((await session.execute(select(Role.id).where(Role.id.in_(role_ids)))).scalars())
        if missing := [r for r in role_ids if r not in known]:
            listed = "、".join(str(r) for r in missing)
            errors.append(field_error("role_ids", Text(f"角色不存在：{listed}", f"no such role: {listed}"), "unknown"))
    if any(d < 1 for d in department_ids):
        errors.append(field_error("department_ids", Text("科室编号无效", "invalid department"), "invalid"))
    if errors:
        raise Invalid(Text("通知设置有误", "The notice is not valid"), code="invalid_notice", errors=errors)
    if actor.departments is not None:
        # A publisher limited to some departments speaks only to those departments.
        if data.audience == Audience.ALL or role_ids:
            field = "audience" if data.audience == Audience.ALL else "role_ids"
            raise _beyond_scope(field)
        if not set(department_ids) <= actor.departments:
            raise _beyond_scope("department_ids")
    return role_ids, department_ids


def _beyond_scope(field: str) -> Forbidden:
    return Forbidden(
        Text("只能向本人数据范围内的科室发布通知", "You may address only the departments of your own data scope"),
        code="notice_beyond_scope",
        errors=[field_error(field, Text("超出本人数据范围", "beyond your own data scope"), "beyond_own")],
    )


def _state(notice: Notice, role_ids: list[int], department_ids: list[int]) -> dict[str, Any]:
    return {
        "title": notice.title,
        "audience": notice.audience,
        "role_ids": role_ids,
        "department_ids": department_ids,
        "status": notice.status,
    }


async def _set_targets(session: AsyncSession, notice_id: int, role_ids: list[int], department_ids: list[int]) -> None:
    await session.execute(delete(NoticeRole).where(NoticeRole.notice_id == notice_id))
    await session.execute(delete(NoticeDepartment).where(NoticeDepartment.notice_id == notice_id))
    session.add_all(NoticeRole(notice_id=notice_id, role_id=r) for r in role_ids)
    session.add_all(NoticeDepartment(notice_id=notice_id, department_id=d) for d in department_ids)
    await session.flush()


async def create_notice(session: AsyncSession, data: NoticeIn, actor: Actor, principal: Principal) -> NoticeOut:
    role_ids, department_ids = await _check(session, data, actor)
    now = utcnow()
    notice = Notice(
        title=data.title,
        body=data.body,
        audience=data.audience,
        status=NoticeStatus.PUBLISHED if data.publish else NoticeStatus.DRAFT,
        created_by_id=principal.user_id,
        created_by=principal.username,
        created_at=now,
        updated_at=now,
        published_at=now if data.publish else None,
    )
    session.add(notice)
    await session.flush()
    assert notice.id is not None
    await _set_targets(session, notice.id, role_ids, department_ids)
    after = {**_state(notice, role_ids, department_ids), "body": notice.body}
    await audit.record(session, audit_log, action="create", entity="notice", entity_id=notice.id, after=after)
    return await get_notice(session, notice.id)


async def update_notice(session: AsyncSession, notice_id: int, data: NoticeIn, actor: Actor) -> NoticeOut:
    """Only a draft changes: a published notice may have been read as it stood."""
    notice = await _get(session, notice_id)
    if notice.status != NoticeStatus.DRAFT:
        raise _not_draft()
    role_ids, department_ids = await _check(session, data, actor)
    roles, departments = await _targets(session, [notice_id])
    before = {**_state(notice, roles[notice_id], departments[notice_id]), "body": notice.body}
    now = utcnow()
    notice.title, notice.body, notice.audience, notice.updated_at = data.title, data.body, data.audience, now
    if data.publish:
        notice.status, notice.published_at = NoticeStatus.PUBLISHED, now
    session.add(notice)
    await session.flush()
    await _set_targets(session, notice_id, role_ids, department_ids)
    after = {**_state(notice, role_ids, department_ids), "body": notice.body}
    await audit.record(
        session, audit_log, action="update", entity="notice", entity_id=notice_id, before=before, after=after
    )
    return await get_notice(session, notice_id)


def _not_draft() -> Conflict:
    return Conflict(Text("只有草稿可以修改或发布", "Only a draft can be changed or published"), code="notice_not_draft")


async def _move(
    session: AsyncSession, notice_id: int, source: NoticeStatus, target: NoticeStatus, refusal: Conflict
) -> NoticeOut:
    """One conditional UPDATE: of two publishers pressing at once, one moves it, the other is told."""
    notice = await _get(session, notice_id)
    now = utcnow()
    values: dict[str, Any] = {"status": target, "updated_at": now}
    values["published_at" if target == NoticeStatus.PUBLISHED else "withdrawn_at"] = now
    moved = await session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.status == source).values(**values)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise refusal
    await session.refresh(notice)
    action = "publish" if target == NoticeStatus.PUBLISHED else "withdraw"
    await audit.record(
        session,
        audit_log,
        action=action,
        entity="notice",
        entity_id=notice_id,
        before={"status": source},
        after={"status": target},
    )
    return await get_notice(session, notice_id)


async def publish(session: AsyncSession, notice_id: int) -> NoticeOut:
    return await _move(session, notice_id, NoticeStatus.DRAFT, NoticeStatus.PUBLISHED, _not_draft())


async def withdraw(session: AsyncSession, notice_id: int) -> NoticeOut:
    refusal = Conflict(
        Text("只有已发布的通知可以撤回", "Only a published notice can be withdrawn"), code="notice_not_published"
    )
    return await _move(session, notice_id, NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN, refusal)


async def receipts(session: AsyncSession, notice_id: int) -> Receipts:
    await _get(session, notice_id)
    audience = _audience([notice_id])
    rows = (
        await session.execute(
            select(User.id, User.username, User.real_name, NoticeRead.read_at)
            .select_from(audience)
            .join(User, User.id == audience.c.user_id)
            .outerjoin(NoticeRead, and_(NoticeRead.notice_id == notice_id, NoticeRead.user_id == User.id))
            .order_by(User.username)
        )
    ).all()
    readers = [Reader(user_id=i, username=u, real_name=n, read_at=at) for i, u, n, at in rows]
    read = sorted((r for r in readers if r.read_at is not None), key=lambda r: (r.read_at, r.username))
    unread = [r for r in readers if r.read_at is None]
    return Receipts(notice_id=notice_id, audience_count=len(readers), read_count=len(read), read=read, unread=unread)


# --- the reader's side ---


def _inbox_query(user_id: int) -> Select[Any]:
    read_at = (
        select(NoticeRead.read_at)
        .where(NoticeRead.notice_id == Notice.id, NoticeRead.user_id == user_id)
        .scalar_subquery()
        .label("read_at")
    )
    return select(Notice, read_at).where(Notice.status == NoticeStatus.PUBLISHED, _addressed_to(user_id))


def _inbox_item(notice: Notice, read_at: Any) -> InboxNotice:
    assert notice.id is not None and notice.published_at is not None
    return InboxNotice(
        id=notice.id,
        title=notice.title,
        body=notice.body,
        created_by=notice.created_by,
        published_at=notice.published_at,
        read_at=read_at,
    )


async def inbox(session: AsyncSession, user_id: int, params: PageParams, unread: bool) -> Page[InboxNotice]:
    """The published notices addressed to the user, newest first (a withdrawn one is gone)."""
    query = _inbox_query(user_id)
    if unread:
        query = query.where(~Notice.id.in_(select(NoticeRead.notice_id).where(NoticeRead.user_id == user_id)))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(Notice.published_at.desc(), Notice.id.desc()).offset(params.offset).limit(params.size)
    )
    items = [_inbox_item(notice, read_at) for notice, read_at in rows.all()]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def unread_count(session: AsyncSession, user_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Notice)
        .where(
            Notice.status == NoticeStatus.PUBLISHED,
            _addressed_to(user_id),
            ~Notice.id.in_(select(NoticeRead.notice_id).where(NoticeRead.user_id == user_id)),
        )
    )
    return int((await session.execute(query)).scalar_one())


async def open_notice(session: AsyncSession, user_id: int, notice_id: int) -> InboxNotice:
    """The notice as its reader sees it; the first opening is its read receipt. A notice not
    addressed to the user, or not (or no longer) published, is not found for them."""
    row = (await session.execute(_inbox_query(user_id).where(Notice.id == notice_id))).one_or_none()
    if row is None:
        raise NotFound(Text(f"通知（编号 {notice_id}）不存在", f"Notice {notice_id} not found"))
    notice, read_at = row
    if read_at is None:
        read_at = utcnow()
        try:
            # Two tabs opening it at once: the first receipt stands, the second finds it there.
            async with session.begin_nested():
                session.add(NoticeRead(notice_id=notice_id, user_id=user_id, read_at=read_at))
        except IntegrityError:
            query = select(NoticeRead.read_at).where(NoticeRead.notice_id == notice_id, NoticeRead.user_id == user_id)
            read_at = (await session.execute(query)).scalar_one()
    return _inbox_item(notice, read_at)

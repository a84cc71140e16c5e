"""The login log, online sessions, and the operation log merged from every running service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.service import AuthContext, end_session
from gateway.db import audit_log
from gateway.system.logs.subjects import subject, user_subject
from gateway.system.merged import merged_page
from gateway.system.models import LoginEvent, LoginLog, LoginResult, Session, User
from gateway.system.users.service import PERSONAL
from shared import audit
from shared.audit import AuditEntry, read_log
from shared.audit_chain import ChainState, ChainStatus, check
from shared.clock import utcnow
from shared.errors import NotFound, Unavailable
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings


class LoginLogOut(BaseModel):
    id: int
    at: datetime
    username: str
    user_id: int | None
    ip: str
    user_agent: str
    result: LoginResult
    reason: str
    event: LoginEvent


class OperationLogEntry(AuditEntry):
    subject: str = Field(description="What the row is about: a number, a name, a user name (logs/subjects.py)")


class SessionOut(BaseModel):
    id: str
    user_id: int
    username: str
    real_name: str
    ip: str
    user_agent: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime


async def login_log(
    session: AsyncSession,
    params: PageParams,
    username: str,
    result: LoginResult | None,
    event: LoginEvent | None,
    ip: str,
    start: datetime | None,
    end: datetime | None,
) -> Page[LoginLogOut]:
    query = select(LoginLog)
    if username:
        query = query.where(LoginLog.username == username)
    if result is not None:
        query = query.where(LoginLog.result == result)
    if event is not None:
        query = query.where(LoginLog.event == event)
    if ip:
        query = query.where(LoginLog.ip == ip)
    if start is not None:
        query = query.where(LoginLog.at >= start)
    if end is not None:
        query = query.where(LoginLog.at < end)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(LoginLog.at.desc(), LoginLog.id.desc()).offset(params.offset).limit(params.size)
    )
    items = [LoginLogOut.model_validate(r, from_attributes=True) for r in rows.scalars()]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def online_sessions(
    session: AsyncSession, params: PageParams, username: str, idle_minutes: int
) -> Page[SessionOut]:
    now = utcnow()
    # An idle session is over although nobody has presented its refresh token since.
    query = (
        select(Session, User.username, User.real_name)
        .join(User, User.id == Session.user_id)
        .where(
            Session.revoked_at.is_(None),
            Session.expires_at > now,
            Session.last_used_at > now - timedelta(minutes=idle_minutes),
        )
    )
    if username:
        query = query.where(User.username == username)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(Session.last_used_at.desc()).offset(params.offset).limit(params.size))
    items = [
        SessionOut(
            id=s.id,
            user_id=s.user_id,
            username=name,
            real_name=real,
            ip=s.ip,
            user_agent=s.user_agent,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=s.expires_at,
        )
        for s, name, real in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def end_one_session(session: AsyncSession, session_id: str, ctx: AuthContext) -> None:
    record = await session.get(Session, session_id)
    if record is None:
        raise NotFound(Text("会话不存在", "No such session"))
    await end_session(session, record, "forced", ctx)
    await audit.record(
        session,
        audit_log,
        action="force_logout",
        entity="session",
        entity_id=session_id,
        after={"user_id": record.user_id},
    )


async def operation_log(
    session: AsyncSession,
    client: ServiceClient,
    modules: list[str],
    params: PageParams,
    filters: dict[str, Any],
    reveal_pii: bool,
) -> Page[OperationLogEntry]:
    """Merged newest first (gateway/system/merged.py). "system" is the gateway's own log, read
    here; the others are asked over HTTP with the caller's token."""
    merged = await merged_page(
        modules,
        params,
        lambda module, page: _page_of(session, client, module, page, filters, reveal_pii),
        lambda e: (e.at, e.module, e.id),
    )
    items = [OperationLogEntry(**e.model_dump(), subject=subject(e.entity, e.before, e.after)) for e in merged.items]
    await _name_users(session, items)
    return Page(items=items, total=merged.total, page=merged.page, size=merged.size)


async def _name_users(session: AsyncSession, items: list[OperationLogEntry]) -> None:
    """The gateway's rows about a user or a session often snapshot only a flag or a user id
    (two-step verification, forced logout): the user's name comes from the gateway's own table."""
    wanted: dict[int, list[OperationLogEntry]] = {}
    for e in items:
        if e.module != "system" or e.subject:
            continue
        user_id = e.entity_id if e.entity == "user" else (e.after or e.before or {}).get("user_id")
        if e.entity in ("user", "session") and str(user_id or "").isdigit():
            wanted.setdefault(int(user_id), []).append(e)
    if not wanted:
        return
    rows = await session.execute(select(User.id, User.username, User.real_name).where(User.id.in_(wanted)))
    for user_id, username, real_name in rows:
        for e in wanted[user_id]:
            e.subject = user_subject({"username": username, "real_name": real_name})


async def _page_of(
    session: AsyncSession,
    client: ServiceClient,
    module: str,
    params: PageParams,
    filters: dict[str, Any],
    reveal_pii: bool,
) -> Page[AuditEntry]:
    if module == "system":
        return await read_log(session, audit_log, "system", params, **filters, personal=PERSONAL, reveal_pii=reveal_pii)
    query = {"page": params.page, "size": params.size, "user": filters["user"], "entity": filters["entity"]}
    for key, name in (("start", "from"), ("end", "to")):
        if filters[key] is not None:
            query[name] = filters[key].isoformat()
    answer = await client.request(
        module, "GET", f"/api/{module}/audit-log", params={k: v for k, v in query.items() if v}
    )
    if answer.status_code in (401, 403):
        # A service may grant the caller less than the merged view does: what it refuses is left out.
        return Page(items=[], total=0, page=params.page, size=params.size)
    answer.raise_for_status()
    return Page[AuditEntry].model_validate(answer.json())


async def operation_log_chains(
    session: AsyncSession, client: ServiceClient, modules: list[str], settings: ServiceSettings
) -> list[ChainState]:
    """Each module's audit chain verified by the module itself; the gateway's own ("system") here.
    A module that refuses the caller is left out, as in the merged log; one that does not answer
    is shown as not checked rather than as intact."""
    states = []
    for module in modules:
        if module == "system":
            states.append(await check(session, audit_log, settings, "system"))
            continue
        try:
            answer = await client.request(module, "GET", f"/api/{module}/audit-log/chain")
        except Unavailable:
            answer = None
        if answer is not None and answer.status_code in (401, 403):
            continue
        if answer is None or answer.status_code != 200:
            states.append(ChainState(module=module, chain="audit_log", status=ChainStatus.UNAVAILABLE))
            continue
        states.append(ChainState.model_validate(answer.json()))
    return states


async def login_log_chain(session: AsyncSession, settings: ServiceSettings) -> ChainState:
    return await check(session, LoginLog.__table__, settings, "system")

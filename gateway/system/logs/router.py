from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from gateway.state import Auth, RunningModules, Services, Settings
from gateway.system.deps import RevealPii
from gateway.system.logs import service
from gateway.system.logs.service import LoginLogOut, OperationLogEntry, SessionOut
from gateway.system.models import LoginEvent, LoginResult
from shared.audit_chain import ChainState
from shared.auth import requires
from shared.db import ReadSession, WriteSession
from shared.i18n import Text
from shared.paging import Page, Paging

router = APIRouter(prefix="/api/system", tags=["system 日志与会话"])

From = Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive.")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive.")]


@router.get(
    "/login-log",
    response_model=Page[LoginLogOut],
    summary="Every login attempt, logout, session expiry and password change",
    **requires("system:login_log:read", Text("登录日志", "login log")),
)
async def login_log(
    session: ReadSession,
    paging: Paging,
    username: Annotated[str, Query(max_length=64)] = "",
    result: LoginResult | None = None,
    event: LoginEvent | None = None,
    ip: Annotated[str, Query(max_length=64)] = "",
    start: From = None,
    end: To = None,
) -> Page[LoginLogOut]:
    return await service.login_log(session, paging, username, result, event, ip, start, end)


@router.get(
    "/sessions",
    response_model=Page[SessionOut],
    summary="Online sessions",
    **requires("system:session:read", Text("在线会话", "session")),
)
async def sessions(
    session: ReadSession, paging: Paging, auth: Auth, username: Annotated[str, Query(max_length=64)] = ""
) -> Page[SessionOut]:
    return await service.online_sessions(session, paging, username, auth.settings.session_idle_minutes)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Force one session to log out",
    **requires("system:session:write", Text("在线会话", "session")),
)
async def end_session(session: WriteSession, session_id: str, auth: Auth) -> Response:
    await service.end_one_session(session, session_id, auth)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/operation-log",
    response_model=Page[OperationLogEntry],
    summary="Operation log of every running service, merged, each row with a readable subject",
    **requires("system:audit:read", Text("操作日志", "operation log")),
)
async def operation_log(
    session: ReadSession,
    services: Services,
    running: RunningModules,
    paging: Paging,
    reveal: RevealPii,
    user: Annotated[str, Query(max_length=64)] = "",
    module: Annotated[str, Query(max_length=16)] = "",
    entity: Annotated[str, Query(max_length=64)] = "",
    start: From = None,
    end: To = None,
) -> Page[OperationLogEntry]:
    modules = [m for m in ["system", *running] if not module or m == module]
    filters = {"user": user, "entity": entity, "start": start, "end": end}
    return await service.operation_log(session, services, modules, paging, filters, reveal)


@router.get(
    "/operation-log/chain",
    response_model=list[ChainState],
    summary="Whether each running module's operation log is intact (hash chain verified), or its first broken row",
    **requires("system:audit:read", Text("操作日志", "operation log")),
)
async def operation_log_chains(
    session: ReadSession, services: Services, running: RunningModules, settings: Settings
) -> list[ChainState]:
    return await service.operation_log_chains(session, services, ["system", *running], settings)


@router.get(
    "/login-log/chain",
    response_model=ChainState,
    summary="Whether the login log is intact (hash chain verified), or its first broken row",
    **requires("system:login_log:read", Text("登录日志", "login log")),
)
async def login_log_chain(session: ReadSession, settings: Settings) -> ChainState:
    return await service.login_log_chain(session, settings)

"""HTTP for 日志查询: the application logs of every component (service.py holds the search)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.system.applogs import service
from gateway.system.applogs.service import AppLogBackend, AppLogEntry, AppLogFilters, LogLevel
from shared.auth import requires
from shared.i18n import Text
from shared.paging import Page, Paging

router = APIRouter(prefix="/api/system", tags=["system 日志与会话"])


async def _filters(
    paging: Paging,
    request_id: Annotated[str, Query(max_length=64, description="The X-Request-ID a request carried.")] = "",
    user: Annotated[str, Query(max_length=64, description="User name of the request, or of a login.")] = "",
    service: Annotated[str, Query(pattern="^[a-z]{0,16}$", description="Component: gateway, oms, … , hamp.")] = "",
    level: LogLevel | None = None,
    start: Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive.")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive.")] = None,
) -> AppLogFilters:
    return AppLogFilters(request_id, user, service, level.value if level else "", start, end, paging.q)


Filters = Annotated[AppLogFilters, Depends(_filters)]
Backend = Annotated[AppLogBackend, Depends(service.backend)]


@router.get(
    "/app-logs",
    response_model=Page[AppLogEntry],
    summary="Application log lines of every component, newest first (Elasticsearch, or var/logs when embedded)",
    **requires("system:applog:read", Text("应用日志", "application log")),
)
async def app_logs(backend: Backend, filters: Filters, paging: Paging) -> Page[AppLogEntry]:
    return await service.search(backend, filters, paging)

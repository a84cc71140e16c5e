"""`GET /api/<svc>/audit-log`: a service's own operation log, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import Table

from shared.audit import AuditEntry, PersonalFields, read_log
from shared.audit_chain import ChainState, check
from shared.auth import CurrentPrincipal, requires
from shared.db import ReadSession
from shared.i18n import Text
from shared.paging import Page, Paging
from shared.pii import PII_PERMISSION

From = Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive.")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive.")]


def audit_router(service: str, table: Table, personal: PersonalFields | None = None) -> APIRouter:
    """`personal`: the fields masked in before/after for callers without pii:read."""
    router = APIRouter(prefix=f"/api/{service}", tags=["audit 操作日志"])

    @router.get(
        "/audit-log",
        response_model=Page[AuditEntry],
        summary="This service's operation log (who changed what, before and after)",
        **requires(f"{service}:audit:read", Text("操作日志", "operation log")),
    )
    async def audit_log(
        session: ReadSession,
        paging: Paging,
        principal: CurrentPrincipal,
        user: Annotated[str, Query(max_length=64, description="Actor's user name.")] = "",
        entity: Annotated[str, Query(max_length=64)] = "",
        entity_id: Annotated[str, Query(max_length=64)] = "",
        request_id: Annotated[str, Query(max_length=64)] = "",
        start: From = None,
        end: To = None,
    ) -> Page[AuditEntry]:
        return await read_log(
            session,
            table,
            service,
            paging,
            user=user,
            entity=entity,
            entity_id=entity_id,
            request_id=request_id,
            start=start,
            end=end,
            personal=personal,
            reveal_pii=principal.can(PII_PERMISSION),
        )

    @router.get(
        "/audit-log/chain",
        response_model=ChainState,
        summary="Whether this service's operation log is intact (its hash chain verified), or its first broken row",
        **requires(f"{service}:audit:read", Text("操作日志", "operation log")),
    )
    async def audit_chain(session: ReadSession, request: Request) -> ChainState:
        return await check(session, table, request.app.state.settings, service)

    return router

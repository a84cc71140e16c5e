from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.state import RunningModules, Services
from gateway.system.outbox import service
from shared.auth import requires
from shared.i18n import Text
from shared.outbox_admin import OutboxMessage, OutboxStatus
from shared.paging import Page, PlainPaging

router = APIRouter(prefix="/api/system", tags=["system 消息队列"])


@router.get(
    "/outbox",
    response_model=Page[OutboxMessage],
    summary="Messages between services not delivered, of every running module, merged "
    "(retry and resolve at /api/<module>/outbox)",
    **requires("system:outbox:read", Text("消息队列", "message queue")),
)
async def outbox(
    services: Services,
    running: RunningModules,
    paging: PlainPaging,
    module: Annotated[str, Query(max_length=16)] = "",
    status: OutboxStatus | None = None,
) -> Page[OutboxMessage]:
    modules = [m for m in running if not module or m == module]
    return await service.outbox(services, modules, paging, status)

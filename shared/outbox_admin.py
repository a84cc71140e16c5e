"""An operator's view of a service's outbox (消息队列): what waits, what the receiver refused, and
the two things an operator may do about it — send again, or set aside for good with a note.

Each service with an outbox includes `outbox_router`; the gateway merges the lists
(gateway/system/outbox). The message body is never shown: it may carry a patient's details,
and the operator needs the receiver's answer, not the payload, to decide.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Query, Request, Response
from prometheus_client import Gauge
from pydantic import BaseModel, Field
from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.auth import requires
from shared.clock import utcnow
from shared.context import principal_var
from shared.db import ReadSession, WriteSession
from shared.errors import Conflict, NotFound
from shared.i18n import Text
from shared.outbox import PENDING, REJECTED, RESOLVED
from shared.paging import Page, PageParams, PlainPaging

# Labels are the component and the state only: nothing about a message's content.
MESSAGES = Gauge("hamp_outbox_messages", "Outbox messages not delivered, by state", ["component", "status"])
STUCK = Gauge("hamp_outbox_stuck_messages", "Outbox messages pending longer than outbox_stuck_minutes", ["component"])

LABEL = Text("消息队列", "message queue")


class OutboxStatus(StrEnum):
    PENDING = PENDING
    REJECTED = REJECTED
    RESOLVED = RESOLVED


class OutboxMessage(BaseModel):
    module: str
    id: int
    key: str
    destination: str = Field(description="The receiving service, lower case (oms, pms, dms …).")
    method: str
    path: str
    kind: dict[str, str] | None = Field(None, description='What the message is, {"zh", "en"}; null if unknown.')
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    answer_status: int | None = Field(None, description="The receiver's last HTTP status, if it answered.")
    answer: str | None = Field(None, description="The receiver's `detail`, or why nobody answered.")
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=500, description="Why the message will never be sent.")


# A path pattern of a message and what it is, for the operator: the sender names its own.
Kinds = dict[str, Text]


def _answer(last_error: str | None) -> tuple[int | None, str | None]:
    """The relay stores "<status> <body>" (the body cut at 400 characters), or the reason nobody
    answered; the operator reads the problem's `detail`, not its JSON."""
    if not last_error:
        return None, None
    match = re.match(r"(\d{3}) (.*)", last_error, re.S)
    if match is None:
        return None, last_error
    body = match.group(2)
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        cut = re.search(r'"detail"\s*:\s*"((?:[^"\\]|\\.)*)"', body)
        detail = json.loads(f'"{cut.group(1)}"') if cut else None
    return int(match.group(1)), detail or body


def _kind(path: str, kinds: Kinds) -> dict[str, str] | None:
    for pattern, label in kinds.items():
        if re.fullmatch(pattern, path):
            return {"zh": label.zh, "en": label.en}
    return None


def _out(service: str, row: Any, kinds: Kinds) -> OutboxMessage:
    status, answer = _answer(row.last_error)
    return OutboxMessage(
        module=service,
        id=row.id,
        key=row.key,
        destination=row.destination.lower(),
        method=row.method,
        path=row.path,
        kind=_kind(row.path, kinds),
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        answer_status=status,
        answer=answer,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
    )


async def list_messages(
    session: AsyncSession, table: Table, service: str, paging: PageParams, status: OutboxStatus | None, kinds: Kinds
) -> Page[OutboxMessage]:
    """Delivered messages are not listed: nothing is left to do about them."""
    states = [status.value] if status else [s.value for s in OutboxStatus]
    query = select(table).where(table.c.status.in_(states))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(table.c.id.desc()).offset(paging.offset).limit(paging.size))
    items = [_out(service, row, kinds) for row in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


async def _get(session: AsyncSession, table: Table, message_id: int) -> Any:
    row = (await session.execute(select(table).where(table.c.id == message_id).with_for_update())).one_or_none()
    if row is None:
        raise NotFound(Text("消息不存在", "No such message"))
    return row


def _state(row: Any) -> dict[str, Any]:
    return {"status": row.status, "attempts": row.attempts, "destination": row.destination, "path": row.path}


async def retry(session: AsyncSession, table: Table, audit_log: Table, message_id: int) -> None:
    """A refused or waiting message is tried again now; its attempts are kept (they are its history).
    A resolved one stays resolved: an operator decided it must not arrive, and undoing that is a
    new decision in the business, not a button here."""
    row = await _get(session, table, message_id)
    if row.status not in (PENDING, REJECTED):
        raise Conflict(
            Text("只有等待中或被拒收的消息可以重发", "Only a pending or refused message can be sent again"),
            code="outbox_not_retryable",
        )
    await session.execute(update(table).where(table.c.id == row.id).values(status=PENDING, next_attempt_at=utcnow()))
    after = {**_state(row), "status": PENDING}
    await audit.record(
        session, audit_log, action="retry", entity="outbox", entity_id=row.key, before=_state(row), after=after
    )


async def resolve(session: AsyncSession, table: Table, audit_log: Table, message_id: int, note: str) -> None:
    """A refused message is set aside for good: the operator has put things right another way.
    A pending one is not: the relay may be sending it at this moment."""
    row = await _get(session, table, message_id)
    if row.status != REJECTED:
        raise Conflict(
            Text("只有被拒收的消息可以标记为已处理", "Only a refused message can be marked resolved"),
            code="outbox_not_resolvable",
        )
    actor = principal_var.get()
    values = {"status": RESOLVED, "resolved_at": utcnow(), "resolved_by": actor.username if actor else "system"}
    await session.execute(update(table).where(table.c.id == row.id).values(**values, resolution_note=note))
    after = {**_state(row), "status": RESOLVED, "resolution_note": note}
    await audit.record(
        session, audit_log, action="resolve", entity="outbox", entity_id=row.key, before=_state(row), after=after
    )


class OutboxHealth(BaseModel):
    pending: int
    rejected: int
    stuck: int = Field(description="Pending longer than outbox_stuck_minutes.")


async def health(session: AsyncSession, table: Table, stuck_minutes: int) -> OutboxHealth:
    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(table.c.status, func.count())
                .where(table.c.status.in_([PENDING, REJECTED]))
                .group_by(table.c.status)
            )
        ).all()
    )
    since = utcnow() - timedelta(minutes=stuck_minutes)
    stuck = (
        await session.execute(
            select(func.count()).select_from(table).where(table.c.status == PENDING, table.c.created_at < since)
        )
    ).scalar_one()
    return OutboxHealth(pending=counts.get(PENDING, 0), rejected=counts.get(REJECTED, 0), stuck=stuck)


def watch(app: FastAPI, table: Table) -> None:
    """Stuck and refused messages in `/metrics` (counted at scrape time) and in `/health/ready`.
    They never make the service not ready: a stuck message means the *receiver* is gone or
    refuses, and taking the sender out of rotation would only add a second outage."""
    component = app.state.settings.component

    async def current() -> OutboxHealth | None:
        """None while the database does not answer (the database check says so already)."""
        try:
            async for session in app.state.db.read_session():
                return await health(session, table, app.state.settings.outbox_stuck_minutes)
        except (OSError, DBAPIError):
            return None
        return None

    async def metrics() -> None:
        if (state := await current()) is None:
            return
        MESSAGES.labels(component, PENDING).set(state.pending)
        MESSAGES.labels(component, REJECTED).set(state.rejected)
        STUCK.labels(component).set(state.stuck)

    async def warning() -> dict[str, Any] | None:
        state = await current()
        return state.model_dump() if state and (state.stuck or state.rejected) else None

    app.state.metric_updates.append(metrics)
    app.state.ready_warnings.append(("outbox", warning))


def outbox_router(service: str, table: Table, audit_log: Table, kinds: Kinds | None = None) -> APIRouter:
    """`kinds`: the sender's message paths (regular expressions) and what each message is."""
    kinds = kinds or {}
    router = APIRouter(prefix=f"/api/{service}/outbox", tags=["outbox 消息队列"])

    @router.get(
        "",
        response_model=Page[OutboxMessage],
        summary="Messages to other services not delivered: waiting, refused by the receiver, or resolved",
        **requires(f"{service}:outbox:read", LABEL),
    )
    async def messages(
        session: ReadSession,
        paging: PlainPaging,
        status: Annotated[OutboxStatus | None, Query(description="Empty: all three.")] = None,
    ) -> Page[OutboxMessage]:
        return await list_messages(session, table, service, paging, status, kinds)

    @router.post(
        "/{message_id}/retry",
        status_code=204,
        response_class=Response,
        summary="Send a waiting or refused message again now",
        **requires(f"{service}:outbox:write", LABEL),
    )
    async def retry_message(
        session: WriteSession, request: Request, background: BackgroundTasks, message_id: int
    ) -> Response:
        await retry(session, table, audit_log, message_id)
        # After the response, so after the commit: the relay then finds the message due.
        background.add_task(request.app.state.outbox.wake)
        return Response(status_code=204, background=background)

    @router.post(
        "/{message_id}/resolve",
        status_code=204,
        response_class=Response,
        summary="Mark a refused message resolved (never sent), with a note",
        **requires(f"{service}:outbox:write", LABEL),
    )
    async def resolve_message(session: WriteSession, message_id: int, body: ResolveIn) -> Response:
        await resolve(session, table, audit_log, message_id, body.note)
        return Response(status_code=204)

    return router

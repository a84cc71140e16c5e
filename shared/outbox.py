"""The transactional outbox: a change and the message about it commit together; a relay delivers.

`enqueue` writes the message in the sender's own transaction, so a message exists exactly when
its change does. The relay (one per service process) sends due messages with their
`Idempotency-Key`, as the service itself, and marks them delivered once the receiver accepts.
Nothing is lost while the receiver is down or not deployed (the message waits, retried with
backoff), and nothing is applied twice: after a crash between sending and marking, the message
is sent again with the same key and the receiver answers from its idempotency record.
Several instances may relay the same message; the receiver's key makes that harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.errors import Problem
from shared.service_client import ServiceClient
from shared.tasks import stop_tasks
from shared.types import UTCDateTime

log = logging.getLogger("hamp.outbox")

PENDING, DELIVERED, REJECTED = "pending", "delivered", "rejected"
# Set aside for good by an operator (shared/outbox_admin.py): never sent again.
RESOLVED = "resolved"
# Answers that will not change however often the message is sent: kept aside for an operator.
FINAL_REFUSALS = frozenset({400, 409, 422})
MAX_BACKOFF_SECONDS = 60

Clock = Callable[[], datetime]


def backoff_seconds(attempts: int) -> int:
    """The wait before the next try after `attempts` failed ones: 2, 4, 8 … at most MAX_BACKOFF_SECONDS."""
    return min(1 << min(attempts, 10), MAX_BACKOFF_SECONDS)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("key", String(100), nullable=False, unique=True),
        Column("destination", String(32), nullable=False),
        Column("method", String(8), nullable=False),
        Column("path", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("status", String(16), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("next_attempt_at", UTCDateTime(), nullable=False, index=True),
        Column("delivered_at", UTCDateTime(), nullable=True),
        Column("last_error", String(500), nullable=True),
        Column("resolved_at", UTCDateTime(), nullable=True),
        Column("resolved_by", String(64), nullable=True),
        Column("resolution_note", String(500), nullable=True),
    )


async def enqueue(
    session: AsyncSession, table: Table, *, destination: str, path: str, body: Any, key: str, method: str = "POST"
) -> None:
    """Adds a message to the sender's transaction; it is sent after that transaction commits.
    A message whose key is already queued is not queued again."""
    now = utcnow()
    with suppress(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                insert(table).values(
                    key=key,
                    destination=destination.upper(),
                    method=method,
                    path=path,
                    body=json.dumps(body, ensure_ascii=False, default=str),
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            )


class OutboxRelay:
    """`clock` decides which messages are due and when a refused one is due again: a test moves it
    past a back-off instead of waiting for it."""

    def __init__(
        self,
        db: Database,
        table: Table,
        client: ServiceClient,
        interval_seconds: float = 1.0,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.table = table
        self.client = client
        self.interval = interval_seconds
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _due(self, limit: int) -> list[dict[str, Any]]:
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(self.table)
                .where(self.table.c.status == PENDING, self.table.c.next_attempt_at <= self.clock())
                .order_by(self.table.c.id)
                .limit(limit)
            )
            return [dict(row) for row in rows.mappings()]

    async def _mark(self, message: dict[str, Any], **values: Any) -> None:
        pending = (self.table.c.id == message["id"]) & (self.table.c.status == PENDING)
        async with self.db.transaction() as session:
            await session.execute(update(self.table).where(pending).values(**values))

    async def _send(self, message: dict[str, Any]) -> tuple[str, str | None]:
        """(new status, error)."""
        try:
            answer = await self.client.request(
                message["destination"],
                message["method"],
                message["path"],
                json=json.loads(message["body"]),
                headers={"Idempotency-Key": message["key"]},
                identity="service",
            )
        except Problem as exc:  # nobody to send to (not deployed, all down), or no service token yet
            return PENDING, str(exc.detail)
        if answer.is_success:
            return DELIVERED, None
        error = f"{answer.status_code} {answer.text[:400]}"
        return (REJECTED if answer.status_code in FINAL_REFUSALS else PENDING), error

    async def deliver_due(self, limit: int = 50) -> int:
        """One pass over the due messages, oldest first; answers how many were delivered."""
        delivered = 0
        for message in await self._due(limit):
            status, error = await self._send(message)
            attempts = message["attempts"] + 1
            if status == DELIVERED:
                done = {"status": DELIVERED, "attempts": attempts, "delivered_at": self.clock(), "last_error": None}
                await self._mark(message, **done)
                delivered += 1
            elif status == REJECTED:
                log.error("outbox message %s refused by %s: %s", message["key"], message["destination"], error)
                await self._mark(message, status=REJECTED, attempts=attempts, last_error=error)
            else:
                wait = backoff_seconds(attempts)
                log.info("outbox message %s not delivered (%s); next try in %ss", message["key"], error, wait)
                await self._mark(
                    message,
                    attempts=attempts,
                    next_attempt_at=self.clock() + timedelta(seconds=wait),
                    last_error=(error or "")[:500],
                )
        return delivered

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the relay must outlive a database hiccup; the next pass retries
                log.exception("outbox pass failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()


def outbox_part(table: Table, interval_seconds: float = 1.0) -> Any:
    """A lifespan part (after the service client exists): the relay runs while the app does, and
    stuck messages show in /metrics and /health/ready."""
    from shared.outbox_admin import watch  # it imports this module's states

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        relay = OutboxRelay(app.state.db, table, app.state.services, interval_seconds)
        app.state.outbox = relay
        watch(app, table)
        task = asyncio.create_task(relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            await stop_tasks(task)

    return part

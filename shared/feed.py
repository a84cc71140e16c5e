"""A service's change feed: what changed, in commit order, for statistics (tms) to poll.

Each change takes its `seq` from a counter row in the writer's transaction; the row stays
locked until that transaction commits, so a reader that saw `seq` n never later finds a
committed change below n — polling `after=<last seq>` misses nothing.

The changes of a transaction wait and are numbered together as it commits: one advance of the
counter and one insert however many changes it made (a paid registration makes two), and the
counter is locked only for the commit, not from the first change on. A change published inside a
savepoint is written at once instead, so that rolling the savepoint back takes it along.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared.auth import requires
from shared.clock import utcnow
from shared.db import ReadSession
from shared.i18n import Text as Message
from shared.sequences import next_value, reserve
from shared.types import UTCDateTime

MAX_LIMIT = 1000
COUNTER = "change_feed"
# Changes of the current transaction, numbered and written as it commits.
PENDING = "hamp.feed.pending"


def feed_table(metadata: MetaData) -> Table:
    return Table(
        "change_feed",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("entity", String(64), nullable=False),
        Column("entity_id", String(64), nullable=False),
        Column("action", String(32), nullable=False),
        Column("data", Text, nullable=False),
    )


async def publish(
    session: AsyncSession,
    feed: Table,
    counters: Table,
    *,
    entity: str,
    entity_id: object,
    action: str,
    data: dict[str, Any],
) -> None:
    """Adds a change to the writer's transaction. No personal data: the feed leaves the service."""
    change = {
        "at": utcnow(),
        "entity": entity,
        "entity_id": str(entity_id),
        "action": action,
        "data": json.dumps(data, ensure_ascii=False, default=str, sort_keys=True),
    }
    if session.in_nested_transaction():
        await session.execute(insert(feed).values(seq=await next_value(session, counters, COUNTER), **change))
        return
    session.info.setdefault(PENDING, []).append((feed, counters, change))


# Listened first (insert=True): the audit chain's head must stay the last lock a commit takes
# (shared/audit.py), so the feed's counter is taken before it.
@event.listens_for(Session, "before_commit", insert=True)
def _number_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release (a counter made in one, say): the changes wait for the commit
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    connection = session.connection()
    by_feed: dict[tuple[Table, Table], list[dict[str, Any]]] = {}
    for feed, counters, change in pending:
        by_feed.setdefault((feed, counters), []).append(change)
    for (feed, counters), changes in by_feed.items():
        last = reserve(connection, counters, COUNTER, len(changes))
        first = last - len(changes) + 1
        connection.execute(insert(feed), [{"seq": first + n, **change} for n, change in enumerate(changes)])


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the transaction itself, not a savepoint
        session.info.pop(PENDING, None)


class Change(BaseModel):
    seq: int
    at: datetime
    entity: str
    entity_id: str
    action: str
    data: dict[str, Any]


class FeedPage(BaseModel):
    items: list[Change]
    # The cursor for the next call: the last seq answered, or `after` when there was nothing new.
    next: int
    # The newest seq committed when this page was read: how far behind a reader is.
    head: int


def feed_router(service: str, feed: Table) -> APIRouter:
    router = APIRouter(prefix=f"/api/{service}", tags=["feed 变更流"])

    @router.get(
        "/feed",
        response_model=FeedPage,
        summary="Changes after a cursor, in commit order (for statistics)",
        **requires(f"{service}:feed:read", Message("变更流", "change feed")),
    )
    async def changes(
        session: ReadSession,
        after: int = Query(0, ge=0, description="The last seq already read"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> FeedPage:
        rows = await session.execute(select(feed).where(feed.c.seq > after).order_by(feed.c.seq).limit(limit))
        items = [Change(**{**row, "data": json.loads(row["data"])}) for row in rows.mappings()]
        head = (await session.execute(select(func.max(feed.c.seq)))).scalar_one() or 0
        return FeedPage(items=items, next=items[-1].seq if items else after, head=max(head, after))

    return router

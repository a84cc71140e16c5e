"""A service's change feed: what changed, in commit order, for statistics (tms) to poll.

Each change takes its `seq` from a counter row in the writer's transaction; the row stays
locked until that transaction commits, so a reader that saw `seq` n never later finds a
committed change below n — polling `after=<last seq>` misses nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import requires
from shared.db import ReadSession
from shared.i18n import Text as Message
from shared.sequences import next_value
from shared.types import UTCDateTime, utcnow

MAX_LIMIT = 1000


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
    seq = await next_value(session, counters, "change_feed")
    await session.execute(
        insert(feed).values(
            seq=seq,
            at=utcnow(),
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            data=json.dumps(data, ensure_ascii=False, default=str, sort_keys=True),
        )
    )


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
        return FeedPage(items=items, next=items[-1].seq if items else after)

    return router

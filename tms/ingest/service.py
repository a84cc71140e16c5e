"""Polling the change feeds into the fact tables (docs/statistics.md, Ingestion).

A page's changes and the cursor move commit together, and the cursor moves by a conditional
UPDATE from the value the page was read after: a restart resumes exactly at the last commit, the
same page read twice is applied once, and of two tms instances polling one source the second's
UPDATE finds the cursor moved and its page is rolled back whole.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.errors import Unavailable
from shared.feed import FeedPage
from shared.i18n import Text, render
from shared.service_client import ServiceClient
from tms.ingest.context import Context, Handler
from tms.ingest.models import FeedCursor, FeedState

log = logging.getLogger("hamp.tms.ingest")

NAMES = {
    "oms": Text("门诊", "Outpatient"),
    "hms": Text("住院", "Inpatient"),
    "pms": Text("药房", "Pharmacy"),
    "sms": Text("仓库", "Warehouse"),
}


class Moved(Exception):
    """Another poller applied this page first: ours is rolled back."""


async def ensure_cursors(session: AsyncSession, sources: Sequence[str]) -> None:
    """A cursor per source, made by whichever instance starts first: two tms replicas starting
    together on an empty database (a first install) both find none, and the second's insert is
    refused by the primary key, which means the cursor is there."""
    known = set((await session.execute(select(FeedCursor.source))).scalars())
    for source in sources:
        if source not in known:
            with suppress(IntegrityError):
                async with session.begin_nested():
                    session.add(FeedCursor(source=source))


async def cursor(session: AsyncSession, source: str) -> int:
    return int((await session.execute(select(FeedCursor.after).where(FeedCursor.source == source))).scalar_one())


async def apply_page(
    session: AsyncSession,
    source: str,
    after: int,
    page: FeedPage,
    handlers: Mapping[tuple[str, str], Handler],
    zone: ZoneInfo,
    *,
    complete: bool,
    now: datetime | None = None,
) -> int:
    """Applies the page read after `after` and moves the cursor to its end; `complete`: the page
    reached the feed's head. Raises Moved when the cursor is no longer at `after`."""
    now = now or utcnow()
    moved = await session.execute(
        update(FeedCursor)
        .where(FeedCursor.source == source, FeedCursor.after == after)  # type: ignore[arg-type]
        .values(after=page.next, head=page.head, polled_at=now, error=None, error_at=None,
                **({"current_at": now} if complete else {}))
    )  # fmt: skip
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Moved(source)
    context = Context(source=source, zone=zone)
    fresh = [change for change in page.items if change.seq > after]
    # Each entity's changes in feed order; entities apart (a feed change is self-contained).
    for entity, changes in groupby(sorted(fresh, key=lambda c: (c.entity, c.seq)), key=lambda c: c.entity):
        handler = handlers.get((source, entity))
        if handler is not None:
            await handler(session, list(changes), context)
    return len(fresh)


async def read_page(client: ServiceClient, source: str, after: int, limit: int) -> FeedPage:
    answer = await client.request(
        source.upper(), "GET", f"/api/{source}/feed", params={"after": after, "limit": limit}, identity="service"
    )
    if answer.status_code != 200:
        raise Unavailable(
            Text(f"{NAMES[source].zh}服务答复 {answer.status_code}", f"{source} answered {answer.status_code}")
        )
    return FeedPage.model_validate(answer.json())


async def poll_once(
    db: Database,
    client: ServiceClient,
    source: str,
    handlers: Mapping[tuple[str, str], Handler],
    zone: ZoneInfo,
    limit: int,
) -> int:
    """Reads and applies one page; the number of changes applied (0: the source is current)."""
    async with db.transaction() as session:
        after = await cursor(session, source)
    page = await read_page(client, source, after, limit)
    try:
        async with db.transaction() as session:
            # Complete when the page reached the feed's head, also a full last page: a short page
            # as the sign left the facts "behind" one more poll after nothing was.
            return await apply_page(session, source, after, page, handlers, zone, complete=page.next >= page.head)
    except Moved:
        return 0


async def record_failure(db: Database, source: str, error: Exception) -> None:
    """What the 数据同步 page shows, as a code put in words when read (FAILURES): never a stack
    trace or a URL's query."""
    code = "unavailable" if isinstance(error, Unavailable) else "failed"
    async with db.transaction() as session:
        await session.execute(
            update(FeedCursor)
            .where(FeedCursor.source == source)  # type: ignore[arg-type]
            .values(error=code, error_at=utcnow(), polled_at=utcnow())
        )


def _failure_words(source: str, code: str | None) -> str | None:
    if code is None:
        return None
    name = NAMES[source]
    if code == "unavailable":
        return render(Text(f"{name.zh}服务暂时无法访问", f"The {name.en.lower()} service is not reachable"))
    return render(Text(f"同步{name.zh}数据失败，将自动重试", f"Reading the {name.en.lower()} feed failed; retrying"))


async def states(session: AsyncSession, sources: Sequence[str]) -> list[FeedState]:
    rows = {c.source: c for c in (await session.execute(select(FeedCursor))).scalars()}
    answer = []
    for source in sources:
        row = rows.get(source) or FeedCursor(source=source)
        answer.append(
            FeedState(
                source=source, name=render(NAMES[source]), after=row.after, head=max(row.head, row.after),
                behind=max(row.head - row.after, 0), polled_at=row.polled_at, current_at=row.current_at,
                error=_failure_words(source, row.error), error_at=row.error_at,
            )
        )  # fmt: skip
    return answer


async def current_as_of(session: AsyncSession, sources: Sequence[str]) -> datetime | None:
    """The moment up to which facts from all `sources` are complete: the oldest of their last
    current polls (None while any has never caught up)."""
    rows = (await session.execute(select(FeedCursor.current_at).where(FeedCursor.source.in_(sources)))).scalars()  # type: ignore[attr-defined]
    moments = list(rows)
    if len(moments) < len(sources) or any(m is None for m in moments):
        return None
    return min(m for m in moments if m is not None)

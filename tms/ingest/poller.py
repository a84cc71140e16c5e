"""The lifespan part that keeps the facts current: one loop per source."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from shared.app import LifespanPart
from shared.db import Database
from shared.service_client import ServiceClient
from shared.tasks import stop_tasks
from tms.ingest.context import Handler
from tms.ingest.service import ensure_cursors, poll_once, record_failure
from tms.settings import TmsSettings

log = logging.getLogger("hamp.tms.ingest")


async def follow(
    db: Database, client: ServiceClient, source: str, handlers: Mapping[tuple[str, str], Handler], settings: TmsSettings
) -> None:
    """Pages back to back while behind; a pause once current, or after a failure (the source down:
    it catches up from its cursor when it answers again)."""
    zone = ZoneInfo(settings.timezone)
    while True:
        try:
            applied = await poll_once(db, client, source, handlers, zone, settings.feed_page_size)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("feed %s: %s", source, type(exc).__name__)
            with suppress(Exception):
                await record_failure(db, source, exc)
            applied = 0
        if applied < settings.feed_page_size:
            await asyncio.sleep(settings.feed_poll_seconds)


def ingestion_part(settings: TmsSettings, handlers: Mapping[tuple[str, str], Handler]) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        async with app.state.db.transaction() as session:
            await ensure_cursors(session, settings.feed_sources)
        tasks = [
            asyncio.create_task(follow(app.state.db, app.state.services, s, handlers, settings), name=f"feed-{s}")
            for s in settings.feed_sources
        ]
        try:
            yield
        finally:
            await stop_tasks(*tasks)

    return part

"""Production profile: two tms replicas start at the same moment on one empty (migrated) database (the
production run's first start, a first `helm install`). Each makes the feed cursors that are missing; the
one that loses the race must start on what the winner made, not crash (it did: a duplicate key)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import DatabaseUnderTest
from tms.ingest.models import FeedCursor
from tms.main import MIGRATIONS, create_app
from tms.settings import TmsSettings


async def _start_together(settings: list[TmsSettings]) -> None:
    apps = [create_app(s) for s in settings]
    contexts = [app.router.lifespan_context(app) for app in apps]
    await asyncio.gather(*(c.__aenter__() for c in contexts))
    for context in contexts:
        await context.__aexit__(None, None, None)


async def _cursors(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return sorted((await session.execute(select(FeedCursor.source))).scalars())
    finally:
        await db.dispose()


def test_two_replicas_starting_at_once_make_each_cursor_once(database: DatabaseUnderTest, tmp_path: Path) -> None:
    common = dict(
        database_url=database.url,
        registry_urls="",
        log_to_file=False,
        migrate_on_start=False,  # the chart's migration Job has run
        feed_poll_seconds=60,
    )
    upgrade(TmsSettings(var_dir=tmp_path, **common), MIGRATIONS)
    replicas = [TmsSettings(var_dir=tmp_path / str(i), **common) for i in range(3)]
    asyncio.run(_start_together(replicas))
    assert asyncio.run(_cursors(database.url)) == sorted(replicas[0].feed_sources)

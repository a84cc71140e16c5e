"""Production profile: a first `helm install` with several gateway replicas starts them at the same moment
on one empty (migrated) database. Each makes the superadmin and the built-in roles if they are missing;
the one that loses the race must start on what the winner made, not crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from gateway.main import MIGRATIONS, create_app
from gateway.settings import GatewaySettings
from gateway.system.models import Role, User
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import DatabaseUnderTest


async def _start_together(settings: list[GatewaySettings]) -> None:
    apps = [create_app(s) for s in settings]
    contexts = [app.router.lifespan_context(app) for app in apps]
    await asyncio.gather(*(c.__aenter__() for c in contexts))
    for context in contexts:
        await context.__aexit__(None, None, None)


async def _count(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
            roles = (await session.execute(select(func.count()).select_from(Role))).scalar_one()
    finally:
        await db.dispose()
    return users, roles


def test_three_replicas_starting_at_once_make_one_superadmin(database: DatabaseUnderTest, tmp_path: Path) -> None:
    common = dict(
        database_url=database.url,
        registry_urls="",
        log_to_file=False,
        superadmin_password="Replica-pass-1",
        notifications_poll_seconds=0,
        migrate_on_start=False,  # the chart's migration Job has run
    )
    upgrade(GatewaySettings(var_dir=tmp_path, **common), MIGRATIONS)
    replicas = [GatewaySettings(var_dir=tmp_path / str(i), **common) for i in range(3)]
    asyncio.run(_start_together(replicas))
    users, roles = asyncio.run(_count(database.url))
    assert users == 1
    asyncio.run(_start_together(replicas[:1]))  # a restart finds them all and adds none
    assert asyncio.run(_count(database.url)) == (users, roles)

"""SQLite keeps a fixed set of connections: load queues for them instead of opening and closing
new ones (each a thread in aiosqlite)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from dbs.settings import DbsSettings
from shared.db import Database

pytestmark = pytest.mark.anyio


async def test_concurrent_reads_reuse_a_fixed_set_of_sqlite_connections(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", pool_size=4)
    opened: list[Any] = []
    event.listen(db.primary.sync_engine, "connect", lambda connection, _record: opened.append(connection))
    in_use = 0
    most_in_use = 0

    async def read() -> None:
        nonlocal in_use, most_in_use
        async for session in db.read_session():
            in_use += 1
            most_in_use = max(most_in_use, in_use)
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(0.005)  # held a moment, so the reads overlap
            in_use -= 1

    try:
        for _ in range(3):  # bursts of load, as under wrk
            await asyncio.gather(*(read() for _ in range(20)))
        assert most_in_use == 4  # the rest waited for one
        assert len(opened) == 4  # and none was opened, closed and opened again
    finally:
        await db.dispose()


async def test_sqlite_keeps_its_own_smaller_pool(tmp_path: Path) -> None:
    # More SQLite connections are more threads taking turns at the GIL (bench/list_read.py).
    settings = DbsSettings(var_dir=tmp_path, database_pool_size=30, sqlite_pool_size=3, registry_urls="")
    db = Database.from_settings(settings)
    try:
        assert db.primary.pool.size() == 3  # type: ignore[attr-defined]  # QueuePool's, not Pool's
    finally:
        await db.dispose()

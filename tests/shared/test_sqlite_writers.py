"""SQLite takes one writer at a time: a process queues its write transactions instead of letting
them collide in SQLite's busy handler."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import Database

pytestmark = pytest.mark.anyio


async def test_concurrent_write_transactions_each_see_the_last_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE n (v INTEGER)"))
            await session.execute(text("INSERT INTO n VALUES (0)"))

        async def bump() -> None:
            async with db.transaction() as session:
                value = (await session.execute(text("SELECT v FROM n"))).scalar_one()
                await asyncio.sleep(0.01)  # other requests run meanwhile: none may write in between
                await session.execute(text("UPDATE n SET v = :v"), {"v": value + 1})

        await asyncio.gather(*(bump() for _ in range(30)))
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT v FROM n"))).scalar_one() == 30
    finally:
        await db.dispose()


async def test_a_write_transaction_inside_another_is_refused_not_a_hang(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.transaction():
            with pytest.raises(RuntimeError, match="deadlock"):
                async with db.transaction():
                    pass
    finally:
        await db.dispose()

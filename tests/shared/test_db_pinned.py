"""Database.pinned, the tests' isolation: the block's sessions commit as SAVEPOINTs of one
transaction that is rolled back at the end. On SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select

from shared.db import Database
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.tables import created, emptied

pytestmark = pytest.mark.anyio

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def url(database: DatabaseUnderTest) -> Iterator[str]:
    with created(metadata, database.url) as url:
        yield url


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    async with emptied(metadata, url) as database:
        yield database


def committed(url: str) -> int:
    """What another connection sees."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(things)).scalar_one()
    finally:
        engine.dispose()


async def names(db: Database) -> list[str]:
    async with aclosing(db.read_session()) as sessions:
        async for session in sessions:
            return list((await session.execute(select(things.c.name).order_by(things.c.id))).scalars())
    raise AssertionError("no session")


async def test_writes_commit_inside_the_block_and_are_gone_after_it(db: Database, url: str) -> None:
    async with db.pinned():
        async with db.transaction() as session:
            await session.execute(insert(things).values(name="a"))
        async with db.transaction() as session:
            await session.execute(insert(things).values(name="b"))
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await session.execute(insert(things).values(name="failed"))
                raise RuntimeError("the route failed")
        # Each session's own commit and rollback, as without the pin; reads see the commits.
        assert await names(db) == ["a", "b"]
        assert committed(url) == 0  # nothing reached the database for anyone else
    assert committed(url) == 0
    assert await names(db) == []
    # And the database is usable as ever afterwards.
    async with db.transaction() as session:
        await session.execute(insert(things).values(name="real"))
    assert committed(url) == 1
    async with db.transaction() as session:
        await session.execute(things.delete())

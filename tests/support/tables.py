"""A test module's own tables on the database under test (SQLite and MariaDB, from the `database`
fixture): made once per module, emptied before each test, dropped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine

from shared.db import Database
from shared.migrations import sync_url


@contextmanager
def created(metadata: MetaData, url: str) -> Iterator[str]:
    engine = create_engine(sync_url(url))
    metadata.create_all(engine)
    try:
        yield url
    finally:
        metadata.drop_all(engine)
        engine.dispose()


@asynccontextmanager
async def emptied(metadata: MetaData, url: str, pool_size: int = 10) -> AsyncIterator[Database]:
    """A Database on `url` whose tables of `metadata` hold nothing yet; disposed afterwards."""
    database = Database(url, pool_size=pool_size)
    try:
        async with database.transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        yield database
    finally:
        await database.dispose()


def database_fixtures(metadata: MetaData, pool_size: int = 10) -> tuple[Any, Any]:
    """A test module's `tables` (made once per module on the database under test) and `db` (a
    Database with them emptied, per test): `tables, db = database_fixtures(metadata)`."""

    @pytest.fixture(scope="module")
    def tables(database: Any) -> Iterator[str]:
        with created(metadata, database.url) as url:
            yield url

    @pytest.fixture
    async def db(tables: str) -> AsyncIterator[Database]:
        async with emptied(metadata, tables, pool_size=pool_size) as database:
            yield database

    return tables, db

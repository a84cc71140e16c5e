"""The change feed: a transaction's changes are numbered together as it commits, in commit order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, event, select

from shared.db import Database
from shared.feed import feed_table, publish
from shared.sequences import counter_table
from tests.support.tables import database_fixtures

pytestmark = pytest.mark.anyio

metadata = MetaData()
feed = feed_table(metadata)
counters = counter_table(metadata)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


tables, db = database_fixtures(metadata, pool_size=5)


async def _changes(db: Database) -> list[tuple[int, str]]:
    async with db.transaction() as session:
        rows = await session.execute(select(feed.c.seq, feed.c.entity_id).order_by(feed.c.seq))
        return [(row.seq, row.entity_id) for row in rows]


async def _publish(session: Any, entity_id: int) -> None:
    await publish(session, feed, counters, entity="visit", entity_id=entity_id, action="registered", data={})


async def test_a_transactions_changes_take_one_advance_of_the_counter(db: Database) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]).upper())

    async with db.transaction() as session:
        await _publish(session, 1)
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        async with db.transaction() as session:
            for entity_id in (2, 3, 4):
                await _publish(session, entity_id)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert await _changes(db) == [(1, "1"), (2, "2"), (3, "3"), (4, "4")]
    # One upsert of the counter answers its new value (shared/sequences.py), then the rows.
    assert statements == ["INSERT INTO COUNTERS", "INSERT INTO CHANGE_FEED"]


async def test_a_rolled_back_transaction_publishes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await _publish(session, 1)
            raise RuntimeError("refused")
    async with db.transaction() as session:
        await _publish(session, 2)
    assert await _changes(db) == [(1, "2")]


async def test_a_change_in_a_savepoint_goes_with_it(db: Database) -> None:
    async with db.transaction() as session:
        await _publish(session, 1)
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await _publish(session, 2)
                raise RuntimeError("the savepoint is rolled back")
        async with session.begin_nested():
            await _publish(session, 3)
    assert [entity for _, entity in await _changes(db)] == ["3", "1"]

"""Counters hand out every value once, in one statement each, on SQLite and MySQL alike."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, event

from shared.db import Database
from shared.sequences import business_number, counter_table, next_value, reserve
from tests.support.tables import database_fixtures

pytestmark = pytest.mark.anyio

metadata = MetaData()
counters = counter_table(metadata)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


tables, db = database_fixtures(metadata, pool_size=5)


async def _take(db: Database, name: str) -> int:
    async with db.transaction() as session:
        return await next_value(session, counters, name)


async def test_concurrent_transactions_each_take_their_own_number(db: Database) -> None:
    taken = await asyncio.gather(*(_take(db, "MZ") for _ in range(12)))
    assert sorted(taken) == list(range(1, 13))
    assert await _take(db, "other") == 1  # each counter on its own, made on first use


async def test_first_numbers_of_new_counters_taken_at_once_never_deadlock(db: Database) -> None:
    # The first number of a day used to be an UPDATE that found no row, then an INSERT: two
    # transactions doing that at once both held the gap and deadlocked on MariaDB (pms's returns).
    for day in range(8):
        taken = await asyncio.gather(*(_take(db, f"TY{day}") for _ in range(4)))
        assert sorted(taken) == [1, 2, 3, 4]


async def test_a_number_is_one_statement_even_for_a_new_counter(db: Database) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        async with db.transaction() as session:
            assert await next_value(session, counters, "new") == 1
            assert await next_value(session, counters, "new") == 2
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert statements == ["INSERT", "INSERT"]  # upserts: nothing read, nothing retried


async def test_business_numbers_run_per_day(db: Database) -> None:
    async with db.transaction() as session:
        first = await business_number(session, counters, "SF", date(2026, 11, 28))
        second = await business_number(session, counters, "SF", date(2026, 11, 28))
        next_day = await business_number(session, counters, "SF", date(2026, 11, 29))
    assert (first, second, next_day) == ("SF20261128-00001", "SF20261128-00002", "SF20261129-00001")


async def test_a_reservation_takes_a_block_after_what_was_taken(db: Database) -> None:
    assert await _take(db, "RK") == 1
    async with db.transaction() as session:
        last = await session.run_sync(lambda s: reserve(s.connection(), counters, "RK", 5))
    assert last == 6  # 2..6 are the caller's
    assert await _take(db, "RK") == 7

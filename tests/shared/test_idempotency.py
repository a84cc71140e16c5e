"""`run_once` straight against a Database, on SQLite and MariaDB: one key, one application."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import Request
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.errors import Invalid
from shared.idempotency import Answer, idempotency_table, key_of, request_hash, run_once
from tests.conftest import DatabaseUnderTest
from tests.support.tables import database_fixtures

pytestmark = pytest.mark.anyio

metadata = MetaData()
keys = idempotency_table(metadata)
# What the work writes: one row per time it really ran.
effects = Table("effects", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


tables, db = database_fixtures(metadata, pool_size=10)


class Work:
    """Inserts an effect and answers 201 with its id; counts how often it ran."""

    def __init__(self, name: str = "x", delay: float = 0.0, fail: bool = False) -> None:
        self.name, self.delay, self.fail = name, delay, fail
        self.runs = 0

    async def __call__(self, session: AsyncSession) -> Answer:
        self.runs += 1
        result = await session.execute(insert(effects).values(name=self.name))
        await asyncio.sleep(self.delay)  # holds the key's row while others arrive
        if self.fail:
            raise Invalid("refused on purpose")
        return Answer(201, {"id": result.inserted_primary_key[0], "name": self.name, "中文": "取药"})


async def _count(db: Database, table: Table) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_the_first_call_runs_and_stores_its_answer(db: Database) -> None:
    work = Work()
    answer = await run_once(db, keys, "k1", "scope", {"a": 1}, work)
    assert (answer.status, answer.replayed, work.runs) == (201, False, 1)
    async with db.transaction() as session:
        (row,) = (await session.execute(select(keys))).mappings().all()
    assert (row["key"], row["scope"], row["status"]) == ("k1", "scope", 201)
    assert row["request_hash"] == request_hash({"a": 1})
    assert json.loads(row["body"]) == answer.body


async def test_a_new_key_is_inserted_not_looked_up_first(db: Database) -> None:
    """A new key (nearly every request) costs its insert and the answer's update, no read."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        await run_once(db, keys, "k-new", "scope", {"a": 1}, Work())
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] == ["INSERT", "INSERT", "UPDATE"]


async def test_a_repeat_answers_the_stored_answer_without_running(db: Database) -> None:
    first = await run_once(db, keys, "k1", "scope", {"a": 1, "b": [1, 2]}, Work())
    work = Work()
    # The same payload in another key order is the same request.
    again = await run_once(db, keys, "k1", "scope", {"b": [1, 2], "a": 1}, work)
    assert work.runs == 0
    assert (again.status, again.body, again.replayed) == (first.status, first.body, True)
    assert await _count(db, effects) == 1


async def test_a_key_reused_for_another_payload_or_scope_is_refused(db: Database) -> None:
    await run_once(db, keys, "k1", "scope", {"a": 1}, Work())
    for scope, payload in (("scope", {"a": 2}), ("other-scope", {"a": 1})):
        work = Work()
        with pytest.raises(Invalid) as refused:
            await run_once(db, keys, "k1", scope, payload, work)
        assert refused.value.code == "idempotency_key_reused"
        assert work.runs == 0
    assert await _count(db, effects) == 1


async def test_failed_work_keeps_no_key_so_a_retry_runs(db: Database) -> None:
    with pytest.raises(Invalid):
        await run_once(db, keys, "k1", "scope", {"a": 1}, Work(fail=True))
    assert await _count(db, keys) == 0
    assert await _count(db, effects) == 0  # the work's own writes went with it
    retry = Work()
    answer = await run_once(db, keys, "k1", "scope", {"a": 1}, retry)
    assert (answer.status, answer.replayed, retry.runs) == (201, False, 1)
    assert await _count(db, effects) == 1


async def test_without_a_key_the_work_runs_every_time(db: Database) -> None:
    work = Work()
    for _ in range(2):
        assert (await run_once(db, keys, None, "scope", {"a": 1}, work)).replayed is False
    assert work.runs == 2
    assert await _count(db, keys) == 0


async def test_concurrent_calls_with_one_key_run_the_work_once(db: Database) -> None:
    work = Work(delay=0.2)
    answers = await asyncio.gather(*(run_once(db, keys, "race", "scope", {"a": 1}, work) for _ in range(15)))
    assert work.runs == 1
    assert await _count(db, effects) == 1
    assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1
    assert {a.status for a in answers} == {201}
    assert sum(not a.replayed for a in answers) == 1


async def test_concurrent_calls_with_different_keys_each_run(db: Database) -> None:
    work = Work(delay=0.05)
    answers = await asyncio.gather(*(run_once(db, keys, f"k{i}", "scope", {"i": i}, work) for i in range(8)))
    assert work.runs == 8
    assert len({a.body["id"] for a in answers}) == 8


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope: dict[str, Any] = {"type": "http", "headers": raw, "method": "POST", "path": "/"}
    return Request(scope)


async def test_key_of_reads_the_header() -> None:
    assert await key_of(_request({"Idempotency-Key": "  abc-1  "})) == "abc-1"
    assert await key_of(_request({})) is None
    assert await key_of(_request({"Idempotency-Key": "   "})) is None
    with pytest.raises(Invalid):
        await key_of(_request({"Idempotency-Key": "x" * 101}))


async def test_waiters_behind_a_failed_attempt_apply_the_key_once(
    db: Database, database: DatabaseUnderTest, request: pytest.FixtureRequest
) -> None:
    """The first holder of a key fails while others wait on it: one waiter applies, the rest replay."""
    failing = Work(delay=0.5, fail=True)
    first = asyncio.create_task(run_once(db, keys, "k", "scope", {"a": 1}, failing))
    await asyncio.sleep(0.2)  # the first holds the key's row now
    work = Work()
    waiters = await asyncio.gather(
        *(run_once(db, keys, "k", "scope", {"a": 1}, work) for _ in range(3)), return_exceptions=True
    )
    with pytest.raises(Invalid):
        await first
    assert [repr(w)[:300] for w in waiters if isinstance(w, BaseException)] == []
    assert work.runs == 1
    assert await _count(db, effects) == 1

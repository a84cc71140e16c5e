"""Counters in the service's own database: business numbers (MZ20261122-00042) and feed order.

`next_value` increments a named counter row inside the caller's transaction, in one statement
that also answers the new value (`_bump`). On MySQL the row stays locked until that transaction
ends, so values are handed out in commit order and never twice; SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


def counter_table(metadata: MetaData) -> Table:
    return Table(
        "counters",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )


def _bump(dialect: str, table: Table, name: str, by: int) -> Any:
    """The UPDATE advancing counter `name` by `by` that also answers the new value, in one
    statement where the database allows: RETURNING on SQLite; on MySQL and MariaDB (no UPDATE …
    RETURNING) LAST_INSERT_ID(expr), whose value comes back in the UPDATE's own answer as its
    insert id, as MySQL's manual suggests for sequences."""
    statement = update(table).where(table.c.name == name)
    if dialect == "mysql":
        return statement.values(value=func.last_insert_id(table.c.value + by))
    return statement.values(value=table.c.value + by).returning(table.c.value)


def _bumped(dialect: str, result: Any) -> int | None:
    """The new value from _bump's result; None when the counter has no row yet."""
    if dialect == "mysql":
        return int(result.lastrowid) if result.rowcount else None
    value = result.scalar_one_or_none()
    return None if value is None else int(value)


async def next_value(session: AsyncSession, table: Table, name: str) -> int:
    dialect = session.get_bind().dialect.name
    for _ in range(2):
        value = _bumped(dialect, await session.execute(_bump(dialect, table, name, 1)))
        if value is not None:
            return value
        try:
            async with session.begin_nested():
                await session.execute(insert(table).values(name=name, value=1))
            return 1
        except IntegrityError:
            continue  # another transaction created it first: increment that row
    raise RuntimeError(f"counter {name!r} could not be advanced")


async def business_number(session: AsyncSession, table: Table, prefix: str, day: date, width: int = 5) -> str:
    """`MZ20261122-00042`: the prefix, the hospital's day, and that day's running number."""
    stem = f"{prefix}{day:%Y%m%d}"
    return f"{stem}-{await next_value(session, table, stem):0{width}d}"


def reserve(connection: Connection, table: Table, name: str, count: int) -> int:
    """Advances counter `name` by `count` at once (in the caller's transaction, on its sync
    connection) and answers the last value: the caller takes last - count + 1 .. last."""
    dialect = connection.dialect.name
    for _ in range(2):
        value = _bumped(dialect, connection.execute(_bump(dialect, table, name, count)))
        if value is not None:
            return value
        try:
            with connection.begin_nested():
                connection.execute(insert(table).values(name=name, value=count))
            return count
        except IntegrityError:
            continue  # another transaction created it first: advance that row
    raise RuntimeError(f"counter {name!r} could not be advanced")

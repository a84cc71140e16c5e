"""Counters in the service's own database: business numbers (MZ20261122-00042) and feed order.

`next_value` increments a named counter row inside the caller's transaction, in one statement
that creates it when missing and answers the new value (`_advance`). On MySQL the row stays
locked until that transaction ends, so values are handed out in commit order and never twice;
SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, func
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession


def counter_table(metadata: MetaData) -> Table:
    return Table(
        "counters",
        metadata,
        Column("name", String(64), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )


def _advance(dialect: str, table: Table, name: str, by: int) -> Any:
    """One statement that advances counter `name` by `by`, creating it at `by` if it has no row,
    and answers the new value: an upsert, not an UPDATE then an INSERT when nothing matched. Two
    transactions taking the first number of a day both found no row, both held the gap, and the
    two INSERTs deadlocked on MariaDB. SQLite: ON CONFLICT … RETURNING. MySQL and MariaDB (no
    RETURNING on UPDATE): ON DUPLICATE KEY UPDATE with LAST_INSERT_ID(expr), whose value comes
    back as the statement's insert id, as MySQL's manual suggests for sequences."""
    if dialect == "mysql":
        return (
            mysql.insert(table)
            .values(name=name, value=func.last_insert_id(by))
            .on_duplicate_key_update(value=func.last_insert_id(table.c.value + by))
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(table)
            .values(name=name, value=by)
            .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + by})
            .returning(table.c.value)
        )
    raise NotImplementedError(f"counters on {dialect}")


def _advanced(dialect: str, result: Any) -> int:
    return int(result.lastrowid if dialect == "mysql" else result.scalar_one())


async def next_value(session: AsyncSession, table: Table, name: str) -> int:
    dialect = session.get_bind().dialect.name
    return _advanced(dialect, await session.execute(_advance(dialect, table, name, 1)))


async def business_number(session: AsyncSession, table: Table, prefix: str, day: date, width: int = 5) -> str:
    """`MZ20261122-00042`: the prefix, the hospital's day, and that day's running number."""
    stem = f"{prefix}{day:%Y%m%d}"
    return f"{stem}-{await next_value(session, table, stem):0{width}d}"


def reserve(connection: Connection, table: Table, name: str, count: int) -> int:
    """Advances counter `name` by `count` at once (in the caller's transaction, on its sync
    connection) and answers the last value: the caller takes last - count + 1 .. last."""
    dialect = connection.dialect.name
    return _advanced(dialect, connection.execute(_advance(dialect, table, name, count)))

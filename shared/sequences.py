"""Counters in the service's own database: business numbers (MZ20261122-00042) and feed order.

`next_value` increments a named counter row inside the caller's transaction. On MySQL the
row stays locked until that transaction ends, so values are handed out in commit order and
never twice; SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import BigInteger, Column, CursorResult, MetaData, String, Table, insert, select, update
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


async def next_value(session: AsyncSession, table: Table, name: str) -> int:
    for _ in range(2):
        # An UPDATE answers a CursorResult (with rowcount); AsyncSession.execute is typed as plain Result.
        bumped = cast(
            CursorResult[Any],
            await session.execute(update(table).where(table.c.name == name).values(value=table.c.value + 1)),
        )
        if bumped.rowcount:
            return int((await session.execute(select(table.c.value).where(table.c.name == name))).scalar_one())
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
    for _ in range(2):
        if connection.execute(update(table).where(table.c.name == name).values(value=table.c.value + count)).rowcount:
            return int(connection.execute(select(table.c.value).where(table.c.name == name)).scalar_one())
        try:
            with connection.begin_nested():
                connection.execute(insert(table).values(name=name, value=count))
            return count
        except IntegrityError:
            continue  # another transaction created it first: advance that row
    raise RuntimeError(f"counter {name!r} could not be advanced")

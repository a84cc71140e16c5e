"""Adding to daily rollup rows: one upsert per distinct key of a page, on SQLite and MySQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _summed(keys: Sequence[str], added: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same key added together first: a page of a thousand payments of one doctor and
    day is one statement's row, not a thousand updates of the same row."""
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        into = by_key.get(key)
        if into is None:
            by_key[key] = dict(row)
            continue
        for name in added:
            into[name] += row[name]
    return list(by_key.values())


async def add_up(
    session: AsyncSession,
    table: Table,
    keys: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    fixed: Sequence[str] = (),
) -> None:
    """Inserts each row or adds its amounts to the row of the same key. `fixed`: columns set once
    with the row (its month, say), never added."""
    rows = list(rows)
    if not rows:
        return
    added = [name for name in rows[0] if name not in keys and name not in fixed]
    summed = _summed(keys, added, rows)
    dialect = session.get_bind().dialect.name
    if dialect == "mysql":
        insert = mysql.insert(table)
        statement = insert.on_duplicate_key_update({n: table.c[n] + insert.inserted[n] for n in added})
    elif dialect == "sqlite":
        lite = sqlite.insert(table)
        statement = lite.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys], set_={n: table.c[n] + lite.excluded[n] for n in added}
        )
    else:
        raise NotImplementedError(f"rollups on {dialect}")
    await session.execute(statement, summed)

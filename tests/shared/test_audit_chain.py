"""The audit chain (shared/audit_chain.py) on SQLite and MariaDB: writers chain one after another,
even concurrently; verification names the first edited row, where rows were deleted, and the end
cut off; archiving moves a verified prefix to a file the live chain continues from."""

from __future__ import annotations

import asyncio
import gzip
import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, MetaData, Table, create_engine, select, text

from shared import audit
from shared.audit import audit_table, record
from shared.audit_chain import (
    GENESIS,
    ChainProblem,
    ChainState,
    ChainStatus,
    archive,
    chain_heads,
    use_key,
    verify,
    verify_archives,
)
from shared.clock import utcnow
from shared.db import Database
from shared.migrations import sync_url
from shared.settings import ServiceSettings
from tests.conftest import DatabaseUnderTest

KEY = b"test-audit-key"


class Chain:
    """A fresh audit_log and audit_chain in the database under test, written as a service writes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.metadata = MetaData()
        self.table: Table = audit_table(self.metadata)
        self.engine: Engine = create_engine(sync_url(url))
        use_key(self.engine, KEY)
        self.metadata.drop_all(self.engine)
        self.metadata.create_all(self.engine)

    def write(self, count: int, *, concurrently: bool = False, **kwargs: Any) -> None:
        async def run() -> None:
            db = Database(self.url, pool_size=count if concurrently else 2)
            use_key(db.primary, KEY)

            async def one(i: int) -> None:
                async with db.transaction() as session:
                    await record(session, self.table, action="create", entity="thing", entity_id=i, after={"n": i})
                    # Other writers run meanwhile; none may chain onto the row this one chained onto.
                    await asyncio.sleep(0.005)

            try:
                if concurrently:
                    await asyncio.gather(*(one(i) for i in range(count)))
                else:
                    for i in range(count):
                        await one(i)
            finally:
                await db.dispose()

        asyncio.run(run())

    def state(self) -> ChainState:
        with self.engine.connect() as conn:
            return verify(conn, self.table, KEY, "dbs")

    def sql(self, statement: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement))

    def ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(self.table.c.id).order_by(self.table.c.id)))


@pytest.fixture
def chain(database: DatabaseUnderTest) -> Iterator[Chain]:
    chain = Chain(database.url)
    try:
        yield chain
    finally:
        chain.metadata.drop_all(chain.engine)
        chain.engine.dispose()


def test_many_writes_make_one_intact_chain(chain: Chain) -> None:
    chain.write(30)
    state = chain.state()
    assert (state.status, state.rows) == (ChainStatus.INTACT, 30)
    with chain.engine.connect() as conn:
        rows = conn.execute(select(chain.table).order_by(chain.table.c.id)).mappings().all()
    assert rows[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in pairwise(rows))


def test_concurrent_writers_never_chain_onto_the_same_row(chain: Chain) -> None:
    chain.write(16, concurrently=True)
    chain.write(16, concurrently=True)
    state = chain.state()
    assert (state.status, state.rows) == (ChainStatus.INTACT, 32)
    with chain.engine.connect() as conn:
        prev = list(conn.scalars(select(chain.table.c.prev_hash)))
    assert len(set(prev)) == len(prev), "two rows chained onto the same predecessor"


def test_an_edited_row_is_named(chain: Chain) -> None:
    chain.write(10)
    chain.sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 4")
    state = chain.state()
    assert (state.status, state.problem, state.row_id) == (ChainStatus.BROKEN, ChainProblem.EDITED, 4)
    assert state.at is not None
    assert "row 4 was edited" in state.describe().en and "第 4 条记录被修改" in state.describe().zh


def test_a_row_rehashed_without_the_key_is_still_named(chain: Chain) -> None:
    """Recomputing a plain SHA-256 does not help whoever lacks the HMAC key."""
    import hashlib

    chain.write(5)
    with chain.engine.connect() as conn:
        row = dict(conn.execute(select(chain.table).where(chain.table.c.id == 3)).mappings().one())
    forged = hashlib.sha256(json.dumps({**row, "actor": "mallory"}, default=str).encode()).hexdigest()
    chain.sql(f"UPDATE audit_log SET actor = 'mallory', hash = '{forged}' WHERE id = 3")
    assert (chain.state().problem, chain.state().row_id) == (ChainProblem.EDITED, 3)


def test_a_deleted_row_is_named_by_the_row_after_it(chain: Chain) -> None:
    chain.write(10)
    chain.sql("DELETE FROM audit_log WHERE id = 6")
    state = chain.state()
    assert (state.status, state.problem, state.row_id) == (ChainStatus.BROKEN, ChainProblem.DELETED, 7)


def test_rows_cut_off_the_end_are_noticed(chain: Chain) -> None:
    chain.write(10)
    chain.sql("DELETE FROM audit_log WHERE id >= 9")
    state = chain.state()
    assert (state.status, state.problem, state.row_id) == (ChainStatus.BROKEN, ChainProblem.TRUNCATED, 8)


def test_moving_the_head_to_hide_a_cut_is_noticed(chain: Chain) -> None:
    chain.write(10)
    with chain.engine.connect() as conn:
        eight = conn.execute(select(chain.table.c.hash).where(chain.table.c.id == 8)).scalar_one()
    chain.sql("DELETE FROM audit_log WHERE id >= 9")
    chain.sql(f"UPDATE audit_chain SET last_id = 8, last_hash = '{eight}' WHERE name = 'audit_log'")
    assert chain.state().problem == ChainProblem.HEAD_EDITED


def test_rows_written_before_chaining_are_sealed_once(chain: Chain) -> None:
    """An older install: rows without hashes and an unsealed head. The first write seals them, and
    says so in a row of its own."""
    legacy = {"actor": "old", "action": "create", "entity": "thing", "entity_id": "1", "route": "", "request_id": ""}
    with chain.engine.begin() as conn:
        for _ in range(3):
            conn.execute(chain.table.insert().values(at=utcnow(), **legacy))
    assert chain.state().status == ChainStatus.UNSEALED
    chain.write(2)
    state = chain.state()
    assert (state.status, state.rows) == (ChainStatus.INTACT, 6)  # 3 old, the seal row, 2 new
    with chain.engine.connect() as conn:
        actions = list(conn.scalars(select(chain.table.c.action).order_by(chain.table.c.id)))
    assert actions == ["create"] * 3 + ["seal", "create", "create"]
    # A head reset under chained rows is refused: writes fail rather than start a new chain.
    chain.sql("UPDATE audit_chain SET sealed_at = NULL")
    assert chain.state().problem == ChainProblem.HEAD_EDITED
    with pytest.raises(RuntimeError, match="head was reset"):
        chain.write(1)
    # Blanking every hash as well makes the next write seal again; the second seal row shows it.
    chain.sql("UPDATE audit_log SET prev_hash = NULL, hash = NULL")
    chain.write(1)
    with chain.engine.connect() as conn:
        actions = list(conn.scalars(select(chain.table.c.action).order_by(chain.table.c.id)))
    assert actions.count("seal") == 2


def test_archive_moves_old_rows_and_the_chain_continues(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = utcnow() - timedelta(days=200)
    with monkeypatch.context() as patch:
        patch.setattr(audit, "utcnow", lambda: long_ago)
        chain.write(5)
    chain.write(3)
    directory = tmp_path / "archive" / "dbs"
    done = archive(chain.engine, chain.table, utcnow() - timedelta(days=180), directory, "dbs")
    assert done is not None and (done.rows, done.first_id, done.last_id) == (5, 1, 5)
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o600
    # The old rows left the table; the archiving left a row of its own.
    assert chain.ids() == [6, 7, 8, 9]
    with gzip.open(done.path, "rt") as handle:
        header, *rows = [json.loads(line) for line in handle]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5] and header["last_hash"] == rows[-1]["hash"]
    with chain.engine.connect() as conn:
        first_live = conn.execute(select(chain.table.c.prev_hash).where(chain.table.c.id == 6)).scalar_one()
        archived_row = conn.execute(select(chain.table.c.after).where(chain.table.c.action == "archive")).scalar_one()
        archives = verify_archives(conn, chain.table, KEY, directory, "dbs")
    assert first_live == header["last_hash"]
    assert json.loads(archived_row)["rows"] == 5
    state = chain.state()
    assert (state.status, state.rows, state.archived_through) == (ChainStatus.INTACT, 4, 5)
    assert (archives.status, archives.rows) == (ChainStatus.INTACT, 5)
    # Nothing is young enough to go a second time.
    assert archive(chain.engine, chain.table, utcnow() - timedelta(days=180), directory, "dbs") is None

    # An archive file edited afterwards is named.
    rows[2]["actor"] = "mallory"
    with gzip.open(done.path, "wt") as handle:
        for line in [header, *rows]:
            handle.write(json.dumps(line) + "\n")
    with chain.engine.connect() as conn:
        archives = verify_archives(conn, chain.table, KEY, directory, "dbs")
    assert (archives.status, archives.problem, archives.row_id) == (ChainStatus.BROKEN, ChainProblem.EDITED, 3)

    # A removed archive file: the live chain no longer meets the archives.
    done.path.unlink()
    with chain.engine.connect() as conn:
        archives = verify_archives(conn, chain.table, KEY, directory, "dbs")
    assert (archives.problem, archives.row_id) == (ChainProblem.DELETED, 6)


def test_an_archive_that_does_not_verify_deletes_nothing(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = utcnow() - timedelta(days=200)
    with monkeypatch.context() as patch:
        patch.setattr(audit, "utcnow", lambda: long_ago)
        chain.write(4)
    chain.sql("UPDATE audit_log SET entity = 'other' WHERE id = 2")
    with pytest.raises(RuntimeError, match="nothing deleted"):
        archive(chain.engine, chain.table, utcnow() - timedelta(days=180), tmp_path, "dbs")
    assert chain.ids() == [1, 2, 3, 4]
    assert list(tmp_path.glob("*.gz")) == [] and list(tmp_path.glob("*.tmp")) == []


def test_the_head_table_is_one_row_per_chain(chain: Chain) -> None:
    chain.write(3)
    heads = chain_heads(chain.metadata)
    with chain.engine.connect() as conn:
        rows = conn.execute(select(heads)).mappings().all()
    assert [(r["name"], r["last_id"]) for r in rows] == [("audit_log", 3)]


def test_retention_below_180_days_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 180"):
        ServiceSettings(audit_retention_days=90)
    assert ServiceSettings(audit_retention_days=365).audit_retention_days == 365
    assert ServiceSettings().audit_retention_days == 180

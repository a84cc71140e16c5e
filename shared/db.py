"""The async database layer: one primary for writes, replicas for reads, SQLite or MySQL.

Routes that only read take ``ReadSession`` (a replica, or the primary when no replica
answers); routes that write take ``WriteSession`` (the primary), which commits when the
route returns and rolls back when it raises, before the response is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from shared import audit_chain, fieldcrypt, sqlite_driver
from shared.settings import ServiceSettings

log = logging.getLogger("hamp.db")

REPLICA_RETRY_SECONDS = 10.0


def service_metadata() -> MetaData:
    """A service's own metadata. Constraints get names, so MySQL and SQLite migrations agree on
    what to drop or alter."""
    return MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        sqlite_driver.install()
        pool: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # A fixed set of connections, kept: SQLAlchemy's default lets 10 more open under load
            # and closes each as it is returned, and every aiosqlite connection is a new thread
            # and file handle (bench/list_read.py, docs/decisions.md).
            pool = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return create_async_engine(
        parsed,
        # READ COMMITTED, not InnoDB's REPEATABLE READ: its gap locks make an insert (a new
        # prescription's lines) and an update of a neighbour's rows (a dispensed order's lines)
        # deadlock. Every race here is settled by a conditional UPDATE or a unique index, which
        # need no gap locks (docs/decisions.md).
        isolation_level="READ COMMITTED",
        # A replica host that drops packets must fail over in seconds, not after the OS gives up.
        connect_args={"connect_timeout": 5},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=10,
    )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """The engines of one service."""

    def __init__(self, primary_url: str, replica_urls: list[str] | None = None, pool_size: int = 10) -> None:
        self.primary = make_engine(primary_url, pool_size)
        self.replicas = [make_engine(u, pool_size) for u in (replica_urls or [])]
        self._replica_down_until: dict[int, float] = {}
        self._next_replica = 0
        self._write_lock = asyncio.Lock() if is_sqlite(self.primary) else None
        self._writer: asyncio.Task[Any] | None = None
        self._pinned: AsyncConnection | None = None  # tests only: see pinned()

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Database:
        sqlite = make_url(settings.effective_database_url).get_backend_name() == "sqlite"
        pool_size = settings.sqlite_pool_size if sqlite else settings.database_pool_size
        db = cls(settings.effective_database_url, settings.database_replica_urls, pool_size)
        # Encrypted columns read and write with the service's field keys (shared/fieldcrypt.py).
        for engine in [db.primary, *db.replicas]:
            fieldcrypt.attach_settings(engine, settings)
        # Audit rows written through the primary are chained with the service's audit key.
        audit_chain.use_key(db.primary, audit_chain.audit_key(settings))
        return db

    async def dispose(self) -> None:
        for engine in [self.primary, *self.replicas]:
            await engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self.primary.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except (OSError, DBAPIError):
            return False

    async def _read_connection(self) -> AsyncConnection:
        """A connection to a live replica, round robin; the primary when none answers."""
        count = len(self.replicas)
        for step in range(count):
            index = (self._next_replica + step) % count
            if self._replica_down_until.get(index, 0) > time.monotonic():
                continue
            try:
                conn = await self.replicas[index].connect()
            except (OSError, OperationalError, DBAPIError) as exc:
                log.warning("replica %d unreachable, reading from the primary: %s", index, exc)
                self._replica_down_until[index] = time.monotonic() + REPLICA_RETRY_SECONDS
                continue
            self._next_replica = index + 1
            return conn
        return await self.primary.connect()

    @asynccontextmanager
    async def transaction(self, *, queued: bool = True) -> AsyncIterator[AsyncSession]:
        """A session on the primary that commits when the block ends and rolls back if it raises.
        `queued=False`: not queued behind this process's other writers on SQLite — for a transaction
        that spends long before it writes (a password check), which SQLite lets run alongside."""
        async with self._one_writer(queued), self._session(self._pinned or self.primary) as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def _session(self, bind: AsyncEngine | AsyncConnection) -> AsyncSession:
        if bind is self._pinned:
            return AsyncSession(bind, expire_on_commit=False, join_transaction_mode="create_savepoint")
        return AsyncSession(bind, expire_on_commit=False)

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[AsyncConnection]:
        """For tests: every session of this Database, reads included, runs as a SAVEPOINT on one
        connection, inside a transaction rolled back when the block ends, so a test leaves nothing
        behind and nothing has to be wiped. One connection: not for tests of concurrent writers."""
        async with self.primary.connect() as conn:
            sqlite = is_sqlite(self.primary)
            if sqlite:
                # pysqlite begins a transaction only at the first write, so the first SAVEPOINT
                # would be the outer transaction and its RELEASE a commit: begin it ourselves.
                await conn.run_sync(lambda c: setattr(c.connection.dbapi_connection, "isolation_level", None))
            try:
                async with conn.begin() as outer:
                    if sqlite:
                        await conn.exec_driver_sql("BEGIN")
                    self._pinned = conn
                    try:
                        yield conn
                    finally:
                        self._pinned = None
                        await outer.rollback()
            finally:
                if sqlite:
                    await conn.run_sync(lambda c: setattr(c.connection.dbapi_connection, "isolation_level", ""))

    @asynccontextmanager
    async def _one_writer(self, queued: bool) -> AsyncIterator[None]:
        """SQLite has one writer at a time per file. Queueing this process's write transactions
        here, in the event loop, beats letting them collide in SQLite, whose busy handler sleeps in
        coarse steps: with 16 concurrent registrations (bench/registrations.py) p95 went from 2.3 s
        to 0.74 s and throughput from 22 to 26 per second. MySQL needs no such queue."""
        if self._write_lock is None or not queued:
            yield
            return
        task = asyncio.current_task()
        if self._writer is task:
            raise RuntimeError("a write transaction inside another one in the same task would deadlock")
        async with self._write_lock:
            self._writer = task
            try:
                yield
            finally:
                self._writer = None

    async def read_session(self) -> AsyncGenerator[AsyncSession, None]:
        if self._pinned is not None:
            async with self._session(self._pinned) as session:
                yield session
                # Released, not rolled back: a rollback to a savepoint taken before a write
                # session's would undo that write.
                await session.commit()
            return
        conn = await self._read_connection()
        try:
            # The connection's transaction, which the session joins: closing the connection rolls
            # it back and returns it to the pool as reset. A transaction of the session's own would
            # be rolled back by the session, then the idle connection again by the pool: two trips
            # to the driver's thread instead of one, on every read.
            await conn.begin()
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                yield session
        finally:
            await conn.close()


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).transaction() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Closed here, when the route ends, even when it raises: `async for` alone would leave the
    # generator (and its connection) to the garbage collector, closed later in a task of its own.
    async with aclosing(get_database(request).read_session()) as sessions:
        async for session in sessions:
            yield session


# scope="function": commit (or fail) before the response is sent, so a 2xx means committed.
WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]

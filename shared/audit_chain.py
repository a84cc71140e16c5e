"""Tamper evidence for the append-only logs (every service's `audit_log`, the gateway's `login_log`).

Each row carries `prev_hash`, the hash of the row before it, and `hash` = HMAC-SHA256 over a
canonical form of all its other columns (its id and `prev_hash` included). Editing a row breaks its
own hash; deleting one breaks the link of the row after it; cutting rows off the end no longer
meets the chain's head. Verification names the first row where either happens.

**Concurrent writers.** Each chain has one row in `audit_chain` (its head: last id, last hash,
where archiving left off). A writer first UPDATEs that row, then reads it and inserts the next link
with id = last id + 1, all in its own transaction. The UPDATE takes the row lock on MySQL/MariaDB
(and the database's write lock on SQLite) until that transaction ends, so a second writer waits and
then reads the first one's committed hash: two rows can never chain onto the same predecessor, and a
rolled-back write leaves the head as it was. The price: audited writes of one service are serialised
from their audit row to their commit (the audit row is the last statement of nearly every write, so
that is about one commit long).

**Keyed.** A plain SHA-256 chain can be recomputed by anyone who can write the table: a database
administrator could edit a row and rehash everything after it. The HMAC key (`audit_key`, a
Secret; embedded profile: `var/keys/audit-key`) never enters the database, so that takes the key
as well. The head row carries a MAC too, so its anchor cannot be moved to hide deleted rows.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, MetaData, String, Table, delete, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel

from shared.clock import utcnow
from shared.i18n import Text
from shared.records import table_of
from shared.settings import ServiceSettings
from shared.types import UTCDateTime

log = logging.getLogger("hamp.audit")

GENESIS = "0" * 64
HEADS = "audit_chain"
KEY_FILE = "audit-key"
CHUNK = 1000

# Chained tables by name. A name means the same columns in every service ("audit_log" is always
# shared.audit.audit_table), so start-up sealing can find the table of each head row.
CHAINED: dict[str, Table] = {}

_keys: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


# --- tables ---------------------------------------------------------------------------------


def chain_heads(metadata: MetaData) -> Table:
    """The service's `audit_chain`: one row per chained table (made once per metadata)."""
    existing = metadata.tables.get(HEADS)
    if existing is not None:
        return existing
    heads = Table(
        HEADS,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("last_id", BigInteger, nullable=True),
        Column("last_hash", String(64), nullable=False),
        # The last archived row: the first live row's prev_hash is its hash.
        Column("anchor_id", BigInteger, nullable=True),
        Column("anchor_hash", String(64), nullable=False),
        Column("mac", String(64), nullable=False),
        # When the rows written before chaining existed were sealed; NULL: not yet.
        Column("sealed_at", UTCDateTime(), nullable=True),
        Column("updated_at", UTCDateTime(), nullable=False),
    )

    @event.listens_for(heads, "after_create")
    def _one_head_per_chain(target: Table, connection: Connection, **_: Any) -> None:
        # As the migrations do: the heads exist before the first writers race to lock them (on
        # MySQL two transactions creating the same missing row deadlock).
        names = [t.name for t in metadata.tables.values() if t.name in CHAINED and "prev_hash" in t.c]
        for name in names:
            connection.execute(
                insert(target).values(name=name, last_hash=GENESIS, anchor_hash=GENESIS, mac="", updated_at=utcnow())
            )

    return heads


def chain_columns() -> list[Column[Any]]:
    return [Column("prev_hash", String(64), nullable=True), Column("hash", String(64), nullable=True)]


def chained(table: Table) -> Table:
    """Marks `table` (with chain_columns) as chained and gives its metadata the head table."""
    chain_heads(table.metadata)
    CHAINED.setdefault(table.name, table)
    return table


def chain_model(model: type[SQLModel]) -> None:
    """Chains an ORM model's rows as they are flushed, so call sites keep `session.add(Row(...))`.
    The mapper event runs inside the flush, on the session's own connection and transaction."""
    table = chained(table_of(model))

    @event.listens_for(model, "before_insert")
    def _link(mapper: Any, connection: Connection, target: Any) -> None:
        values = {}
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            value = getattr(target, prop.key)
            if value is None and column.default is not None and column.default.is_scalar:
                # What the INSERT would fill in anyway: hashed as stored.
                value = column.default.arg
                setattr(target, prop.key, value)
            values[column.name] = value
        linked = link(connection, table, values)
        target.id, target.prev_hash, target.hash = linked["id"], linked["prev_hash"], linked["hash"]


# --- the key --------------------------------------------------------------------------------


def audit_key(settings: ServiceSettings) -> bytes:
    """The setting, or in the embedded profile a key every process on this machine shares through
    `var/keys/audit-key` (made, mode 0600, by whichever process needs it first)."""
    if settings.audit_key:
        return settings.audit_key.encode()
    path = settings.var_dir / "keys" / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process created it a moment ago and may still be writing
            value = path.read_text().strip()
            if value:
                return value.encode()
            time.sleep(0.02)
        raise RuntimeError(f"{path} stays empty") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def use_key(engine: AsyncEngine | Engine, key: bytes) -> None:
    """Rows written through `engine` are keyed with `key`. An engine nobody registered chains with
    an empty key: verification with the real key then names those rows, so a miss cannot hide."""
    _keys[engine.sync_engine if isinstance(engine, AsyncEngine) else engine] = key


def _key(connection: Connection) -> bytes:
    return _keys.get(connection.engine, b"")


# --- hashing --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, Enum):
        return value.value
    return value


def _canonical(name: str, row: Mapping[Any, Any], columns: list[str]) -> bytes:
    # NULLs are left out, so a nullable column added later does not change the older rows' hashes.
    data = {c: _plain(row[c]) for c in columns if row.get(c) is not None}
    data["@chain"] = name
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(key: bytes, table: Table, row: Mapping[str, Any]) -> str:
    columns = [c.name for c in table.columns if c.name != "hash"]
    return hmac.new(key, _canonical(table.name, row, columns), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, head: Mapping[Any, Any]) -> str:
    fields = ["name", "last_id", "last_hash", "anchor_id", "anchor_hash"]
    return hmac.new(key, _canonical(HEADS, head, fields), hashlib.sha256).hexdigest()


def row_text(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as JSON (archives): hashing it again gives the same hash."""
    return {c.name: _plain(row.get(c.name)) for c in table.columns}


# --- writing --------------------------------------------------------------------------------


def _lock(connection: Connection, table: Table) -> RowMapping:
    """The chain's head, locked until this transaction ends (created if missing, sealed if new)."""
    heads = chain_heads(table.metadata)
    now = utcnow()
    for _ in range(2):
        if connection.execute(update(heads).where(heads.c.name == table.name).values(updated_at=now)).rowcount:
            break
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(heads).values(
                        name=table.name, last_hash=GENESIS, anchor_hash=GENESIS, mac="", updated_at=now
                    )
                )
            break
        except IntegrityError:
            continue  # another writer created it first: lock that one
    head = connection.execute(select(heads).where(heads.c.name == table.name)).mappings().one()
    if head["sealed_at"] is None:
        _seal(connection, table, head)
        head = connection.execute(select(heads).where(heads.c.name == table.name)).mappings().one()
    return head


def _advance(connection: Connection, table: Table, head: RowMapping, **values: Any) -> None:
    heads = chain_heads(table.metadata)
    advanced = {**head, **values}
    advanced["mac"] = _head_mac(_key(connection), advanced)
    fields = {k: advanced[k] for k in ("last_id", "last_hash", "anchor_id", "anchor_hash", "mac", "sealed_at")}
    connection.execute(update(heads).where(heads.c.name == table.name).values(**fields))


def link(connection: Connection, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as the chain's next row: with its id, prev_hash and hash. The head stays locked (and
    advanced) until the caller's transaction ends; the caller inserts the row in that transaction."""
    head = _lock(connection, table)
    row = {**values, "id": (head["last_id"] or 0) + 1, "prev_hash": head["last_hash"]}
    row["hash"] = digest(_key(connection), table, row)
    _advance(connection, table, head, last_id=row["id"], last_hash=row["hash"])
    return row


def append(connection: Connection, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    row = link(connection, table, values)
    connection.execute(insert(table).values(**row))
    return row


def append_all(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`rows` chained one after the other under one lock of the head and inserted in one statement:
    a transaction that audits several changes pays for the head once (link and append, per row,
    pay four statements each)."""
    head = _lock(connection, table)
    key = _key(connection)
    last_id, last_hash = head["last_id"] or 0, head["last_hash"]
    linked = []
    for values in rows:
        row = {**values, "id": last_id + 1, "prev_hash": last_hash}
        row["hash"] = digest(key, table, row)
        linked.append(row)
        last_id, last_hash = row["id"], row["hash"]
    _advance(connection, table, head, last_id=last_id, last_hash=last_hash)
    connection.execute(insert(table), linked)
    return linked


def _seal(connection: Connection, table: Table, head: RowMapping) -> None:
    """Chains the rows written before this table was chained (an older install), once: only while
    no row is chained yet. A head that went missing under chained rows is tampering, not a start."""
    if connection.execute(select(func.count()).where(table.c.hash.is_not(None))).scalar_one():
        raise RuntimeError(f"the {table.name} chain's head was reset under chained rows; restore it from a backup")
    key = _key(connection)
    previous, last_id, count = GENESIS, None, 0
    for rows in _chunks(connection, table, table.c.hash.is_(None)):
        for row in rows:
            values = {**row, "prev_hash": previous}
            values["hash"] = digest(key, table, values)
            connection.execute(
                update(table).where(table.c.id == row["id"]).values(prev_hash=previous, hash=values["hash"])
            )
            previous, last_id, count = values["hash"], row["id"], count + 1
    _advance(connection, table, head, last_id=last_id, last_hash=previous, sealed_at=utcnow())
    if count:
        log.warning("sealed %d %s rows written before the chain existed", count, table.name)
        audit = table.metadata.tables.get("audit_log")
        if audit is not None:
            # Sealing happens once in a database's life: a second one shows that the hashes were blanked.
            append(connection, audit, _system_row("seal", table.name, {"rows": count, "last_id": last_id}))


def _system_row(action: str, entity: str, after: dict[str, Any], route: str = "") -> dict[str, Any]:
    return {
        "at": utcnow(),
        "actor_id": None,
        "actor": "system",
        "action": action,
        "entity": entity,
        "entity_id": "",
        "route": route,
        "request_id": "",
        "before": None,
        "after": json.dumps(after, ensure_ascii=False, sort_keys=True),
    }


def seal_all(connection: Connection) -> None:
    """At start, after migrations: seals every chain of this database not sealed yet."""
    if not inspect(connection).has_table(HEADS):
        return
    for table in CHAINED.values():
        heads = chain_heads(table.metadata)
        head = connection.execute(select(heads.c.sealed_at).where(heads.c.name == table.name)).first()
        if head is not None and head.sealed_at is None:
            _lock(connection, table)


def _chunks(connection: Connection, table: Table, *where: Any, after: int = 0) -> Iterator[list[dict[str, Any]]]:
    """Rows in id order, a chunk at a time (keyset paging: constant memory, any table size)."""
    while True:
        query = select(table).where(table.c.id > after, *where).order_by(table.c.id).limit(CHUNK)
        rows = [dict(r) for r in connection.execute(query).mappings()]
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


# --- verifying ------------------------------------------------------------------------------


class ChainStatus(StrEnum):
    INTACT = "intact"
    BROKEN = "broken"
    # Rows from before chaining that the service seals at its next start.
    UNSEALED = "unsealed"
    # The service did not answer (the gateway's merged view).
    UNAVAILABLE = "unavailable"


class ChainProblem(StrEnum):
    EDITED = "edited"  # this row's content no longer matches its hash
    DELETED = "deleted"  # rows are missing just before this row
    TRUNCATED = "truncated"  # rows after this one (the last left) were deleted
    HEAD_EDITED = "head_edited"  # the chain's head (where it ends, what was archived) was changed


class ChainState(BaseModel):
    module: str
    chain: str
    status: ChainStatus
    rows: int = 0
    # Rows up to this id were archived (hamp audit archive).
    archived_through: int | None = None
    problem: ChainProblem | None = None
    row_id: int | None = None
    at: datetime | None = None

    @property
    def intact(self) -> bool:
        return self.status != ChainStatus.BROKEN

    def describe(self) -> Text:
        where = f"{self.module} {self.chain}"
        when = f" ({self.at:%Y-%m-%d %H:%M:%S} UTC)" if self.at else ""
        if self.status == ChainStatus.INTACT:
            archived = f"; archived through row {self.archived_through}" if self.archived_through else ""
            zh_archived = f"；第 {self.archived_through} 条及以前已归档" if self.archived_through else ""
            return Text(
                f"{where}：完整，共 {self.rows} 条{zh_archived}", f"{where}: intact, {self.rows} rows{archived}"
            )
        if self.status == ChainStatus.UNSEALED:
            return Text(
                f"{where}：{self.rows} 条旧记录待服务下次启动时封存",
                f"{where}: {self.rows} rows from before chaining, sealed at the service's next start",
            )
        if self.status == ChainStatus.UNAVAILABLE:
            return Text(f"{where}：无法检查（服务未响应）", f"{where}: not checked (the service did not answer)")
        zh, en = {
            ChainProblem.EDITED: (f"第 {self.row_id} 条记录被修改", f"row {self.row_id} was edited"),
            ChainProblem.DELETED: (
                f"第 {self.row_id} 条之前有记录被删除",
                f"rows before row {self.row_id} were deleted",
            ),
            ChainProblem.TRUNCATED: (
                f"第 {self.row_id} 条之后的记录被删除",
                f"rows after row {self.row_id} were deleted",
            ),
            ChainProblem.HEAD_EDITED: ("链头被修改", "the chain's head was edited"),
        }[self.problem or ChainProblem.EDITED]
        return Text(f"{where}：已损坏，{zh}{when}", f"{where}: BROKEN, {en}{when}")


def _broken(base: ChainState, problem: ChainProblem, row: Mapping[str, Any] | None) -> ChainState:
    at = row.get("at") if row else None
    if isinstance(at, str):  # from an archive file
        at = datetime.fromisoformat(at)
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return base.model_copy(
        update={"status": ChainStatus.BROKEN, "problem": problem, "row_id": row["id"] if row else None, "at": at}
    )


def verify(connection: Connection, table: Table, key: bytes, module: str) -> ChainState:
    """The live table against its head: the first edited row, or where rows went missing."""
    heads = chain_heads(table.metadata)
    base = ChainState(module=module, chain=table.name, status=ChainStatus.INTACT)
    head = connection.execute(select(heads).where(heads.c.name == table.name)).mappings().first()
    if head is None or head["sealed_at"] is None:
        if connection.execute(select(func.count()).where(table.c.hash.is_not(None))).scalar_one():
            return _broken(base, ChainProblem.HEAD_EDITED, None)
        legacy = connection.execute(select(func.count()).select_from(table)).scalar_one()
        return base.model_copy(
            update={"status": ChainStatus.UNSEALED if legacy else ChainStatus.INTACT, "rows": legacy}
        )
    base.archived_through = head["anchor_id"]
    if not hmac.compare_digest(head["mac"], _head_mac(key, head)):
        return _broken(base, ChainProblem.HEAD_EDITED, None)
    expected, last, count = head["anchor_hash"], None, 0
    # Rows after the head was read belong to writers that committed since: not this check's.
    bound = table.c.id <= (head["last_id"] or 0)
    for rows in _chunks(connection, table, bound, after=head["anchor_id"] or 0):
        for row in rows:
            if row["hash"] is None or not hmac.compare_digest(row["hash"], digest(key, table, row)):
                return _broken(base, ChainProblem.EDITED, row)
            if row["prev_hash"] != expected:
                return _broken(base, ChainProblem.DELETED, row)
            expected, last, count = row["hash"], row, count + 1
    if expected != head["last_hash"]:
        return _broken(base, ChainProblem.TRUNCATED, last)
    return base.model_copy(update={"rows": count})


# --- archiving ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archived:
    path: Path
    rows: int
    first_id: int
    last_id: int
    last_hash: str


def _archive_files(directory: Path, chain: str) -> list[tuple[int, int, Path]]:
    found = []
    for path in directory.glob(f"{chain}-*-*.jsonl.gz"):
        first, last = path.name.removesuffix(".jsonl.gz").split("-")[-2:]
        found.append((int(first), int(last), path))
    return sorted(found)


def _read_archive(path: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    handle = gzip.open(path, "rt", encoding="utf-8")
    header = json.loads(handle.readline())

    def rows() -> Iterator[dict[str, Any]]:
        with handle:
            for line in handle:
                yield json.loads(line)

    return header, rows()


def check_archive(path: Path, table: Table, key: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(header, None) when the file's rows are whole and chained from its header's prev_hash to its
    last_hash; otherwise (header, the first bad row, or {} when rows are missing at its end)."""
    header, rows = _read_archive(path)
    expected, count = header["prev_hash"], 0
    for row in rows:
        if row.get("hash") != digest(key, table, row) or row.get("prev_hash") != expected:
            return header, row
        expected, count = row["hash"], count + 1
    if expected != header["last_hash"] or count != header["rows"]:
        return header, {}
    return header, None


def archive(engine: Engine, table: Table, before: datetime, directory: Path, module: str) -> Archived | None:
    """Moves the chain's rows older than `before` (a prefix of the chain) into a gzip JSON-lines file,
    written and read back before one row is deleted; the head then anchors the live rows on the
    file's last hash, and the archiving leaves an audit row. None when nothing is old enough."""
    key = _keys.get(engine, b"")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    heads = chain_heads(table.metadata)
    with engine.connect() as connection:
        head = connection.execute(select(heads).where(heads.c.name == table.name)).mappings().first()
        if head is None or head["sealed_at"] is None:
            return None
        anchor = head["anchor_id"] or 0
        for first, _last, path in _archive_files(directory, table.name):
            if first > anchor:
                path.unlink()  # left by an archiving whose delete never committed: its rows are still live
        newer = connection.execute(
            select(func.min(table.c.id)).where(table.c.id > anchor, table.c.at >= before)
        ).scalar_one()
        upper = [table.c.id > anchor, table.c.id <= (head["last_id"] or 0)]
        if newer is not None:
            upper.append(table.c.id < newer)
        count, first_id, last_id = connection.execute(
            select(func.count(), func.min(table.c.id), func.max(table.c.id)).where(*upper)
        ).one()
        if not count:
            return None
        last_hash = connection.execute(select(table.c.hash).where(table.c.id == last_id)).scalar_one()
        path = directory / f"{table.name}-{first_id:012d}-{last_id:012d}.jsonl.gz"
        header = {
            "module": module,
            "chain": table.name,
            "rows": count,
            "first_id": first_id,
            "last_id": last_id,
            "prev_hash": head["anchor_hash"],
            "last_hash": last_hash,
            "created_at": _plain(utcnow()),
        }
        partial = path.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb") as packed, io.TextIOWrapper(packed, encoding="utf-8") as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for rows in _chunks(connection, table, *upper[1:], after=anchor):
                    for row in rows:
                        out.write(json.dumps(row_text(table, row), ensure_ascii=False) + "\n")
            raw.flush()
            os.fsync(raw.fileno())
    _, bad = check_archive(partial, table, key)
    if bad is not None:
        partial.unlink()
        raise RuntimeError(f"{path.name}: the rows read back do not chain (row {bad.get('id')}); nothing deleted")
    partial.rename(path)
    try:
        with engine.begin() as connection:
            locked = _lock(connection, table)
            if (locked["anchor_id"] or 0) != anchor:
                raise RuntimeError(f"{table.name}: archived by another run meanwhile; nothing deleted")
            deleted = connection.execute(delete(table).where(table.c.id > anchor, table.c.id <= last_id)).rowcount
            if deleted != count:
                raise RuntimeError(f"{table.name}: {deleted} rows to delete, {count} archived; nothing deleted")
            _advance(connection, table, locked, anchor_id=last_id, anchor_hash=last_hash)
            audit = table.metadata.tables.get("audit_log", table)
            after = {"file": path.name, "rows": count, "first_id": first_id, "last_id": last_id, "last_hash": last_hash}
            append(connection, audit, _system_row("archive", table.name, after, "hamp audit archive"))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Archived(path, count, first_id, last_id, last_hash)


def verify_archives(connection: Connection, table: Table, key: bytes, directory: Path, module: str) -> ChainState:
    """The archive files of a chain, oldest first: each whole, each continuing the one before, the
    last meeting the live table's anchor."""
    heads = chain_heads(table.metadata)
    base = ChainState(module=module, chain=f"{table.name} archives", status=ChainStatus.INTACT)
    head = connection.execute(select(heads).where(heads.c.name == table.name)).mappings().first()
    anchor = (head["anchor_id"] or 0) if head else 0
    expected, count, through = GENESIS, 0, None
    for first, last, path in _archive_files(directory, table.name) if directory.is_dir() else []:
        if first > anchor:
            continue  # its delete never committed: the rows are live, verified there
        header, bad = check_archive(path, table, key)
        if header["prev_hash"] != expected:
            return _broken(base, ChainProblem.DELETED, {"id": first})
        if bad is not None:
            return _broken(base, ChainProblem.EDITED if bad else ChainProblem.TRUNCATED, bad or {"id": last})
        expected, count, through = header["last_hash"], count + header["rows"], last
    if head is not None and expected != head["anchor_hash"]:
        return _broken(base, ChainProblem.DELETED, {"id": anchor + 1})
    return base.model_copy(update={"rows": count, "archived_through": through})


async def check(session: AsyncSession, table: Table, settings: ServiceSettings, module: str) -> ChainState:
    """The chain's state as a route answers it (a full verification: one pass over the live rows)."""
    key = audit_key(settings)
    return await session.run_sync(lambda sync: verify(sync.connection(), table, key, module))


# --- one component's database (hamp audit) ---------------------------------------------------


def chains_of(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name in CHAINED and "prev_hash" in t.c]


def archive_dir(settings: ServiceSettings) -> Path:
    return settings.var_dir / "archive" / settings.component


def verify_database(
    engine: Engine, tables: list[Table], module: str, archives: Path | None = None
) -> list[ChainState] | None:
    """Every chain of one database (and its archive files when `archives` is given); None when the
    database has no chains yet (not migrated)."""
    key = _keys.get(engine, b"")
    with engine.connect() as connection:
        if not inspect(connection).has_table(HEADS):
            return None
        states = []
        for table in tables:
            if archives is not None:
                states.append(verify_archives(connection, table, key, archives, module))
            states.append(verify(connection, table, key, module))
        return states

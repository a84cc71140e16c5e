"""The audit trail: who changed what, before and after, written in the same transaction, chained
so that an edited or deleted row shows (shared/audit_chain.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared import fieldcrypt
from shared.audit_chain import append_all, chain_columns, chained
from shared.clock import utcnow
from shared.context import current_request_id, current_route, principal_var
from shared.paging import Page, PageParams
from shared.pii import MASKS
from shared.types import UTCDateTime

# entity -> {field: "phone" | "id_card"}: what to mask in before/after for viewers without pii:read.
PersonalFields = dict[str, dict[str, str]]

# Rows recorded in a transaction, chained when it commits (see `record`).
PENDING = "hamp.audit.pending"

# Keys never stored, whatever entity they appear on.
SECRET_KEYS = frozenset({"password", "password_hash", "secret", "token", "refresh_token", "access_token"})


def audit_table(metadata: MetaData) -> Table:
    """Each service's own audit table, in its own metadata (so its own migrations), with the chain's
    head table beside it."""
    table = Table(
        "audit_log",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("at", UTCDateTime(), nullable=False, index=True),
        Column("actor_id", Integer, nullable=True, index=True),
        Column("actor", String(64), nullable=False, default=""),
        Column("action", String(32), nullable=False),
        Column("entity", String(64), nullable=False, index=True),
        Column("entity_id", String(64), nullable=False, default=""),
        Column("route", String(255), nullable=False, default=""),
        Column("request_id", String(64), nullable=False, default="", index=True),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        *chain_columns(),
    )
    return chained(table)


def encrypt_personal(table: Table, personal: PersonalFields) -> None:
    """Audit rows of these entities hold these fields encrypted with the service's field keys, and
    leave their blind indexes out (shared/fieldcrypt.py): the audit log is no way round encryption
    at rest. Declared once by the service that owns the entity."""
    table.info.setdefault("encrypted", {}).update({entity: frozenset(fields) for entity, fields in personal.items()})


def _sealed(session: AsyncSession, table: Table, entity: str, values: dict[str, Any] | None) -> dict[str, Any] | None:
    fields = table.info.get("encrypted", {}).get(entity)
    if values is None or not fields:
        return values
    return fieldcrypt.seal_values(fieldcrypt.keyring_of(session), values, fields)


def _scrub(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    clean = {k: ("***" if k in SECRET_KEYS else v) for k, v in values.items()}
    return json.dumps(clean, ensure_ascii=False, default=str, sort_keys=True)


async def record(
    session: AsyncSession,
    table: Table,
    *,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    actor = principal_var.get()
    values = {
        "at": utcnow(),
        "actor_id": actor.user_id if actor else None,
        "actor": actor.username if actor else "system",
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "route": current_route(),
        "request_id": current_request_id(),
        "before": _scrub(_sealed(session, table, entity, before)),
        "after": _scrub(_sealed(session, table, entity, after)),
    }
    # Chaining a row locks the chain's head until the transaction ends (see audit_chain), and
    # every write transaction of the service shares that head. Taken mid-transaction it closes a
    # cycle with row locks taken after it (on MariaDB a prescription's insert and a dispensing
    # report deadlocked so), so rows wait here and are chained at commit: the head is the last
    # lock a transaction takes, and a transaction holding it waits for nothing else.
    session.info.setdefault(PENDING, []).append((table, values))


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        connection = session.connection()
        # One chain at a time, in the order recorded (a service has one audit table; a second
        # chain would only reorder rows across tables, never within one).
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, values in pending:
            by_table.setdefault(table, []).append(values)
        for table, rows in by_table.items():
            append_all(connection, table, rows)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the transaction itself, not a savepoint (a queued duplicate message)
        session.info.pop(PENDING, None)


class AuditEntry(BaseModel):
    module: str
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    entity: str
    entity_id: str
    route: str
    request_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def read_log(
    session: AsyncSession,
    table: Table,
    module: str,
    params: PageParams,
    *,
    user: str = "",
    entity: str = "",
    entity_id: str = "",
    request_id: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    personal: PersonalFields | None = None,
    reveal_pii: bool = True,
) -> Page[AuditEntry]:
    query = select(table)
    for column, value in (("actor", user), ("entity", entity), ("entity_id", entity_id), ("request_id", request_id)):
        if value:
            query = query.where(table.c[column] == value)
    if start is not None:
        query = query.where(table.c.at >= start)
    if end is not None:
        query = query.where(table.c.at < end)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(table.c.at.desc(), table.c.id.desc()).offset(params.offset).limit(params.size)
    )
    masks = {} if reveal_pii else (personal or {})

    def values(text: str | None, entity: str) -> dict[str, Any] | None:
        if not text:
            return None
        data = fieldcrypt.open_values(lambda: fieldcrypt.keyring_of(session), json.loads(text))
        for name, kind in masks.get(entity, {}).items():
            if isinstance(data.get(name), str):
                data[name] = MASKS[kind](data[name])
        return data

    items = [
        AuditEntry(
            module=module,
            **{k: v for k, v in row._mapping.items() if k not in ("before", "after")},
            before=values(row.before, row.entity),
            after=values(row.after, row.entity),
        )
        for row in rows
    ]
    return Page(items=items, total=total, page=params.page, size=params.size)

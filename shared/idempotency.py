"""Applying a request once per `Idempotency-Key`.

The key is claimed by inserting its row in the same transaction as the work; a second request
with the key finds the row and gets the first answer back. Two requests racing with one key:
the second's insert waits on the first's (unique index), then fails, and it reads the stored
answer. A failed attempt (4xx, 5xx) rolls back with its key, so a retry is evaluated anew.

Every service answers a replay the same way (`answered`): the first answer's status and body,
marked `Idempotent-Replayed: true`, so a client can tell a repeat from a first success without
every route inventing its own status for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.errors import Invalid, field_error
from shared.i18n import Text as Message
from shared.types import UTCDateTime

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 100
DEADLOCK = 1213
ATTEMPTS = 3


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("scope", String(100), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=True),
        Column("at", UTCDateTime(), nullable=False, index=True),
    )


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False


async def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            Message("Idempotency-Key 无效", "Invalid Idempotency-Key"),
            errors=[field_error(HEADER, Message("最多 100 个可见字符", "At most 100 visible characters"))],
        )
    return key


async def required_key_of(request: Request) -> str:
    """For routes that only other services call (through their outbox): a key is part of the contract."""
    key = await key_of(request)
    if key is None:
        raise Invalid(
            Message("缺少 Idempotency-Key 请求头", "The Idempotency-Key header is required"),
            code="idempotency_key_required",
            errors=[field_error(HEADER, Message("必填", "is required"), "missing")],
        )
    return key


IdempotencyKey = Annotated[str | None, Depends(key_of)]
RequiredIdempotencyKey = Annotated[str, Depends(required_key_of)]


def answered(answer: Answer) -> JSONResponse:
    """The HTTP answer of an idempotent route: the same status and body for the first request and
    for every replay, the replay marked with `Idempotent-Replayed: true`."""
    headers = {REPLAYED_HEADER: "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


REPLAY_DOC = f"A repeat with the same Idempotency-Key answers the same status and body, with `{REPLAYED_HEADER}: true`."


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _reused() -> Invalid:
    return Invalid(
        Message("该 Idempotency-Key 已用于另一个请求", "This Idempotency-Key was used for a different request"),
        code="idempotency_key_reused",
    )


async def _stored(session: AsyncSession, table: Table, key: str, scope: str, digest: str) -> Answer | None:
    row = (await session.execute(select(table).where(table.c.key == key))).mappings().first()
    if row is None:
        return None
    if row["scope"] != scope or row["request_hash"] != digest:
        raise _reused()
    return Answer(row["status"], json.loads(row["body"]) if row["body"] else None, replayed=True)


def _deadlock(exc: OperationalError) -> bool:
    return getattr(exc.orig, "args", (None,))[0] == DEADLOCK


class _KeyTaken(Exception):
    pass


Work = Callable[[AsyncSession], Awaitable[Answer]]


async def run_once(db: Database, table: Table, key: str | None, scope: str, payload: Any, work: Work) -> Answer:
    """Runs `work` in one transaction unless `key` was already applied; answers what it answered.

    The key's row is inserted first, not looked up first: a new key (nearly every request) costs
    its insert and the final update, and only a key already taken costs a read, in a fresh
    transaction once the holder has committed."""
    if key is None:
        async with db.transaction() as session:
            return await work(session)
    digest = request_hash(payload)
    last_deadlock: OperationalError | None = None
    for _ in range(ATTEMPTS):
        try:
            async with db.transaction() as session:
                try:
                    await session.execute(
                        insert(table).values(
                            key=key, scope=scope, request_hash=digest, status=0, body=None, at=utcnow()
                        )
                    )
                except IntegrityError as exc:
                    raise _KeyTaken from exc
                except OperationalError as exc:
                    # InnoDB: when the holder of the key rolls back, the requests waiting on it
                    # deadlock among themselves (1213); all but one are refused. Try again.
                    if not _deadlock(exc):
                        raise
                    raise _KeyTaken from exc
                answer = await work(session)
                body = json.dumps(answer.body, ensure_ascii=False, default=str)
                await session.execute(update(table).where(table.c.key == key).values(status=answer.status, body=body))
                return answer
        except _KeyTaken:
            # Another request holding this key committed first: answer what it answered. Its row
            # is gone again if it rolled back meanwhile: then this request tries anew.
            async with db.transaction() as session:
                stored = await _stored(session, table, key, scope, digest)
            if stored is not None:
                return stored
            continue
        except OperationalError as exc:
            # InnoDB chose this attempt as a deadlock's victim and rolled all of it back, key
            # included: running it again is safe (what it asked other services is keyed too).
            if not _deadlock(exc):
                raise
            last_deadlock = exc
            continue
    async with db.transaction() as session:
        stored = await _stored(session, table, key, scope, digest)
    if stored is None:
        if last_deadlock is not None:
            raise last_deadlock
        raise RuntimeError(f"idempotency key {key!r} neither applied nor stored")
    return stored

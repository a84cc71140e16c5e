"""Shortage requests: filed by a pharmacist, sent to the warehouse by pms's outbox in the same
transaction, fulfilled by the deliveries that name them.

Whether the warehouse has a request is what the outbox knows (its message delivered or not), so
`sent` is read from there and never written twice. A request may be cancelled only while its
message has not gone: the cancel sets the message aside in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import audit_log, counters, feed, outbox
from pms.shortages.models import (
    ShortageLine,
    ShortageLineOut,
    ShortageRequest,
    ShortageRequestIn,
    ShortageRequestOut,
    State,
)
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import DELIVERED, PENDING, REJECTED, RESOLVED, enqueue
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number

ENTITY = "shortage_request"
NUMBER_PREFIX = "BQ"  # 报缺
SORTS = {name: getattr(ShortageRequest, name) for name in ("created_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)
# Where the warehouse receives them (sms/shortages/router.py).
SMS_PATH = "/api/sms/shortage-requests"


def message_key(request_id: int) -> str:
    return f"pms-shortage-{request_id}"


def _not_found(request_id: int) -> NotFound:
    return NotFound(Text(f"报缺单（编号 {request_id}）不存在", f"Shortage request {request_id} not found"))


async def _lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[ShortageLine]]:
    by_request: dict[int, list[ShortageLine]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(ShortageLine).where(ShortageLine.request_id.in_(ids)).order_by(ShortageLine.id)  # type: ignore[attr-defined]
        )
        for line in rows.scalars():
            by_request[line.request_id].append(line)
    return by_request


async def _delivered_messages(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    rows = await session.execute(select(outbox.c.key).where(outbox.c.key.in_(keys), outbox.c.status == DELIVERED))
    return set(rows.scalars())


def _out(request: ShortageRequest, lines: list[ShortageLine], delivered: set[str]) -> ShortageRequestOut:
    state = State(request.state)
    if state == State.open and request.message_key in delivered:
        state = State.sent
    return ShortageRequestOut.model_validate(
        {**request.model_dump(), "state": state, "lines": [ShortageLineOut.model_validate(li) for li in lines]}
    )


async def get(session: AsyncSession, request_id: int) -> ShortageRequestOut:
    request = await session.get(ShortageRequest, request_id, populate_existing=True)
    if request is None:
        raise _not_found(request_id)
    lines = (await _lines(session, [request_id]))[request_id]
    return _out(request, lines, await _delivered_messages(session, [request.message_key]))


async def page(session: AsyncSession, params: PageParams, state: State | None = None) -> Page[ShortageRequestOut]:
    query = select(ShortageRequest)
    if state in (State.open, State.sent):
        # Both are stored `open`; the outbox tells them apart.
        sent = outbox.c.status == DELIVERED
        query = query.outerjoin(outbox, outbox.c.key == ShortageRequest.message_key).where(
            ShortageRequest.state == State.open,
            sent if state == State.sent else func.coalesce(outbox.c.status, PENDING) != DELIVERED,
        )
    elif state is not None:
        query = query.where(ShortageRequest.state == state)
    if params.q:
        query = query.where(contains(params.q, ShortageRequest.number, ShortageRequest.created_by))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), ShortageRequest.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    found = [r for r in rows.scalars() if r.id is not None]
    lines = await _lines(session, [cast(int, r.id) for r in found])
    delivered = await _delivered_messages(session, [r.message_key for r in found])
    items = [_out(r, lines[cast(int, r.id)], delivered) for r in found]
    return Page(items=items, total=total, page=params.page, size=params.size)


def _message(out: ShortageRequestOut) -> dict[str, Any]:
    """What the warehouse receives (sms/shortages/models.py ShortageRequestIn)."""
    return {
        "request_id": out.id,
        "number": out.number,
        "requested_by": out.created_by,
        "requested_at": out.created_at.isoformat(),
        "remark": out.remark,
        "lines": [
            {"line_id": li.id, "drug_id": li.drug_id, "code": li.code, "name": li.name, "spec": li.spec,
             "unit": li.unit, "quantity": li.quantity, "remark": li.remark}
            for li in out.lines
        ],
    }  # fmt: skip


def _feed_data(out: ShortageRequestOut) -> dict[str, Any]:
    return {
        "number": out.number,
        "state": out.state,
        "lines": [{"drug_id": li.drug_id, "quantity": li.quantity, "delivered": li.delivered} for li in out.lines],
    }


async def file(session: AsyncSession, body: ShortageRequestIn, today: dt.date, by: str) -> ShortageRequestOut:
    """The request and, in the same transaction, its message to the warehouse."""
    now = utcnow()
    request = ShortageRequest(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        state=State.open,
        message_key="",
        remark=body.remark,
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    assert request.id is not None
    request.message_key = message_key(request.id)
    session.add(request)
    session.add_all(ShortageLine(request_id=request.id, **line.model_dump()) for line in body.lines)
    await session.flush()
    out = await get(session, request.id)
    await enqueue(session, outbox, destination="SMS", path=SMS_PATH, body=_message(out), key=request.message_key)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=request.id, after=out.model_dump(mode="json")
    )
    await publish(session, feed, counters, entity=ENTITY, entity_id=request.id, action="filed", data=_feed_data(out))
    return out


async def _locked(session: AsyncSession, request_id: int) -> ShortageRequest | None:
    query = select(ShortageRequest).where(ShortageRequest.id == request_id).with_for_update()  # type: ignore[arg-type]
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


async def cancel(session: AsyncSession, request_id: int, by: str) -> ShortageRequestOut:
    """Only while the warehouse has not got it: its message is set aside in the same transaction,
    so the relay never sends it (a message already delivered answers 409 `already_sent`)."""
    request = await _locked(session, request_id)
    if request is None:
        raise _not_found(request_id)
    before = await get(session, request_id)
    if before.state != State.open:
        raise Conflict(
            Text(
                f"报缺单 {request.number} 已发往仓库或已处理，不能撤销",
                f"Shortage request {request.number} has already gone to the warehouse: it cannot be cancelled",
            ),
            code="already_sent",
        )
    now = utcnow()
    unsent = (outbox.c.key == request.message_key) & outbox.c.status.in_([PENDING, REJECTED])
    set_aside = cast(
        CursorResult[Any],
        await session.execute(
            update(outbox)
            .where(unsent)
            .values(status=RESOLVED, resolved_at=now, resolved_by=by, resolution_note="报缺单已撤销")
        ),
    )
    if not set_aside.rowcount:
        raise Conflict(
            Text(
                f"报缺单 {request.number} 已送达仓库，不能撤销",
                f"Shortage request {request.number} reached the warehouse",
            ),
            code="already_sent",
        )
    request.state, request.cancelled_at, request.cancelled_by, request.updated_at = State.cancelled, now, by, now
    session.add(request)
    await session.flush()
    after = await get(session, request_id)
    await audit.record(
        session, audit_log, action="cancel", entity=ENTITY, entity_id=request_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=request_id, action="cancelled", data=_feed_data(after)
    )
    return after


async def record_delivery(session: AsyncSession, shortage_request_id: int, lines: Iterable[Any]) -> None:
    """A delivery naming the request arrived (pms/stock/service.py, in its transaction): what it
    brought of each requested drug counts as delivered. The goods are on the shelf whatever this
    finds, so an unknown request or an unrequested drug is noted nowhere but the delivery itself."""
    request = await _locked(session, shortage_request_id)
    if request is None:
        return
    brought: dict[int, int] = {}
    for line in lines:
        brought[line.drug_id] = brought.get(line.drug_id, 0) + line.quantity
    before = await get(session, shortage_request_id)
    requested = (await _lines(session, [shortage_request_id]))[shortage_request_id]
    for line in requested:
        if line.drug_id in brought:
            line.delivered += brought[line.drug_id]
            session.add(line)
    now = utcnow()
    if request.state != State.cancelled:
        if all(line.delivered >= line.quantity for line in requested):
            request.state, request.fulfilled_at = State.fulfilled, request.fulfilled_at or now
        elif any(line.delivered for line in requested):
            request.state = State.partly_fulfilled
    request.updated_at = now
    session.add(request)
    await session.flush()
    after = await get(session, shortage_request_id)
    await audit.record(
        session, audit_log, action="delivered", entity=ENTITY, entity_id=shortage_request_id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(
        session,
        feed,
        counters,
        entity=ENTITY,
        entity_id=shortage_request_id,
        action="delivered",
        data=_feed_data(after),
    )

"""Shortage requests received from the pharmacy: kept once per request, listed for the store-keeper
with the stock that could answer them, fulfilled by outbound orders (sms/outbound/service.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.paging import Page, PageParams
from shared.search import contains
from sms.db import audit_log, counters, feed, idempotency_keys, stock
from sms.shortages.models import (
    ShortageLine,
    ShortageLineOut,
    ShortageRequest,
    ShortageRequestIn,
    ShortageRequestOut,
    State,
    WarehouseStock,
)

ENTITY = "shortage_request"
RECEIVE_SCOPE = "sms:shortage-request:receive"
SORTS = {name: getattr(ShortageRequest, name) for name in ("received_at", "requested_at", "number", "id")}
NEWEST_FIRST = (SORTS["received_at"].desc(),)


def _already_received(number: str) -> Conflict:
    return Conflict(
        Text(f"报缺单 {number} 已接收", f"Shortage request {number} was already received"),
        code="shortage_already_received",
        errors=[field_error("request_id", Text("已接收", "already received"), "duplicate")],
    )


async def _lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[ShortageLine]]:
    by_request: dict[int, list[ShortageLine]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(ShortageLine).where(ShortageLine.request_id.in_(ids)).order_by(ShortageLine.id)  # type: ignore[attr-defined]
        )
        for line in rows.scalars():
            by_request[line.request_id].append(line)
    return by_request


async def _stock(session: AsyncSession, drug_ids: Iterable[int], today: dt.date) -> dict[int, list[WarehouseStock]]:
    """Each drug's unexpired stock, warehouse by warehouse, in one query for the page."""
    ids = sorted(set(drug_ids))
    found: dict[int, list[WarehouseStock]] = {i: [] for i in ids}
    if ids:
        b = stock.batches
        rows = await session.execute(
            select(b.c.drug_id, b.c.store_id, func.sum(b.c.quantity))
            .where(b.c.drug_id.in_(ids), b.c.expiry_date >= today, b.c.quantity > 0)
            .group_by(b.c.drug_id, b.c.store_id)
            .order_by(b.c.drug_id, b.c.store_id)
        )
        for drug_id, warehouse_id, quantity in rows.all():
            found[drug_id].append(WarehouseStock(warehouse_id=warehouse_id, quantity=int(quantity)))
    return found


def _out(
    request: ShortageRequest, lines: list[ShortageLine], stocks: dict[int, list[WarehouseStock]] | None = None
) -> ShortageRequestOut:
    stocks = stocks or {}
    shown = []
    for line in lines:
        here = stocks.get(line.drug_id, [])
        shown.append(
            ShortageLineOut.model_validate(
                {**line.model_dump(), "stock": here, "in_stock": sum(s.quantity for s in here)}
            )
        )
    return ShortageRequestOut.model_validate({**request.model_dump(), "lines": shown})


async def get(session: AsyncSession, request_id: int, today: dt.date | None = None) -> ShortageRequestOut:
    """`today` given: each line with the warehouses' unexpired stock of its drug."""
    request = await session.get(ShortageRequest, request_id, populate_existing=True)
    if request is None:
        raise NotFound(Text(f"报缺单（编号 {request_id}）不存在", f"Shortage request {request_id} not found"))
    lines = (await _lines(session, [request_id]))[request_id]
    stocks = await _stock(session, [li.drug_id for li in lines], today) if today else None
    return _out(request, lines, stocks)


async def page(
    session: AsyncSession, params: PageParams, today: dt.date, state: State | None = None
) -> Page[ShortageRequestOut]:
    query = select(ShortageRequest)
    if state is not None:
        query = query.where(ShortageRequest.state == state)
    if params.q:
        query = query.where(contains(params.q, ShortageRequest.number, ShortageRequest.requested_by))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), ShortageRequest.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    found = [r for r in rows.scalars() if r.id is not None]
    lines = await _lines(session, [cast(int, r.id) for r in found])
    stocks = await _stock(session, [li.drug_id for ls in lines.values() for li in ls], today)
    items = [_out(r, lines[cast(int, r.id)], stocks) for r in found]
    return Page(items=items, total=total, page=params.page, size=params.size)


async def receive_once(db: Database, key: str, body: ShortageRequestIn) -> Answer:
    """`receive` once per key, in its own transaction: pms's outbox sends again until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(201, (await receive(session, body)).model_dump(mode="json"))

    return await run_once(db, idempotency_keys, key, RECEIVE_SCOPE, body.model_dump(mode="json"), work)


async def receive(session: AsyncSession, body: ShortageRequestIn) -> ShortageRequestOut:
    now = utcnow()
    request = ShortageRequest(
        pms_request_id=body.request_id,
        number=body.number,
        state=State.open,
        requested_by=body.requested_by,
        requested_at=body.requested_at,
        remark=body.remark,
        received_at=now,
        updated_at=now,
    )
    session.add(request)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The same pharmacy request under another key: keeping it twice would send the drugs twice.
        raise _already_received(body.number) from exc
    assert request.id is not None
    session.add_all(
        ShortageLine(request_id=request.id, pms_line_id=li.line_id, **li.model_dump(exclude={"line_id"}))
        for li in body.lines
    )
    await session.flush()
    out = await get(session, request.id)
    await audit.record(
        session, audit_log, action="create", entity=ENTITY, entity_id=request.id, after=out.model_dump(mode="json")
    )
    await publish(session, feed, counters, entity=ENTITY, entity_id=request.id, action="received", data=_feed_data(out))
    return out


def _feed_data(out: ShortageRequestOut) -> dict[str, Any]:
    return {
        "number": out.number,
        "state": out.state,
        "lines": [{"drug_id": li.drug_id, "quantity": li.quantity, "sent": li.sent} for li in out.lines],
    }


async def locked(session: AsyncSession, request_id: int) -> ShortageRequest:
    """The request an outbound order is for, locked until that order commits; 422 naming
    `shortage_request_id` when there is none, 409 when it is already fulfilled."""
    query = select(ShortageRequest).where(ShortageRequest.id == request_id).with_for_update()  # type: ignore[arg-type]
    request = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if request is None:
        raise Invalid(
            Text(f"报缺单（编号 {request_id}）不存在", f"Shortage request {request_id} not found"),
            code="bad_reference",
            errors=[field_error("shortage_request_id", Text("不存在", "not found"), "reference_missing")],
        )
    if request.state == State.fulfilled:
        raise Conflict(
            Text(f"报缺单 {request.number} 已全部发出", f"Shortage request {request.number} is already fulfilled"),
            code="shortage_fulfilled",
            errors=[field_error("shortage_request_id", Text("已全部发出", "already fulfilled"), "fulfilled")],
        )
    return request


async def record_outbound(session: AsyncSession, request: ShortageRequest, sent: dict[int, int]) -> None:
    """An outbound order for the request (in its transaction) sent these quantities by drug id."""
    assert request.id is not None
    before = await get(session, request.id)
    lines = (await _lines(session, [request.id]))[request.id]
    for line in lines:
        if line.drug_id in sent:
            line.sent += sent[line.drug_id]
            session.add(line)
    now = utcnow()
    if all(line.sent >= line.quantity for line in lines):
        request.state, request.fulfilled_at = State.fulfilled, now
    elif any(line.sent for line in lines):
        request.state = State.partly_fulfilled
    request.updated_at = now
    session.add(request)
    await session.flush()
    after = await get(session, request.id)
    await audit.record(
        session, audit_log, action="outbound", entity=ENTITY, entity_id=request.id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    await publish(session, feed, counters, entity=ENTITY, entity_id=request.id, action=str(request.state),
                  data=_feed_data(after))  # fmt: skip

"""Stock-takes: a snapshot of the warehouse's batches, counted, submitted, and approved by someone
else, which posts each difference as an adjustment in the ledger.

Every write runs in the caller's transaction with its audit row: a refused approval adjusts nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams
from shared.search import contains
from shared.sequences import business_number
from shared.stock import Movement, put_back, take
from sms.db import audit_log, counters, feed, stock
from sms.masterdata import MasterData
from sms.stocktakes.models import LineOut, State, Stocktake, StocktakeIn, StocktakeLine, StocktakeOut

ENTITY = "stocktake"
NUMBER_PREFIX = "PD"  # 盘点
SORTS = {name: getattr(Stocktake, name) for name in ("created_at", "approved_at", "number", "id")}
NEWEST_FIRST = (SORTS["created_at"].desc(),)
STATE_NAMES = {
    State.counting: "盘点中",
    State.submitted: "已提交",
    State.approved: "已审核",
    State.cancelled: "已作废",
}


def _not_found(stocktake_id: int) -> NotFound:
    return NotFound(Text(f"盘点单（编号 {stocktake_id}）不存在", f"Stock-take {stocktake_id} not found"))


def _wrong_state(sheet: Stocktake, doing: Text) -> Conflict:
    state = State(sheet.state)
    return Conflict(
        Text(
            f"盘点单 {sheet.number} {STATE_NAMES[state]}，不能{doing.zh}",
            f"Stock-take {sheet.number} is {state}: it cannot be {doing.en}",
        ),
        code="wrong_state",
    )


async def _lines(session: AsyncSession, sheet_ids: Sequence[int]) -> dict[int, list[StocktakeLine]]:
    by_sheet: dict[int, list[StocktakeLine]] = {i: [] for i in sheet_ids}
    if sheet_ids:
        rows = await session.execute(
            select(StocktakeLine)
            .where(StocktakeLine.stocktake_id.in_(sheet_ids))  # type: ignore[attr-defined]
            .order_by(StocktakeLine.drug_id, StocktakeLine.expiry_date, StocktakeLine.id)  # type: ignore[arg-type]
        )
        for line in rows.scalars():
            by_sheet[line.stocktake_id].append(line)
    return by_sheet


def _difference(line: StocktakeLine) -> int | None:
    return None if line.counted_quantity is None else line.counted_quantity - line.book_quantity


def _out(sheet: Stocktake, lines: list[StocktakeLine]) -> StocktakeOut:
    shown = [LineOut.model_validate({**line.model_dump(), "difference": _difference(line)}) for line in lines]
    differing = [line for line in shown if line.difference]
    value = sum((line.purchase_price * (line.difference or 0) for line in differing), Decimal("0.00"))
    return StocktakeOut.model_validate(
        {
            **sheet.model_dump(),
            "lines": shown,
            "counted": sum(1 for line in shown if line.counted_quantity is not None),
            "differences": len(differing),
            "difference_value": value,
        }
    )


async def get(session: AsyncSession, stocktake_id: int) -> StocktakeOut:
    sheet = await session.get(Stocktake, stocktake_id, populate_existing=True)
    if sheet is None:
        raise _not_found(stocktake_id)
    return _out(sheet, (await _lines(session, [stocktake_id]))[stocktake_id])


async def page(
    session: AsyncSession, params: PageParams, *, state: State | None = None, warehouse_id: int | None = None
) -> Page[StocktakeOut]:
    query = select(Stocktake)
    for column, value in ((Stocktake.state, state), (Stocktake.warehouse_id, warehouse_id)):
        if value is not None:
            query = query.where(column == value)
    if params.q:
        query = query.where(contains(params.q, Stocktake.number, Stocktake.remark))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(
        query.order_by(*(params.order or NEWEST_FIRST), Stocktake.id.desc())  # type: ignore[union-attr]
        .offset(params.offset)
        .limit(params.size)
    )
    sheets = list(rows.scalars())
    lines = await _lines(session, [s.id for s in sheets if s.id is not None])
    return Page(
        items=[_out(s, lines[s.id]) for s in sheets if s.id is not None],
        total=total,
        page=params.page,
        size=params.size,
    )


async def _locked(session: AsyncSession, stocktake_id: int) -> Stocktake:
    query = select(Stocktake).where(Stocktake.id == stocktake_id).with_for_update()  # type: ignore[arg-type]
    sheet = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if sheet is None:
        raise _not_found(stocktake_id)
    return sheet


async def _audited(session: AsyncSession, action: str, sheet_id: int, before: StocktakeOut | None) -> StocktakeOut:
    after = await get(session, sheet_id)
    await audit.record(
        session, audit_log, action=action, entity=ENTITY, entity_id=sheet_id,
        before=before.model_dump(mode="json") if before else None, after=after.model_dump(mode="json"),
    )  # fmt: skip
    return after


async def create(
    session: AsyncSession, masters: MasterData, body: StocktakeIn, today: dt.date, by: str
) -> StocktakeOut:
    """A sheet with every batch that has stock in the warehouse, expired ones included (they are on
    the shelf too), at its book quantity now."""
    warehouse = await masters.warehouse(body.warehouse_id)
    b = stock.batches
    batches = (
        await session.execute(select(b).where(b.c.store_id == warehouse.id, b.c.quantity > 0).order_by(b.c.id))
    ).all()
    known = await masters.drugs(row.drug_id for row in batches)
    now = utcnow()
    sheet = Stocktake(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        state=State.counting,
        warehouse_id=warehouse.id,
        warehouse_name=warehouse.name,
        remark=body.remark,
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    session.add(sheet)
    await session.flush()
    assert sheet.id is not None
    for row in batches:
        drug = known.get(row.drug_id)
        session.add(
            StocktakeLine(
                stocktake_id=sheet.id,
                batch_id=row.id,
                drug_id=row.drug_id,
                drug_name=drug.name if drug else "",
                drug_spec=(drug.spec or "") if drug else "",
                batch_no=row.batch_no,
                expiry_date=row.expiry_date,
                purchase_price=row.purchase_price,
                book_quantity=row.quantity,
            )
        )
    await session.flush()
    return await _audited(session, "create", sheet.id, None)


async def count(session: AsyncSession, stocktake_id: int, line_id: int, counted: int) -> StocktakeOut:
    sheet = await _locked(session, stocktake_id)
    if sheet.state != State.counting:
        raise _wrong_state(sheet, Text("录入盘点数量", "counted"))
    line = await session.get(StocktakeLine, line_id, populate_existing=True)
    if line is None or line.stocktake_id != stocktake_id:
        raise NotFound(
            Text(f"盘点单 {sheet.number} 没有第 {line_id} 号明细", f"Stock-take {sheet.number} has no line {line_id}")
        )
    before = await get(session, stocktake_id)
    line.counted_quantity = counted
    sheet.updated_at = utcnow()
    session.add_all([line, sheet])
    await session.flush()
    return await _audited(session, "count", stocktake_id, before)


async def submit(session: AsyncSession, stocktake_id: int, by: str) -> StocktakeOut:
    """Every line must be counted first: an uncounted batch is not a loss."""
    sheet = await _locked(session, stocktake_id)
    if sheet.state != State.counting:
        raise _wrong_state(sheet, Text("提交", "submitted"))
    before = await get(session, stocktake_id)
    uncounted = [line for line in before.lines if line.counted_quantity is None]
    if uncounted:
        names = "、".join(f"{line.drug_name}（批号 {line.batch_no}）" for line in uncounted[:10])
        raise Conflict(
            Text(
                f"还有 {len(uncounted)} 个批次未录入盘点数量：{names}",
                f"{len(uncounted)} batches are not counted yet",
            ),
            code="not_counted",
        )
    now = utcnow()
    sheet.state, sheet.submitted_at, sheet.submitted_by, sheet.updated_at = State.submitted, now, by, now
    session.add(sheet)
    await session.flush()
    return await _audited(session, "submit", stocktake_id, before)


async def cancel(session: AsyncSession, stocktake_id: int, by: str) -> StocktakeOut:
    sheet = await _locked(session, stocktake_id)
    if sheet.state not in (State.counting, State.submitted):
        raise _wrong_state(sheet, Text("作废", "cancelled"))
    before = await get(session, stocktake_id)
    now = utcnow()
    sheet.state, sheet.cancelled_at, sheet.cancelled_by, sheet.updated_at = State.cancelled, now, by, now
    session.add(sheet)
    await session.flush()
    return await _audited(session, "cancel", stocktake_id, before)


async def approve(session: AsyncSession, stocktake_id: int, today: dt.date, by: str) -> StocktakeOut:
    """Posts every difference: a surplus back into its batch, a loss taken out of it (expired or
    not), each a ledger row `adjustment` referring to the sheet. Refused, adjusting nothing, when the
    writer approves or when a batch has moved since the snapshot."""
    sheet = await _locked(session, stocktake_id)
    if sheet.state != State.submitted:
        raise _wrong_state(sheet, Text("审核（须先提交）", "approved (it must be submitted first)"))
    if sheet.created_by == by:
        raise Conflict(
            Text(
                f"盘点单 {sheet.number} 由您本人创建，不能由您审核，请由其他有审核权限的人员审核",
                f"You made stock-take {sheet.number}: someone else must approve it",
            ),
            code="own_stocktake",
        )
    before = await get(session, stocktake_id)
    b = stock.batches
    # Locked so no movement slips in between the check and the adjustments.
    now_held = {
        int(i): int(q)
        for i, q in (
            await session.execute(
                select(b.c.id, b.c.quantity)
                .where(b.c.id.in_([line.batch_id for line in before.lines]))
                .with_for_update()
            )
        ).all()
    }
    moved = [line for line in before.lines if now_held.get(line.batch_id) != line.book_quantity]
    if moved:
        names = "、".join(f"{line.drug_name}（批号 {line.batch_no}）" for line in moved[:10])
        raise Conflict(
            Text(
                f"盘点后以下批次的库存已变动，账面数量已不准确：{names}。请作废本盘点单并重新盘点",
                f"These batches moved after the snapshot: {', '.join(line.batch_no for line in moved[:10])}. "
                "Cancel this stock-take and count again",
            ),
            code="stock_moved",
            extensions={"batch_ids": [line.batch_id for line in moved]},
        )
    reason = f"盘点 {sheet.number}"
    for line in before.lines:
        difference = line.difference or 0
        if difference > 0:
            await put_back(
                session, stock, batch_id=line.batch_id, quantity=difference, movement=Movement.adjustment,
                reference=sheet.number, person=by, reason=f"{reason} 盘盈",
            )  # fmt: skip
        elif difference < 0:
            await take(
                session, stock, store_id=sheet.warehouse_id, drug_id=line.drug_id, quantity=-difference,
                movement=Movement.adjustment, reference=sheet.number, person=by, today=today,
                drug_label=f"{line.drug_name}（批号 {line.batch_no}）", batch_id=line.batch_id,
                reason=f"{reason} 盘亏", allow_expired=True,
            )  # fmt: skip
    now = utcnow()
    sheet.state, sheet.approved_at, sheet.approved_by, sheet.updated_at = State.approved, now, by, now
    session.add(sheet)
    await session.flush()
    after = await _audited(session, "approve", stocktake_id, before)
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=stocktake_id, action="approved", data=_feed_data(after)
    )
    return after


def _feed_data(sheet: StocktakeOut) -> dict[str, Any]:
    return {
        "number": sheet.number,
        "warehouse_id": sheet.warehouse_id,
        "approved_at": sheet.approved_at,
        "lines": [
            {
                "drug_id": line.drug_id,
                "batch_no": line.batch_no,
                "quantity": line.difference,
                "purchase_price": line.purchase_price,
                "expiry_date": line.expiry_date,
            }
            for line in sheet.lines
            if line.difference
        ],
    }

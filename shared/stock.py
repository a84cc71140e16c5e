"""Stock by batch and its ledger, for every service that holds goods (the warehouse and the pharmacy).

A batch row holds the quantity on the shelf; every change of it writes a ledger row
(`stock_movements`) in the same transaction, so stock always equals the sum of its ledger, which
`stock_audit` checks. Two rules make that hold under concurrency:

- **A decrement is one conditional UPDATE** (`… SET quantity = quantity - :n WHERE id = :id AND
  quantity >= :n`). The database decides the race: of two takers of the last units one updates a
  row and the other none, on SQLite and on MySQL under READ COMMITTED, with no read-then-write
  window; a taker that found less than it read looks again and takes what is there. The CHECK
  (`quantity >= 0`) is a second line that no bug can cross.
- **Nothing half-taken**: a shortfall raises, and the caller's transaction rolls back every batch
  it touched.

Batches are taken first-expiry-first-out; an expired batch leaves only to disposal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import (
    CheckConstraint,
    Column,
    CursorResult,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import requires
from shared.clock import utcnow
from shared.db import ReadSession
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.i18n import Text
from shared.types import MONEY_COLUMN, UTCDateTime


class Movement(StrEnum):
    """A ledger row's kind: + into a batch, - out of it."""

    inbound = "inbound"  # 入库: from a supplier (sms)
    inbound_reversal = "inbound_reversal"  # 冲销入库: a reversing inbound order (sms)
    outbound = "outbound"  # 出库: to the pharmacy (sms)
    delivery = "delivery"  # 药房入库: an outbound order received (pms)
    dispense = "dispense"  # 发药: to a patient (pms)
    patient_return = "patient_return"  # 退药: back into the batch it came from (pms)
    return_out = "return_out"  # 退库: back to the warehouse (pms)
    return_in = "return_in"  # 回收入库: a pharmacy return taken back into stock (sms)
    disposal = "disposal"  # 报损销毁
    adjustment = "adjustment"  # 盘点调整: a stock-take's difference


MOVEMENT_LABELS = {
    Movement.inbound: Text("入库", "Inbound"),
    Movement.inbound_reversal: Text("冲销入库", "Inbound reversed"),
    Movement.outbound: Text("出库", "Outbound"),
    Movement.delivery: Text("药房入库", "Delivered to the pharmacy"),
    Movement.dispense: Text("发药", "Dispensed"),
    Movement.patient_return: Text("退药", "Returned by a patient"),
    Movement.return_out: Text("退库", "Returned to the warehouse"),
    Movement.return_in: Text("回收入库", "Return received"),
    Movement.disposal: Text("报损销毁", "Disposed of"),
    Movement.adjustment: Text("盘点调整", "Stock-take adjustment"),
}


@dataclass(frozen=True)
class StockTables:
    batches: Table
    movements: Table


def stock_tables(metadata: MetaData) -> StockTables:
    batches = Table(
        "stock_batches",
        metadata,
        Column("id", Integer, primary_key=True),
        # The warehouse's id in sms; the pharmacy is store 1 in pms.
        Column("store_id", Integer, nullable=False),
        Column("drug_id", Integer, nullable=False),
        Column("batch_no", String(50), nullable=False),
        Column("production_date", Date, nullable=True),
        Column("expiry_date", Date, nullable=False),
        Column("supplier_id", Integer, nullable=True),
        Column("purchase_price", MONEY_COLUMN, nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        UniqueConstraint("store_id", "drug_id", "batch_no", name="uq_stock_batches_store_drug_batch"),
        CheckConstraint("quantity >= 0", name="ck_stock_batches_quantity"),
        # First-expiry-first-out looks up one drug's batches in one store by expiry.
        Index("ix_stock_batches_fefo", "store_id", "drug_id", "expiry_date"),
    )
    movements = Table(
        "stock_movements",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("batch_id", Integer, ForeignKey("stock_batches.id"), nullable=False, index=True),
        Column("store_id", Integer, nullable=False),
        Column("drug_id", Integer, nullable=False, index=True),
        Column("movement", String(24), nullable=False, index=True),
        Column("quantity", Integer, nullable=False),  # signed: + in, - out
        Column("reference", String(40), nullable=False, index=True),
        Column("person", String(64), nullable=False),
        Column("reason", String(200), nullable=True),
        Column("at", UTCDateTime, nullable=False, index=True),
    )
    return StockTables(batches, movements)


@dataclass(frozen=True)
class BatchIn:
    drug_id: int
    batch_no: str
    expiry_date: dt.date
    production_date: dt.date | None = None
    supplier_id: int | None = None
    purchase_price: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Taken:
    batch_id: int
    drug_id: int
    batch_no: str
    expiry_date: dt.date
    production_date: dt.date | None
    supplier_id: int | None
    purchase_price: Decimal
    quantity: int


@dataclass(frozen=True)
class Mismatch:
    batch_id: int
    quantity: int
    ledger_sum: int


def _positive(quantity: int) -> None:
    if quantity < 1:
        raise Invalid(
            Text("数量必须为正整数", "The quantity must be a positive whole number"),
            code="bad_quantity",
            errors=[field_error("quantity", Text("必须大于 0", "must be greater than 0"))],
        )


async def _ledger(
    session: AsyncSession,
    tables: StockTables,
    batch: Any,
    quantity: int,
    movement: Movement,
    reference: str,
    person: str,
    reason: str | None,
    at: dt.datetime,
) -> None:
    await session.execute(
        insert(tables.movements).values(
            batch_id=batch.id,
            store_id=batch.store_id,
            drug_id=batch.drug_id,
            movement=movement,
            quantity=quantity,
            reference=reference,
            person=person,
            reason=reason,
            at=at,
        )
    )


async def _add(session: AsyncSession, tables: StockTables, batch_id: int, quantity: int, at: dt.datetime) -> None:
    b = tables.batches
    await session.execute(update(b).where(b.c.id == batch_id).values(quantity=b.c.quantity + quantity, updated_at=at))


async def put(
    session: AsyncSession,
    tables: StockTables,
    *,
    store_id: int,
    batch: BatchIn,
    quantity: int,
    movement: Movement,
    reference: str,
    person: str,
    reason: str | None = None,
) -> int:
    """Adds `quantity` to the batch (made on its first arrival) with its ledger row; its id.
    The same batch number with other dates is another batch in truth: 409 `batch_mismatch`."""
    _positive(quantity)
    b = tables.batches
    now = utcnow()
    key = (b.c.store_id == store_id) & (b.c.drug_id == batch.drug_id) & (b.c.batch_no == batch.batch_no)
    row = (await session.execute(select(b).where(key))).first()
    if row is None:
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(b).values(
                        store_id=store_id,
                        drug_id=batch.drug_id,
                        batch_no=batch.batch_no,
                        production_date=batch.production_date,
                        expiry_date=batch.expiry_date,
                        supplier_id=batch.supplier_id,
                        purchase_price=batch.purchase_price,
                        quantity=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # made a moment ago by another transaction: add to that one
        row = (await session.execute(select(b).where(key))).one()
    if row.expiry_date != batch.expiry_date or (
        batch.production_date is not None and row.production_date not in (None, batch.production_date)
    ):
        raise Conflict(
            Text(
                f"批号 {batch.batch_no} 已登记为有效期 {row.expiry_date}，与本次不一致",
                f"Batch {batch.batch_no} is recorded with expiry {row.expiry_date}, not as given",
            ),
            code="batch_mismatch",
            errors=[field_error("expiry_date", Text("与已登记的批次不一致", "differs from the recorded batch"))],
        )
    await _add(session, tables, row.id, quantity, now)
    await _ledger(session, tables, row, quantity, movement, reference, person, reason, now)
    return int(row.id)


async def put_back(
    session: AsyncSession,
    tables: StockTables,
    *,
    batch_id: int,
    quantity: int,
    movement: Movement,
    reference: str,
    person: str,
    reason: str | None = None,
) -> None:
    """Adds `quantity` back into an existing batch (a return), with its ledger row."""
    _positive(quantity)
    row = (await session.execute(select(tables.batches).where(tables.batches.c.id == batch_id))).first()
    if row is None:
        raise NotFound(Text(f"批次（编号 {batch_id}）不存在", f"Batch {batch_id} not found"), code="unknown_batch")
    now = utcnow()
    await _add(session, tables, batch_id, quantity, now)
    await _ledger(session, tables, row, quantity, movement, reference, person, reason, now)


def _shortage(drug_id: int, drug_label: str, wanted: int, short: int) -> Conflict:
    return Conflict(
        Text(
            f"{drug_label} 库存不足：需要 {wanted}，缺 {short}",
            f"Not enough {drug_label} in stock: {wanted} wanted, {short} short",
        ),
        code="insufficient_stock",
        errors=[field_error("quantity", Text(f"库存不足，缺 {short}", f"{short} short"), "insufficient_stock")],
        # For a client that offers to file a shortage request (报缺) for what is missing.
        extensions={"drug_id": drug_id, "shortfall": short},
    )


async def take(
    session: AsyncSession,
    tables: StockTables,
    *,
    store_id: int,
    drug_id: int,
    quantity: int,
    movement: Movement,
    reference: str,
    person: str,
    today: dt.date,
    drug_label: str,
    batch_id: int | None = None,
    reason: str | None = None,
    allow_expired: bool = False,
) -> list[Taken]:
    """Takes `quantity` of the drug out of the store, first-expiry-first-out over its unexpired
    batches (or out of `batch_id` alone), one ledger row per batch taken. A shortfall is 409
    `insufficient_stock` and takes nothing (the caller's transaction rolls back)."""
    _positive(quantity)
    b = tables.batches
    query = select(b).where(b.c.store_id == store_id, b.c.drug_id == drug_id, b.c.quantity > 0)
    if batch_id is not None:
        chosen = (await session.execute(select(b).where(b.c.id == batch_id))).first()
        if chosen is None or chosen.store_id != store_id or chosen.drug_id != drug_id:
            raise NotFound(
                Text(f"批次（编号 {batch_id}）不存在", f"Batch {batch_id} not found"),
                code="unknown_batch",
                errors=[field_error("batch_id", Text("不存在", "not found"), "unknown_batch")],
            )
        if chosen.expiry_date < today and not allow_expired:
            raise Conflict(
                Text(
                    f"批号 {chosen.batch_no} 已于 {chosen.expiry_date} 过期，只能报损销毁",
                    f"Batch {chosen.batch_no} expired on {chosen.expiry_date}: it may only be disposed of",
                ),
                code="batch_expired",
                errors=[field_error("batch_id", Text("已过期", "expired"), "batch_expired")],
            )
        query = query.where(b.c.id == batch_id)
    elif not allow_expired:
        query = query.where(b.c.expiry_date >= today)
    query = query.order_by(b.c.expiry_date, b.c.id)

    now = utcnow()
    taken: list[Taken] = []
    left = quantity
    # A batch another taker emptied meanwhile answers rowcount 0: read the quantities again as they
    # are now and take what is there. A round takes nothing only when another taker took first.
    while left:
        batches = (await session.execute(query)).all()
        if not batches:
            raise _shortage(drug_id, drug_label, quantity, left)
        for batch in batches:
            n = min(left, batch.quantity)
            done = cast(
                CursorResult[Any],
                await session.execute(
                    update(b)
                    .where(b.c.id == batch.id, b.c.quantity >= n)
                    .values(quantity=b.c.quantity - n, updated_at=now)
                ),
            )
            if not done.rowcount:
                continue
            await _ledger(session, tables, batch, -n, movement, reference, person, reason, now)
            taken.append(
                Taken(
                    batch_id=batch.id,
                    drug_id=batch.drug_id,
                    batch_no=batch.batch_no,
                    expiry_date=batch.expiry_date,
                    production_date=batch.production_date,
                    supplier_id=batch.supplier_id,
                    purchase_price=batch.purchase_price,
                    quantity=n,
                )
            )
            left -= n
            if not left:
                break
    return taken


async def stock_audit(session: AsyncSession, tables: StockTables) -> list[Mismatch]:
    """Batches whose quantity is not the sum of their ledger: [] when the books are right."""
    b, m = tables.batches, tables.movements
    sums = select(m.c.batch_id, func.sum(m.c.quantity).label("total")).group_by(m.c.batch_id).subquery()
    rows = await session.execute(
        select(b.c.id, b.c.quantity, func.coalesce(sums.c.total, 0))
        .select_from(b.outerjoin(sums, sums.c.batch_id == b.c.id))
        .where(b.c.quantity != func.coalesce(sums.c.total, 0))
        .order_by(b.c.id)
    )
    return [Mismatch(int(i), int(q), int(s)) for i, q, s in rows.all()]


class MismatchOut(BaseModel):
    batch_id: int
    quantity: int
    ledger_sum: int


class StockAuditOut(BaseModel):
    """`balanced`: every batch's quantity is the sum of its ledger rows."""

    balanced: bool
    batches: int
    mismatches: list[MismatchOut]


def stock_audit_router(service: str, tables: StockTables) -> APIRouter:
    """`GET /api/<service>/stock/audit`: the books checked, for operators and after a load test."""
    router = APIRouter(prefix=f"/api/{service}", tags=["stock 库存"])

    @router.get(
        "/stock/audit",
        response_model=StockAuditOut,
        summary="Stock checked against its ledger, batch by batch",
        **requires(f"{service}:stock:read", Text("库存", "stock")),
    )
    async def audit(session: ReadSession) -> StockAuditOut:
        mismatches = await stock_audit(session, tables)
        count = (await session.execute(select(func.count()).select_from(tables.batches))).scalar_one()
        return StockAuditOut(
            balanced=not mismatches,
            batches=count,
            mismatches=[MismatchOut(**vars(m)) for m in mismatches],
        )

    return router

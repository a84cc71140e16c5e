"""Returns: a patient's drugs back into the batches they came from (退药), and pharmacy stock back
to the warehouse (退库).

A patient return gives up the goods first, under the "Never both" rule (docs/pharmacy.md): each
returned line's fate moves `dispensed` → `returned` by one conditional UPDATE, so of two
pharmacists returning the same line one wins, and only a `returned` line can then be claimed for a
refund by its sender (pms/dispensing/service.py `claim_refund`). The money follows the goods,
never the other way round.

A warehouse return takes units out of the pharmacy's batches and, in the same transaction, queues
the message that puts them into the warehouse (sms `POST /api/sms/returns`): the units are never
in both places and never in neither, whenever sms accepts it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pms.db import PHARMACY, audit_log, counters, feed, outbox, stock
from pms.dispensing.models import DispensingLine, DispensingLineBatch, DispensingOrder, Fate, LineFate
from pms.dispensing.models import State as OrderState
from pms.dispensing.service import batches_of, feed_batches
from pms.returns.models import (
    Destination,
    DrugReturn,
    DrugReturnIn,
    DrugReturnLine,
    DrugReturnLineOut,
    DrugReturnOut,
    WarehouseReturn,
    WarehouseReturnIn,
    WarehouseReturnLine,
    WarehouseReturnLineIn,
    WarehouseReturnLineOut,
    WarehouseReturnOut,
)
from pms.stock.models import BatchDrug
from shared import audit
from shared.clock import utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.outbox import enqueue
from shared.paging import Page, PageParams, fetch_page
from shared.search import contains
from shared.sequences import business_number
from shared.stock import Movement, put_back, take

DRUG_RETURN = "drug_return"
WAREHOUSE_RETURN = "warehouse_return"
DRUG_RETURN_PREFIX = "TY"  # 退药
WAREHOUSE_RETURN_PREFIX = "TK"  # 退库
# Where the warehouse receives them (sms/returns/router.py).
SMS_PATH = "/api/sms/returns"
DRUG_RETURN_SORTS = {name: getattr(DrugReturn, name) for name in ("created_at", "number", "id")}
WAREHOUSE_RETURN_SORTS = {name: getattr(WarehouseReturn, name) for name in ("created_at", "number", "id")}


def message_key(return_id: int) -> str:
    return f"pms-return-{return_id}"


# --- 退药 -------------------------------------------------------------------------------------------


def _not_returnable(message: Text) -> Conflict:
    return Conflict(message, code="not_returnable", errors=[field_error("line_ids", message, "not_returnable")])


async def _drug_return_lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[DrugReturnLineOut]]:
    by_return: dict[int, list[DrugReturnLineOut]] = {i: [] for i in ids}
    if not ids:
        return by_return
    rows = await session.execute(
        select(DrugReturnLine).where(DrugReturnLine.drug_return_id.in_(ids)).order_by(DrugReturnLine.id)  # type: ignore[attr-defined]
    )
    lines = list(rows.scalars())
    batches = await batches_of(session, [line.dispensing_line_id for line in lines])
    for line in lines:
        out = DrugReturnLineOut.model_validate({**line.model_dump(), "batches": batches[line.dispensing_line_id]})
        by_return[line.drug_return_id].append(out)
    return by_return


def _drug_return_out(record: DrugReturn, lines: list[DrugReturnLineOut]) -> DrugReturnOut:
    return DrugReturnOut.model_validate({**record.model_dump(), "lines": lines})


async def drug_returns(
    session: AsyncSession, params: PageParams, dispensing_order_id: int | None = None
) -> Page[DrugReturnOut]:
    """Patient returns, newest first; `q` matches the TY or FY number, visit number or patient name."""
    query = select(DrugReturn)
    if dispensing_order_id is not None:
        query = query.where(DrugReturn.dispensing_order_id == dispensing_order_id)
    if params.q:
        query = query.where(
            contains(
                params.q, DrugReturn.number, DrugReturn.dispensing_number, DrugReturn.visit_number,
                DrugReturn.patient_name,
            )
        )  # fmt: skip
    found, total = await fetch_page(session, query, params, DrugReturn.created_at.desc(), DrugReturn.id.desc())  # type: ignore[attr-defined,union-attr]
    lines = await _drug_return_lines(session, [r.id for r in found])
    return Page(
        items=[_drug_return_out(r, lines[r.id]) for r in found], total=total, page=params.page, size=params.size
    )


async def return_drugs(
    session: AsyncSession, order_id: int, body: DrugReturnIn, today: dt.date, by: str
) -> DrugReturnOut:
    """The patient gives whole dispensed lines back: each line's fate becomes `returned` (once:
    409 `not_returnable` for a line not dispensed or already returned) and its units go back into
    the batches it was handed out from, each with a `patient_return` ledger row."""
    order = await session.get(DispensingOrder, order_id)
    if order is None or order.id is None:
        raise NotFound(Text(f"取药单（编号 {order_id}）不存在", f"Dispensing order {order_id} not found"))
    if order.state != OrderState.dispensed:
        raise _not_returnable(Text("取药单尚未发药，不能退药", "Nothing on this order was handed out"))
    rows = await session.execute(select(DispensingLine).where(DispensingLine.dispensing_order_id == order.id))
    by_line_id = {line.line_id: line for line in rows.scalars()}
    unknown = sorted(set(body.line_ids) - set(by_line_id))
    if unknown:
        raise Invalid(
            Text("取药单中没有这些明细", "These lines are not on the order"),
            errors=[field_error("line_ids", Text(f"未知明细 {unknown}", f"unknown lines {unknown}"))],
        )
    now = utcnow()
    # The fate decides, not a read of it: of two returns of one line, one UPDATE finds `dispensed`.
    for line_id in sorted(body.line_ids):
        done = await session.execute(
            update(LineFate)
            .where(
                LineFate.source == order.source,  # type: ignore[arg-type]
                LineFate.order_id == order.order_id,  # type: ignore[arg-type]
                LineFate.line_id == line_id,  # type: ignore[arg-type]
                LineFate.fate == Fate.dispensed,  # type: ignore[arg-type]
            )
            .values(fate=Fate.returned, at=now)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            name = by_line_id[line_id].name
            raise _not_returnable(
                Text(f"“{name}”未发药或已退药，不能退药", f"'{name}' was not handed out, or was already returned")
            )
    number = await business_number(session, counters, DRUG_RETURN_PREFIX, today)
    record = DrugReturn(
        number=number,
        dispensing_order_id=order.id,
        dispensing_number=order.number,
        source=order.source,
        order_id=order.order_id,
        visit_number=order.visit_number,
        patient_name=order.patient_name,
        reason=body.reason,
        created_at=now,
        created_by=by,
    )
    session.add(record)
    await session.flush()
    assert record.id is not None
    returned = [by_line_id[line_id] for line_id in body.line_ids]
    session.add_all(
        DrugReturnLine(
            drug_return_id=record.id,
            dispensing_line_id=line.id,
            **line.model_dump(include={"line_id", "drug_id", "code", "name", "spec", "unit", "quantity"}),
        )
        for line in returned
    )
    taken = await session.execute(
        select(DispensingLineBatch)
        .where(DispensingLineBatch.dispensing_line_id.in_([line.id for line in returned]))  # type: ignore[attr-defined]
        .order_by(DispensingLineBatch.batch_id, DispensingLineBatch.id)
    )
    # Batch by batch in id order: two returns sharing batches lock them in the same order.
    for row in taken.scalars():
        await put_back(
            session, stock, batch_id=row.batch_id, quantity=row.quantity, movement=Movement.patient_return,
            reference=number, person=by, reason=body.reason,
        )  # fmt: skip
    await session.flush()
    out = _drug_return_out(record, (await _drug_return_lines(session, [record.id]))[record.id])
    await audit.record(
        session, audit_log, action="create", entity=DRUG_RETURN, entity_id=record.id, after=out.model_dump(mode="json")
    )
    batches = await feed_batches(session, out.lines)
    data = {
        "number": out.number,
        "dispensing_number": out.dispensing_number,
        "source": out.source,
        "order_id": out.order_id,
        "department_name": order.department_name,
        "created_at": out.created_at,
        # The batches each line went back into, at their purchase price (statistics' pharmacy stock).
        "lines": [
            {"line_id": li.line_id, "drug_id": li.drug_id, "code": li.code, "quantity": li.quantity,
             "batches": batches[li.id]}
            for li in out.lines
        ],
    }  # fmt: skip
    await publish(session, feed, counters, entity=DRUG_RETURN, entity_id=record.id, action="returned", data=data)
    return out


# --- 退库 -------------------------------------------------------------------------------------------


async def _warehouse_return_lines(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[WarehouseReturnLineOut]]:
    by_return: dict[int, list[WarehouseReturnLineOut]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(WarehouseReturnLine)
            .where(WarehouseReturnLine.warehouse_return_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(WarehouseReturnLine.id)
        )
        for line in rows.scalars():
            by_return[line.warehouse_return_id].append(WarehouseReturnLineOut.model_validate(line))
    return by_return


def _warehouse_return_out(record: WarehouseReturn, lines: list[WarehouseReturnLineOut]) -> WarehouseReturnOut:
    return WarehouseReturnOut.model_validate({**record.model_dump(), "lines": lines})


async def warehouse_returns(
    session: AsyncSession, params: PageParams, destination: Destination | None = None
) -> Page[WarehouseReturnOut]:
    """Returns to the warehouse, newest first; `q` matches the TK number or the remark."""
    query = select(WarehouseReturn)
    if destination is not None:
        query = query.where(WarehouseReturn.destination == destination)
    if params.q:
        query = query.where(contains(params.q, WarehouseReturn.number, WarehouseReturn.remark))
    found, total = await fetch_page(
        session,
        query,
        params,
        WarehouseReturn.created_at.desc(),
        WarehouseReturn.id.desc(),  # type: ignore[attr-defined,union-attr]
    )
    lines = await _warehouse_return_lines(session, [r.id for r in found])
    return Page(
        items=[_warehouse_return_out(r, lines[r.id]) for r in found], total=total, page=params.page, size=params.size
    )


def return_message(out: WarehouseReturnOut) -> dict[str, Any]:
    """What the warehouse receives (sms/returns/models.py ReturnIn): each batch as the pharmacy
    holds it, so sms puts the units into its batch of the same number."""
    return {
        "return_id": out.id,
        "number": out.number,
        "warehouse_id": out.warehouse_id,
        "destination": out.destination,
        "returned_by": out.created_by,
        "returned_at": out.created_at.isoformat(),
        "remark": out.remark,
        "lines": [
            {"drug_id": li.drug_id, "code": li.code, "name": li.name, "spec": li.spec, "unit": li.unit,
             "batch_no": li.batch_no, "production_date": li.production_date and li.production_date.isoformat(),
             "expiry_date": li.expiry_date.isoformat(), "supplier_id": li.supplier_id,
             "purchase_price": str(li.purchase_price), "quantity": li.quantity, "reason": li.reason}
            for li in out.lines
        ],
    }  # fmt: skip


async def return_to_warehouse(
    session: AsyncSession, body: WarehouseReturnIn, today: dt.date, by: str
) -> WarehouseReturnOut:
    """Takes each line's units out of its pharmacy batch (`return_out`; an expired batch too, since
    the warehouse disposes of it) and queues them to the warehouse in the same transaction."""
    b = stock.batches
    ids = [line.batch_id for line in body.lines]
    rows = await session.execute(
        select(b, BatchDrug.code, BatchDrug.name, BatchDrug.spec, BatchDrug.unit)  # type: ignore[call-overload]
        .outerjoin(BatchDrug, BatchDrug.batch_id == b.c.id)
        .where(b.c.id.in_(ids), b.c.store_id == PHARMACY)
    )
    batches = {row.id: row for row in rows}
    for index, line in enumerate(body.lines):
        batch = batches.get(line.batch_id)
        if batch is None:
            raise Invalid(
                Text(f"批次（编号 {line.batch_id}）不存在", f"Batch {line.batch_id} not found"),
                code="unknown_batch",
                errors=[field_error(f"lines.{index}.batch_id", Text("不存在", "not found"), "unknown_batch")],
            )
        if batch.expiry_date < today and body.destination != Destination.disposal:
            message = Text(
                f"批号 {batch.batch_no} 已于 {batch.expiry_date} 过期，只能退库报损销毁",
                f"Batch {batch.batch_no} expired on {batch.expiry_date}: it can only go to disposal",
            )
            raise Invalid(message, code="batch_expired", errors=[field_error("destination", message, "batch_expired")])
    now = utcnow()
    number = await business_number(session, counters, WAREHOUSE_RETURN_PREFIX, today)
    record = WarehouseReturn(
        number=number,
        warehouse_id=body.warehouse_id,
        destination=body.destination,
        remark=body.remark,
        created_at=now,
        created_by=by,
    )
    session.add(record)
    await session.flush()
    assert record.id is not None

    # Drug by drug, then expiry, as a dispense takes them: no two takers wait on each other in a circle.
    def taking_order(line: WarehouseReturnLineIn) -> tuple[int, dt.date, int]:
        batch = batches[line.batch_id]
        return batch.drug_id, batch.expiry_date, batch.id

    for line in sorted(body.lines, key=taking_order):
        batch = batches[line.batch_id]
        await take(
            session, stock, store_id=PHARMACY, drug_id=batch.drug_id, quantity=line.quantity,
            movement=Movement.return_out, reference=number, person=by, today=today,
            drug_label=f"{batch.name or batch.drug_id} 批号 {batch.batch_no}", batch_id=batch.id,
            reason=line.reason, allow_expired=True,
        )  # fmt: skip
    lines = [
        WarehouseReturnLine(
            warehouse_return_id=record.id,
            batch_id=batch.id,
            drug_id=batch.drug_id,
            code=batch.code or "",
            name=batch.name or "",
            spec=batch.spec or "",
            unit=batch.unit or "",
            batch_no=batch.batch_no,
            production_date=batch.production_date,
            expiry_date=batch.expiry_date,
            supplier_id=batch.supplier_id,
            purchase_price=batch.purchase_price,
            quantity=line.quantity,
            reason=line.reason,
        )
        for line in body.lines
        for batch in [batches[line.batch_id]]
    ]
    session.add_all(lines)
    await session.flush()
    out = _warehouse_return_out(record, [WarehouseReturnLineOut.model_validate(li) for li in lines])
    await audit.record(
        session, audit_log, action="create", entity=WAREHOUSE_RETURN, entity_id=record.id,
        after=out.model_dump(mode="json"),
    )  # fmt: skip
    data = {
        "number": out.number,
        "warehouse_id": out.warehouse_id,
        "destination": out.destination,
        "created_at": out.created_at,
        "lines": [
            {"drug_id": li.drug_id, "code": li.code, "batch_no": li.batch_no, "quantity": -li.quantity,
             "purchase_price": li.purchase_price, "expiry_date": li.expiry_date}
            for li in out.lines
        ],
    }  # fmt: skip
    await publish(session, feed, counters, entity=WAREHOUSE_RETURN, entity_id=record.id, action="returned", data=data)
    await enqueue(
        session, outbox, destination="SMS", path=SMS_PATH, body=return_message(out), key=message_key(record.id)
    )
    return out

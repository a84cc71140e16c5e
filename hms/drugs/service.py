"""Drug orders (药品记账): booked to a stay, sent to the pharmacy, reported dispensed by it, and
credited only once the pharmacy has given the lines up (docs/inpatient.md, "Drugs").

The pharmacy owns each line's fate (docs/pharmacy.md, "Never both"): hms credits a drug only after
pms's claim of that line answered 201, asked synchronously while the stay's row is locked, so the
pharmacy's notice of the same claim waits for the request and then finds the credit written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hms import remote
from hms.charges.models import DRUG_CATEGORY, Charge, ChargeKind, ChargeOut, ChargeState
from hms.db import audit_log, counters, feed, idempotency_keys, outbox
from hms.drugs.models import (
    DrugOrder,
    DrugOrderIn,
    DrugOrderOut,
    DrugOrderState,
    DrugReturn,
    DrugReturnIn,
    UndispensedLine,
)
from hms.stays import account
from hms.stays.models import Stay
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.db import Database
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.idempotency import Answer, run_once
from shared.outbox import enqueue
from shared.paging import Page, PageParams
from shared.pharmacy_reports import ClaimedIn, DispensedIn
from shared.remote import Drug
from shared.scope import Departments, restrict
from shared.search import contains
from shared.sequences import business_number
from shared.service_client import ServiceClient

ENTITY = "drug_order"
NUMBER_PREFIX = "YZ"  # 医嘱
DRUG = Text("药品", "drug")
# A line the pharmacy may still claim; its state after the credit is `returned` once it was handed out.
CREDITABLE = (ChargeState.booked, ChargeState.dispensed)
RETURN_SCOPE = "POST /api/hms/drug-orders/returns"
CLAIMED_SCOPE = "POST /api/hms/refunds/claimed"


def _not_found(order_id: int) -> NotFound:
    return NotFound(Text(f"药品医嘱（编号 {order_id}）不存在", f"Drug order {order_id} not found"))


# --- reading ----------------------------------------------------------------------------------------


async def _charges(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[Charge]]:
    """Every charge row of these orders (lines and credits), in one statement, fresh from the database."""
    by_order: dict[int, list[Charge]] = {i: [] for i in order_ids}
    if order_ids:
        rows = await session.execute(
            select(Charge)
            .where(Charge.order_id.in_(order_ids))  # type: ignore[union-attr]
            .order_by(Charge.id)
            .execution_options(populate_existing=True)
        )
        for charge in rows.scalars():
            by_order[charge.order_id].append(charge)  # type: ignore[index]
    return by_order


def _out(order: DrugOrder, stay: Stay, charges: list[Charge]) -> DrugOrderOut:
    lines = [ChargeOut.model_validate(c) for c in charges if c.reverses_id is None]
    credits = [ChargeOut.model_validate(c) for c in charges if c.reverses_id is not None]
    return DrugOrderOut.model_validate(
        {
            **order.model_dump(),
            "stay_number": stay.number,
            "patient_name": stay.patient_name,
            "department_id": stay.department_id,
            "credited": sum((c.amount for c in credits), Decimal("0.00")),
            "lines": lines,
            "credits": credits,
        }
    )


async def order_out(session: AsyncSession, order: DrugOrder, stay: Stay | None = None) -> DrugOrderOut:
    stay = stay or await session.get(Stay, order.stay_id)
    assert stay is not None and order.id is not None
    return _out(order, stay, (await _charges(session, [order.id]))[order.id])


async def _order(session: AsyncSession, order_id: int, *, for_update: bool = False) -> DrugOrder:
    query = select(DrugOrder).where(DrugOrder.id == order_id).execution_options(populate_existing=True)  # type: ignore[arg-type]
    order = (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()
    if order is None:
        raise _not_found(order_id)
    return order


async def get(session: AsyncSession, order_id: int, departments: Departments) -> DrugOrderOut:
    order = await _order(session, order_id)
    stay = await session.get(Stay, order.stay_id)
    assert stay is not None
    account.in_scope(stay, departments)
    return await order_out(session, order, stay)


async def page(
    session: AsyncSession,
    params: PageParams,
    departments: Departments,
    stay_id: int | None = None,
    state: DrugOrderState | None = None,
) -> Page[DrugOrderOut]:
    """Newest first; `q`: YZ number, ZY number, patient name. Every order's lines and stay in two statements."""
    query: Select[Any] = select(DrugOrder, Stay).join(Stay, Stay.id == DrugOrder.stay_id)  # type: ignore[arg-type]
    query = restrict(query, Stay.department_id, departments)
    if stay_id is not None:
        query = query.where(DrugOrder.stay_id == stay_id)  # type: ignore[arg-type]
    if state is not None:
        query = query.where(DrugOrder.state == state)  # type: ignore[arg-type]
    if params.q:
        query = query.where(contains(params.q, DrugOrder.number, Stay.number, Stay.patient_name))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(
            query.order_by(DrugOrder.created_at.desc(), DrugOrder.id.desc())  # type: ignore[attr-defined,union-attr]
            .offset(params.offset)
            .limit(params.size)
        )
    ).all()
    charges = await _charges(session, [order.id for order, _ in rows])
    return Page(
        items=[_out(order, stay, charges[order.id]) for order, stay in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


async def undispensed(
    session: AsyncSession, departments: Departments, stay_id: int | None = None
) -> list[UndispensedLine]:
    """Drug lines booked and not yet handed out (what blocks a settlement), by stay, oldest first."""
    query: Select[Any] = (
        select(Charge, Stay.number, Stay.patient_name, DrugOrder.number)
        .join(DrugOrder, DrugOrder.id == Charge.order_id)  # type: ignore[arg-type]
        .join(Stay, Stay.id == Charge.stay_id)  # type: ignore[arg-type]
        .where(Charge.kind == ChargeKind.drug, Charge.state == ChargeState.booked)  # type: ignore[arg-type]
    )
    query = restrict(query, Stay.department_id, departments)
    if stay_id is not None:
        query = query.where(Charge.stay_id == stay_id)  # type: ignore[arg-type]
    rows = await session.execute(query.order_by(Charge.stay_id, Charge.id))
    return [
        UndispensedLine.model_validate(
            {
                **c.model_dump(),
                "drug_id": c.item_id,
                "stay_number": stay_number,
                "patient_name": patient_name,
                "order_number": order_number,
            }
        )
        for c, stay_number, patient_name, order_number in rows.all()
    ]


# --- booking --------------------------------------------------------------------------------------


async def _priced(client: ServiceClient, body: DrugOrderIn) -> list[tuple[Drug, int, str | None]]:
    """Each line's drug as dbs has it now (unknown or disabled → 422 on `lines.N.drug_id`)."""
    seen: set[int] = set()
    for index, line in enumerate(body.lines):
        if line.drug_id in seen:
            once = Text("同一药品在一张医嘱中只能出现一次", "a drug appears once per order")
            raise Invalid(
                Text("同一药品出现了两次，请合并数量", "A drug appears twice: add the quantities up"),
                code="duplicate_drug",
                errors=[field_error(f"lines.{index}.drug_id", once, "duplicate")],
            )
        seen.add(line.drug_id)
    return [
        (await remote.drug(client, line.drug_id, f"lines.{index}.drug_id"), line.quantity, line.usage)
        for index, line in enumerate(body.lines)
    ]


def _feed_lines(charges: Sequence[Charge]) -> list[dict[str, Any]]:
    return [{"drug_id": c.item_id, "code": c.code, "quantity": c.quantity, "amount": str(c.amount)} for c in charges]


def dispensing_order(order: DrugOrder, stay: Stay, lines: Sequence[Charge]) -> dict[str, Any]:
    """What the pharmacy needs to dispense a drug order (pms's DispensingOrderIn, `source: "hms"`)."""
    return {
        "source": "hms",
        "order_id": order.id,
        "order_number": order.number,
        "visit_number": stay.number,
        "patient_name": stay.patient_name,
        "doctor_name": stay.doctor_name,
        "department_name": stay.department_name,
        "lines": [
            {"line_id": c.id, "drug_id": c.item_id, "code": c.code, "name": c.name, "spec": c.spec, "unit": c.unit,
             "quantity": c.quantity}
            for c in lines
        ],
    }  # fmt: skip


async def book(
    session: AsyncSession, client: ServiceClient, stay_id: int, body: DrugOrderIn, principal: Principal, today: date
) -> DrugOrderOut:
    """药品记账: the drugs at dbs's price of now, charged to the stay, and the order queued for the
    pharmacy in the same transaction (key `hms-drug-order-{id}`)."""
    priced = await _priced(client, body)  # before any row is locked: no remote call under a lock
    amounts = [drug.price * quantity for drug, quantity, _ in priced]
    total = sum(amounts, Decimal("0.00"))
    # First: the stay's row lock, and 409 for a settled stay before anything is written.
    await account.post(session, stay_id, charges=total)
    stay = await account.locked(session, stay_id)
    account.in_scope(stay, principal.departments)
    now = utcnow()
    order = DrugOrder(
        number=await business_number(session, counters, NUMBER_PREFIX, today),
        stay_id=stay_id,
        state=DrugOrderState.pending,
        total=total,
        created_by=principal.username,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    lines = [
        Charge(
            stay_id=stay_id,
            kind=ChargeKind.drug,
            category=DRUG_CATEGORY,
            item_id=drug.id,
            code=drug.code,
            name=drug.name,
            spec=drug.spec or "",
            unit=drug.unit_name or "",
            unit_price=drug.price,
            quantity=quantity,
            amount=amount,
            state=ChargeState.booked,
            order_id=order.id,
            usage=usage,
            created_by=principal.username,
            created_at=now,
        )
        for (drug, quantity, usage), amount in zip(priced, amounts, strict=True)
    ]
    session.add_all(lines)
    await session.flush()
    # Same transaction: the pharmacy gets exactly the orders that were booked.
    await enqueue(
        session, outbox, destination="PMS", path="/api/pms/dispensing-orders",
        body=dispensing_order(order, stay, lines), key=f"hms-drug-order-{order.id}",
    )  # fmt: skip
    out = _out(order, stay, lines)
    await audit.record(session, audit_log, action="create", entity=ENTITY, entity_id=order.id,
                       after=out.model_dump(mode="json"))  # fmt: skip
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=order.id, action="charged",
        data={"number": order.number, "stay_number": stay.number, "department_id": stay.department_id,
              "department_name": stay.department_name, "category": DRUG_CATEGORY, "amount": str(total),
              "lines": _feed_lines(lines)},
    )  # fmt: skip
    return out


# --- the pharmacy's report ----------------------------------------------------------------------


async def mark_dispensed(session: AsyncSession, order_id: int, report: DispensedIn) -> DrugOrderOut:
    """The pharmacy handed these lines out (absent: every booked line). Each goes booked → dispensed
    by one conditional UPDATE, so a line credited before (cancelled) stays cancelled. Never refused
    for the stay's state: what the pharmacy did has happened."""
    order = await _order(session, order_id, for_update=True)
    before = await order_out(session, order)
    lines = update(Charge).where(
        Charge.order_id == order_id,  # type: ignore[arg-type]
        Charge.kind == ChargeKind.drug,  # type: ignore[arg-type]
        Charge.state == ChargeState.booked,  # type: ignore[arg-type]
    )
    if report.line_ids is not None:
        lines = lines.where(Charge.id.in_(report.line_ids))  # type: ignore[union-attr]
    await session.execute(lines.values(state=ChargeState.dispensed).execution_options(synchronize_session=False))
    if order.dispensing_number is None:
        order.dispensing_number = report.dispensing_number
        order.dispensed_at = report.dispensed_at or utcnow()
        order.dispensed_by = report.dispensed_by
    if order.state == DrugOrderState.pending:
        # A cancelled order (every line credited before the report came) stays cancelled.
        order.state = DrugOrderState.dispensed
    session.add(order)
    await session.flush()
    after = await order_out(session, order)
    if after != before:
        await audit.record(
            session, audit_log, action="dispensed", entity=ENTITY, entity_id=order_id,
            before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
        )  # fmt: skip
    return after


async def dispensed_once(db: Database, key: str | None, order_id: int, report: DispensedIn) -> Answer:
    """The report applied once per key, in its own transaction: pms's outbox sends again until it hears back."""

    async def work(session: AsyncSession) -> Answer:
        return Answer(200, jsonable_encoder(await mark_dispensed(session, order_id, report)))

    return await run_once(db, idempotency_keys, key, f"dispensed:{order_id}", report.model_dump(mode="json"), work)


# --- returns and cancels (退药/撤销) ------------------------------------------------------------


def claim_of(order_id: int, request_key: str, body: DrugReturnIn, actor: str) -> str:
    """The return's claim at the pharmacy: the same request again (same key, lines, reason and person)
    is the same claim, answered again there; a changed request is another claim."""
    asked = json.dumps([request_key, sorted(body.line_ids), body.reason, actor], ensure_ascii=False)
    return f"hms-return-{order_id}-{hashlib.sha256(asked.encode()).hexdigest()[:32]}"


async def _recorded(session: AsyncSession, claim: str) -> DrugReturn | None:
    found = await session.execute(select(DrugReturn).where(DrugReturn.claim == claim))  # type: ignore[arg-type]
    return found.scalar_one_or_none()


async def _lines_to_credit(session: AsyncSession, order: DrugOrder, line_ids: list[int]) -> list[Charge]:
    """The order's drug lines named, each still creditable (in the order named)."""
    rows = await session.execute(
        select(Charge)
        .where(Charge.order_id == order.id, Charge.id.in_(line_ids), Charge.reverses_id.is_(None))  # type: ignore[arg-type,union-attr]
        .execution_options(populate_existing=True)
    )
    by_id = {c.id: c for c in rows.scalars()}
    chosen = []
    for index, line_id in enumerate(line_ids):
        line = by_id.get(line_id)
        if line is None:
            raise Invalid(
                Text("明细不属于该药品医嘱", "The line is not part of this drug order"),
                errors=[field_error(f"line_ids.{index}", Text("不属于该医嘱", "is not part of this order"))],
            )
        if line.state not in CREDITABLE:
            raise _already_credited(line.name)
        chosen.append(line)
    return chosen


def _already_credited(name: str) -> Conflict:
    return Conflict(Text(f"“{name}”已退药或已撤销", f"'{name}' was already returned or cancelled"),
                    code="already_credited")  # fmt: skip


async def _credit(
    session: AsyncSession, stay: Stay, order: DrugOrder, lines: list[Charge], reason: str, claim: str, actor: str
) -> DrugOrderOut:
    """The one writer of a claimed return, for the ward's request and the pharmacy's notice alike:
    a credit row per line, each line `returned` (it was handed out) or `cancelled`, the stay's sum,
    and the claim's row, whose unique `claim` records it once."""
    before = await order_out(session, order, stay)
    total = sum((line.amount for line in lines), Decimal("0.00"))
    await account.post(session, stay.id, charges=-total)  # type: ignore[arg-type]
    now = utcnow()
    session.add(DrugReturn(order_id=order.id, stay_id=stay.id, claim=claim, amount=-total, reason=reason,  # type: ignore[arg-type]
                           created_by=actor, created_at=now))  # fmt: skip
    for line in lines:
        # Decided on the row as it is now, not as read: once handed out it is `returned`, else `cancelled`.
        done = await session.execute(
            update(Charge)
            .where(Charge.id == line.id, Charge.state.in_(CREDITABLE))  # type: ignore[arg-type,attr-defined]
            .values(
                state=case(
                    (Charge.state == ChargeState.dispensed, ChargeState.returned.value),  # type: ignore[arg-type]
                    else_=ChargeState.cancelled.value,
                )
            )
            .execution_options(synchronize_session=False)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            raise _already_credited(line.name)
        session.add(
            Charge(
                stay_id=line.stay_id, kind=ChargeKind.drug, category=line.category, item_id=line.item_id,
                code=line.code, name=line.name, spec=line.spec, unit=line.unit, unit_price=line.unit_price,
                quantity=-line.quantity, amount=-line.amount, state=ChargeState.credit, order_id=order.id,
                reverses_id=line.id, reason=reason, created_by=actor, created_at=now,
            )
        )  # fmt: skip
    await session.flush()
    charges = (await _charges(session, [order.id]))[order.id]  # type: ignore[index]
    if all(c.state == ChargeState.cancelled for c in charges if c.reverses_id is None):
        order.state = DrugOrderState.cancelled
        session.add(order)
        await session.flush()
    after = _out(order, stay, charges)
    await audit.record(
        session, audit_log, action="return", entity=ENTITY, entity_id=order.id,
        before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
    )  # fmt: skip
    credits = [c for c in charges if c.reverses_id in {line.id for line in lines}]
    await publish(
        session, feed, counters, entity=ENTITY, entity_id=order.id, action="credited",
        data={"number": order.number, "stay_number": stay.number, "department_id": stay.department_id,
              "department_name": stay.department_name, "category": DRUG_CATEGORY, "amount": str(-total),
              "lines": _feed_lines(credits)},
    )  # fmt: skip
    return after


async def give_back(
    session: AsyncSession,
    client: ServiceClient,
    order_id: int,
    body: DrugReturnIn,
    principal: Principal,
    request_key: str,
) -> DrugOrderOut:
    """退药/撤销: the pharmacy claims the lines first, synchronously; only on its 201 are they
    credited. Refused there (a line handed out and not yet returned at the pharmacy) → 409; the
    pharmacy unreachable → 503; either way nothing is written here."""
    stay_id = (await _order(session, order_id)).stay_id
    # Locked before the pharmacy is asked, so its notice of this claim waits for this request; the
    # stay, then the order, as the notice and the pharmacy's report take them (never in a circle).
    stay = await account.open_stay(session, stay_id)
    order = await _order(session, order_id, for_update=True)
    account.in_scope(stay, principal.departments)
    claim = claim_of(order_id, request_key, body, principal.username)
    if await _recorded(session, claim) is not None:
        return await order_out(session, order, stay)  # the pharmacy's notice recorded it first
    lines = await _lines_to_credit(session, order, body.line_ids)
    asked = {"line_ids": body.line_ids, "payment_id": lines[0].id, "reason": body.reason,
             "cashier": principal.username}  # fmt: skip
    await remote.claim_drugs(client, order_id, claim, asked)
    return await _credit(session, stay, order, lines, body.reason, claim, principal.username)


async def record_claimed(session: AsyncSession, notice: ClaimedIn) -> DrugOrderOut:
    """The pharmacy's notice that it claimed lines of a drug order: credits them unless the ward's
    request already did (it normally has; this records a return whose answer hms never heard). A
    settled stay refuses it (409): the pharmacy keeps the notice aside for an operator, who reverses
    the settlement and sends it again."""
    stay = await account.locked(session, (await _order(session, notice.order_id)).stay_id)
    order = await _order(session, notice.order_id, for_update=True)
    if await _recorded(session, notice.claim) is not None:
        return await order_out(session, order, stay)
    lines = await _lines_to_credit(session, order, notice.line_ids)
    return await _credit(session, stay, order, lines, notice.reason, notice.claim, notice.cashier)


async def give_back_once(
    db: Database,
    client: ServiceClient,
    order_id: int,
    body: DrugReturnIn,
    principal: Principal,
    key: str,
) -> Answer:
    async def work(session: AsyncSession) -> Answer:
        out = await give_back(session, client, order_id, body, principal, key)
        return Answer(201, jsonable_encoder(out))

    payload = {"order_id": order_id, **body.model_dump(mode="json")}
    return await run_once(db, idempotency_keys, key, RETURN_SCOPE, payload, work)


async def record_claimed_once(db: Database, key: str | None, notice: ClaimedIn) -> Answer:
    async def work(session: AsyncSession) -> Answer:
        return Answer(201, jsonable_encoder(await record_claimed(session, notice)))

    return await run_once(db, idempotency_keys, key, CLAIMED_SCOPE, notice.model_dump(mode="json"), work)

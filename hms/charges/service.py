"""Items booked to a stay (项目记账), their credits, and the stay's account (费用明细)
(docs/inpatient.md, "Charges" and "The account adds up")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hms import remote
from hms.charges.models import (
    AccountFigures,
    AccountOut,
    CancelIn,
    CategoryTotal,
    Charge,
    ChargeKind,
    ChargeOut,
    ChargeState,
    ItemsIn,
)
from hms.db import audit_log, counters, feed
from hms.deposits import service as deposits
from hms.stays import account
from hms.stays.models import Stay, StayState
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.feed import publish
from shared.fields import CENT
from shared.i18n import Text
from shared.remote import ChargeItem
from shared.service_client import ServiceClient

# An item whose dbs category is not set is still totalled somewhere.
OTHER_CATEGORY = "其他费"


@dataclass(frozen=True)
class _Priced:
    item: ChargeItem
    quantity: int

    @property
    def amount(self) -> Decimal:
        return (self.item.price * self.quantity).quantize(CENT)


def no_charge() -> NotFound:
    return NotFound(Text("费用记录不存在", "No such charge"))


def snapshot(charge: Charge) -> dict[str, Any]:
    return ChargeOut.model_validate(charge).model_dump(mode="json")


async def charged(session: AsyncSession, stay: Stay, charge: Charge, action: str = "charged") -> None:
    """The audit row and the feed entry of one charge row (the feed names no patient)."""
    await audit.record(
        session, audit_log, action="create", entity="charge", entity_id=charge.id, after=snapshot(charge)
    )
    await publish(
        session, feed, counters, entity="charge", entity_id=charge.id, action=action,
        data={"stay_id": stay.id, "stay_number": stay.number, "department_id": stay.department_id,
              "kind": charge.kind, "category": charge.category, "item_id": charge.item_id, "code": charge.code,
              "quantity": charge.quantity, "amount": str(charge.amount), "service_date": charge.service_date,
              "reverses_id": charge.reverses_id},
    )  # fmt: skip


async def _price(services: ServiceClient, body: ItemsIn) -> list[_Priced]:
    return [
        _Priced(
            await remote.inpatient_item(services, line.charge_item_id, f"lines.{index}.charge_item_id"), line.quantity
        )
        for index, line in enumerate(body.lines)
    ]


async def book_items(
    session: AsyncSession, services: ServiceClient, stay_id: int, body: ItemsIn, principal: Principal
) -> list[ChargeOut]:
    """项目记账: every line priced by dbs first (a bad line writes nothing), then the stay's sum
    moved by the guarded UPDATE (409 on a settled stay), then the rows, prices frozen."""
    stay = await account.visible(session, stay_id, principal.departments)
    if stay.state != StayState.admitted:
        raise account.settled(stay.number)  # before asking dbs anything; account.post still decides
    priced = await _price(services, body)
    await account.post(session, stay_id, charges=sum((p.amount for p in priced), Decimal("0.00")))
    now = utcnow()
    rows = [
        Charge(
            stay_id=stay_id,
            kind=ChargeKind.item,
            category=p.item.category_name or OTHER_CATEGORY,
            item_id=p.item.id,
            code=p.item.code,
            name=p.item.name,
            unit=p.item.unit_name or "",
            unit_price=p.item.price,
            quantity=p.quantity,
            amount=p.amount,
            state=ChargeState.booked,
            needs_exam=p.item.needs_exam,
            created_by=principal.username,
            created_at=now,
        )
        for p in priced
    ]
    session.add_all(rows)
    await session.flush()
    for row in rows:
        await charged(session, stay, row)
    return [ChargeOut.model_validate(row) for row in rows]


async def _current(session: AsyncSession, charge_id: int) -> Charge:
    """The charge as committed now (a locking read: under REPEATABLE READ a plain one could answer
    the transaction's older snapshot)."""
    query = select(Charge).where(Charge.id == charge_id).with_for_update().execution_options(populate_existing=True)  # type: ignore[arg-type]
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise no_charge()
    return found


def _not_creditable(charge: Charge) -> Conflict:
    if charge.kind == ChargeKind.drug:
        why = Text("药品费用须通过退药或取消医嘱冲销", "A drug is credited through a return at the pharmacy")
    elif charge.kind == ChargeKind.bed_day:
        why = Text("床位费不能冲销", "A bed-day cannot be credited")
    elif charge.state == ChargeState.credit:
        why = Text("冲销记录本身不能再冲销", "A credit cannot itself be credited")
    elif charge.state == ChargeState.examined:
        return Conflict(
            Text("该项目已有检查结果，不能冲销", "This item has its examination result"), code="already_examined"
        )
    else:
        return Conflict(Text("该项目已冲销", "This item is already credited"), code="already_credited")
    return Conflict(why, code="not_creditable")


async def cancel(session: AsyncSession, charge_id: int, body: CancelIn, principal: Principal) -> ChargeOut:
    """Credits an item (冲销) once: its state booked → cancelled by one conditional UPDATE, which
    of two cancels at once only one passes, and a reversing row (unique `reverses_id`)."""
    charge = await session.get(Charge, charge_id)
    if charge is None:
        raise no_charge()
    if charge.kind != ChargeKind.item or charge.state != ChargeState.booked:
        raise _not_creditable(charge)
    stay = await account.visible(session, charge.stay_id, principal.departments)
    # The stay first, as every booking takes it: the guard against a settled stay, and one lock order.
    await account.post(session, charge.stay_id, charges=-charge.amount)
    done = await session.execute(
        update(Charge)
        .where(Charge.id == charge_id, Charge.kind == ChargeKind.item, Charge.state == ChargeState.booked)  # type: ignore[arg-type]
        .values(state=ChargeState.cancelled)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        raise _not_creditable(await _current(session, charge_id))
    original = await _current(session, charge_id)
    credit = Charge(
        stay_id=original.stay_id, kind=original.kind, category=original.category, item_id=original.item_id,
        code=original.code, name=original.name, spec=original.spec, unit=original.unit,
        unit_price=original.unit_price, quantity=-original.quantity, amount=-original.amount,
        state=ChargeState.credit, reverses_id=original.id, reason=body.reason, created_by=principal.username,
        created_at=utcnow(),
    )  # fmt: skip
    session.add(credit)
    await session.flush()
    await audit.record(session, audit_log, action="cancel", entity="charge", entity_id=original.id,
                       after=snapshot(original))  # fmt: skip
    await charged(session, stay, credit, action="credited")
    return ChargeOut.model_validate(credit)


def categories(charges: list[Charge]) -> list[CategoryTotal]:
    """Sums by category, each credit netted against its category."""
    sums: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for charge in charges:
        sums[charge.category] += charge.amount
    return [CategoryTotal(category=name, amount=amount) for name, amount in sorted(sums.items())]


async def stay_charges(session: AsyncSession, stay_id: int) -> list[Charge]:
    rows = await session.execute(select(Charge).where(Charge.stay_id == stay_id).order_by(Charge.id))  # type: ignore[arg-type]
    return list(rows.scalars())


async def statement(session: AsyncSession, stay_id: int, principal: Principal, threshold: Decimal) -> AccountOut:
    """费用明细: the stay's every charge (oldest first), its category totals, its deposits and figures."""
    stay = await account.visible(session, stay_id, principal.departments)
    shown = account.present(stay, threshold)
    rows = await stay_charges(session, stay_id)
    figures = AccountFigures(
        charge_total=stay.charge_total,
        insured=account.insured_share(stay.charge_total, stay.reimbursement_ratio),
        self_pay=shown.self_pay,
        deposit_total=stay.deposit_total,
        balance=shown.balance,
    )
    return AccountOut(
        stay=shown,
        charges=[ChargeOut.model_validate(c) for c in rows],
        categories=categories(rows),
        deposits=await deposits.stay_deposits(session, stay_id),
        figures=figures,
    )

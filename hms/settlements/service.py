"""Discharge settlement (出院结算) and its reversal (结算冲销): docs/inpatient.md, "Discharge settlement".

A settlement holds the stay's row lock from the first read to the commit (account.open_stay), so a
booking either committed before it read the account or finds the stay settled; the figures it
writes are the ones `figures` computes from the charge rows, the same function the preview uses.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hms.charges import bed_days
from hms.charges.models import BED_CATEGORY, CategoryTotal, Charge, ChargeKind, ChargeState
from hms.db import audit_log, counters, feed
from hms.deposits import service as deposits
from hms.deposits.models import Deposit, DepositKind, DepositOut
from hms.drugs.models import DrugOrder
from hms.settings import BedDayRule, HmsSettings
from hms.settlements.document import METHOD_LABELS, SettlementDocument, render_settlement
from hms.settlements.models import (
    ReversalIn,
    Settlement,
    SettlementFigures,
    SettlementIn,
    SettlementKind,
    SettlementOut,
    SettlementPreview,
    UndispensedDrug,
)
from hms.stays import account
from hms.stays.models import Stay, StayState
from hms.stays.service import hold_patient, snapshot
from hms.wards import service as wards
from hms.wards.models import Bed
from shared import audit
from shared.auth import Principal
from shared.clock import local_date, local_time, utcnow
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.feed import publish
from shared.i18n import Text
from shared.paging import Page, PageParams, fetch_page
from shared.scope import Departments, restrict
from shared.search import contains
from shared.sequences import business_number

log = logging.getLogger("hamp.hms.settlements")

ZERO = Decimal("0.00")
SORTS = {"created_at": Settlement.created_at, "number": Settlement.number, "total": Settlement.total}


@dataclass(frozen=True)
class Clock:
    """The settlement's day and the rules that read it: today at the hospital, its zone, the bed-day rule."""

    today: date
    timezone: str
    rule: BedDayRule


# --- the figures ----------------------------------------------------------------------------------


async def _categories(session: AsyncSession, stay_id: int) -> dict[str, Decimal]:
    """The stay's charges by category, credits netted (a credit row carries its row's category)."""
    rows = await session.execute(
        select(Charge.category, func.sum(Charge.amount)).where(Charge.stay_id == stay_id).group_by(Charge.category)  # type: ignore[arg-type]
    )
    return {category: Decimal(amount or 0).quantize(ZERO) for category, amount in rows.all()}


async def _bed_day_dates(session: AsyncSession, stay_id: int) -> set[date]:
    rows = await session.execute(
        select(Charge.service_date).where(Charge.stay_id == stay_id, Charge.kind == ChargeKind.bed_day)  # type: ignore[arg-type]
    )
    return {day for day in rows.scalars() if day is not None}


def figures(stay: Stay, categories: dict[str, Decimal], bed_day_count: int) -> SettlementFigures:
    """total = the charges; insured = total × the frozen ratio (to the cent, half up); self-pay = the
    rest; balance = deposits − self-pay, refunded when ≥ 0 and collected when < 0."""
    total = sum(categories.values(), ZERO)
    insured = account.insured_share(total, stay.reimbursement_ratio)
    self_pay = total - insured
    balance = stay.deposit_total - self_pay
    shown = [CategoryTotal(category=c, amount=a) for c, a in sorted(categories.items()) if a != 0]
    return SettlementFigures(
        stay_id=stay.id, stay_number=stay.number, categories=shown, total=total,  # type: ignore[arg-type]
        reimbursement_ratio=stay.reimbursement_ratio, insured=insured, self_pay=self_pay,
        deposits=stay.deposit_total, balance=balance, refund=max(balance, ZERO), due=max(-balance, ZERO),
        bed_days=bed_day_count,
    )  # fmt: skip


async def _undispensed(session: AsyncSession, stay_id: int) -> list[UndispensedDrug]:
    rows = await session.execute(
        select(Charge, DrugOrder.number)
        .outerjoin(DrugOrder, DrugOrder.id == Charge.order_id)  # type: ignore[arg-type]
        .where(Charge.stay_id == stay_id, Charge.kind == ChargeKind.drug, Charge.state == ChargeState.booked)  # type: ignore[arg-type]
        .order_by(Charge.id)
    )
    drugs = []
    for line, number in rows.all():
        drug = UndispensedDrug(
            charge_id=line.id, order_number=number or "", name=line.name, spec=line.spec, unit=line.unit,
            quantity=line.quantity, amount=line.amount,
        )  # fmt: skip
        drugs.append(drug)
    return drugs


def _refuse_undispensed(drugs: list[UndispensedDrug]) -> Conflict:
    named = "、".join(f"{d.name}×{d.quantity}（{d.order_number}）" for d in drugs[:5])
    more = f" 等 {len(drugs)} 项" if len(drugs) > 5 else ""
    named_en = ", ".join(f"{d.name} ×{d.quantity} ({d.order_number})" for d in drugs[:5])
    return Conflict(
        Text(
            f"尚有药品未发药：{named}{more}，请先发药或退药后再结算",
            f"Drugs not yet dispensed: {named_en}; dispense or cancel them before settling",
        ),
        code="undispensed_drugs",
        extensions={"drugs": [d.model_dump(mode="json") for d in drugs]},
    )


async def preview(session: AsyncSession, stay_id: int, clock: Clock, departments: Departments) -> SettlementPreview:
    """The figures a settlement would write now, the bed-days still due included but not written."""
    stay = await account.visible(session, stay_id, departments)
    if stay.state != StayState.admitted:
        raise account.settled(stay.number)
    categories = await _categories(session, stay_id)
    charged = await _bed_day_dates(session, stay_id)
    # The very rule accrue applies at discharge, its missing days priced as accrue prices them.
    owed = bed_days.owed_days(stay, clock.today, clock.rule, clock.timezone, discharge=True)
    due = [day for day in owed if day not in charged]
    price = (await session.execute(select(Bed.daily_price).where(Bed.id == stay.bed_id))).scalar_one_or_none()  # type: ignore[arg-type]
    extra = (Decimal(price or 0) * len(due)).quantize(ZERO)
    if extra:
        categories[BED_CATEGORY] = categories.get(BED_CATEGORY, ZERO) + extra
    drugs = await _undispensed(session, stay_id)
    base = figures(stay, categories, len(charged) + len(due))
    return SettlementPreview(
        **base.model_dump(), bed_days_due=len(due), bed_days_due_amount=extra, undispensed=drugs, can_settle=not drugs
    )


# --- settling ---------------------------------------------------------------------------------


def _categories_json(categories: Iterable[CategoryTotal], sign: int = 1) -> str:
    return json.dumps(
        [{"category": c.category, "amount": str(c.amount * sign)} for c in categories], ensure_ascii=False
    )


def _settlement_feed(record: Settlement, stay: Stay) -> dict[str, Any]:
    # No patient name: statistics count money by department and charge type, not people.
    return {
        "number": record.number, "kind": record.kind, "stay_number": stay.number,
        "reverses_id": record.reverses_id,
        "department_id": stay.department_id, "department_name": stay.department_name,
        "charge_type_id": stay.charge_type_id, "charge_type_name": stay.charge_type_name,
        "total": str(record.total), "insured": str(record.insured), "self_pay": str(record.self_pay),
        "deposits": str(record.deposits), "refunded": str(record.refunded), "collected": str(record.collected),
        "bed_days": record.bed_days, "method": record.method, "categories": json.loads(record.categories),
        "at": record.created_at.isoformat(),
    }  # fmt: skip


async def settle(
    session: AsyncSession, stay_id: int, body: SettlementIn, principal: Principal, clock: Clock
) -> SettlementOut:
    """出院结算, in one transaction holding the stay's lock: bed-days accrued, figures, the deposit row
    refunding or collecting the difference, the bed freed, the stay settled."""
    stay = await account.open_stay(session, stay_id)
    account.in_scope(stay, principal.departments)
    drugs = await _undispensed(session, stay_id)
    if drugs:
        raise _refuse_undispensed(drugs)
    await bed_days.accrue(session, stay, clock.today, clock.rule, discharge=True, timezone=clock.timezone)
    # The accrual moved the sums by UPDATE: read them again (the lock is already ours).
    stay = await account.locked(session, stay_id)
    categories = await _categories(session, stay_id)
    count = len(await _bed_day_dates(session, stay_id))
    result = figures(stay, categories, count)
    if result.total != stay.charge_total:
        # The running sum and the rows disagree: a bug somewhere that wrote one without the other.
        log.error(
            "settlement refused: stay %s charge_total %s but its charge rows add up to %s",
            stay.number, stay.charge_total, result.total,
        )  # fmt: skip
        raise RuntimeError(f"stay {stay.id}: charge_total {stay.charge_total} != rows {result.total}")
    if body.expected_total is not None and body.expected_total != result.total:
        raise Conflict(
            Text(
                f"费用已变化：当前合计 {result.total}，与预览的 {body.expected_total} 不符，请重新核对",
                f"The account changed: the total is now {result.total}, not {body.expected_total}; check again",
            ),
            code="account_changed",
            errors=[field_error("expected_total", Text("与当前合计不符", "is not the total"), "account_changed")],
            extensions={"total": str(result.total)},
        )
    before = snapshot(stay)
    now = utcnow()
    record = Settlement(
        number=await business_number(session, counters, "JS", clock.today),
        stay_id=stay_id, kind=SettlementKind.settlement, total=result.total, insured=result.insured,
        self_pay=result.self_pay, deposits=result.deposits, refunded=result.refund, collected=result.due,
        reimbursement_ratio=stay.reimbursement_ratio, bed_days=count, method=body.method,
        categories=_categories_json(result.categories), created_by=principal.username, created_at=now,
    )  # fmt: skip
    session.add(record)
    await session.flush()
    # Nothing moves when the deposits cover the self-pay exactly: no zero row.
    if result.refund:
        await deposits.record(
            session, stay, DepositKind.settlement_refund, -result.refund, body.method, principal.username,
            clock.today, remark=f"出院结算 {record.number} 退还余额", settlement_id=record.id,
        )  # fmt: skip
    elif result.due:
        await deposits.record(
            session, stay, DepositKind.settlement_collect, result.due, body.method, principal.username,
            clock.today, remark=f"出院结算 {record.number} 补缴", settlement_id=record.id,
        )  # fmt: skip
    await wards.release(session, stay.bed_id, stay_id)
    stay.state, stay.discharged_at, stay.updated_at = StayState.settled, now, now
    stay.open_patient_id = None
    await session.flush()
    out = (await _out(session, [record]))[0]
    await audit.record(
        session, audit_log, action="create", entity="settlement", entity_id=record.id,
        after=out.model_dump(mode="json", exclude={"deposit_rows"}),
    )  # fmt: skip
    await audit.record(
        session, audit_log, action="settle", entity="stay", entity_id=stay_id, before=before, after=snapshot(stay)
    )
    await publish(
        session, feed, counters, entity="settlement", entity_id=record.id, action="settled",
        data=_settlement_feed(record, stay),
    )  # fmt: skip
    return out


# --- reading ------------------------------------------------------------------------------------


async def _out(session: AsyncSession, records: list[Settlement]) -> list[SettlementOut]:
    """Settlements with their stay, their deposit rows and their reversal: three queries for any number."""
    if not records:
        return []
    ids = [r.id for r in records]
    stay_ids = {r.stay_id for r in records}
    stays = {s.id: s for s in (await session.execute(select(Stay).where(Stay.id.in_(stay_ids)))).scalars()}  # type: ignore[union-attr]
    rows: dict[int, list[DepositOut]] = defaultdict(list)
    found = await session.execute(select(Deposit).where(Deposit.settlement_id.in_(ids)).order_by(Deposit.id))  # type: ignore[union-attr]
    for deposit in found.scalars():
        rows[deposit.settlement_id].append(DepositOut.model_validate(deposit))  # type: ignore[index]
    reversals = dict(
        (
            await session.execute(
                select(Settlement.reverses_id, Settlement.id).where(Settlement.reverses_id.in_(ids))  # type: ignore[union-attr]
            )
        ).all()
    )
    out = []
    for record in records:
        stay = stays[record.stay_id]
        original = record.kind == SettlementKind.settlement
        shown = {
            "stay_number": stay.number, "patient_name": stay.patient_name, "department_name": stay.department_name,
            "ward_name": stay.ward_name, "bed_number": stay.bed_number, "charge_type_name": stay.charge_type_name,
            "admitted_at": stay.admitted_at, "discharged_at": record.created_at if original else None,
            "reversed_by_id": reversals.get(record.id),
            "deposit_rows": [
                row.model_copy(update={"stay_number": stay.number, "patient_name": stay.patient_name})
                for row in rows[record.id]  # type: ignore[index]
            ],
        }  # fmt: skip
        out.append(SettlementOut.model_validate(record).model_copy(update=shown))
    return out


async def settlements(
    session: AsyncSession,
    paging: PageParams,
    stay_id: int | None,
    kind: SettlementKind | None,
    departments: Departments,
) -> Page[SettlementOut]:
    query = select(Settlement).join(Stay, Stay.id == Settlement.stay_id)  # type: ignore[arg-type]
    if stay_id is not None:
        query = query.where(Settlement.stay_id == stay_id)  # type: ignore[arg-type]
    if kind is not None:
        query = query.where(Settlement.kind == kind)  # type: ignore[arg-type]
    if paging.q:
        query = query.where(contains(paging.q, Settlement.number, Stay.number, Stay.patient_name))
    query = restrict(query, Stay.department_id, departments)
    rows, total = await fetch_page(session, query, paging, Settlement.id.desc())  # type: ignore[union-attr]
    return Page(items=await _out(session, rows), total=total, page=paging.page, size=paging.size)


async def _get(session: AsyncSession, settlement_id: int) -> Settlement:
    record = await session.get(Settlement, settlement_id)
    if record is None:
        raise NotFound(Text("结算记录不存在", "No such settlement"))
    return record


async def settlement(session: AsyncSession, settlement_id: int, departments: Departments) -> SettlementOut:
    record = await _get(session, settlement_id)
    await account.visible(session, record.stay_id, departments)
    return (await _out(session, [record]))[0]


async def document(
    session: AsyncSession, settlement_id: int, settings: HmsSettings, departments: Departments
) -> tuple[str, bytes]:
    """住院结算单 of a settlement (or of its reversal), from the figures stored when it was written."""
    record = await _get(session, settlement_id)
    stay = await account.visible(session, record.stay_id, departments)
    out = (await _out(session, [record]))[0]
    timezone = settings.timezone
    admitted_on = local_date(stay.admitted_at, timezone)
    discharged_on = local_date(out.discharged_at or out.created_at, timezone)
    reverses = await session.get(Settlement, out.reverses_id) if out.reverses_id else None
    paper = SettlementDocument(
        hospital_name=settings.hospital_name, number=out.number, stay_number=stay.number,
        patient_name=stay.patient_name, sex=stay.sex, age=stay.age,
        department_name=stay.department_name, ward_name=stay.ward_name,
        bed_number=stay.bed_number, charge_type_name=stay.charge_type_name,
        admitted_on=admitted_on.isoformat(), discharged_on=discharged_on.isoformat(),
        days=max(1, (discharged_on - admitted_on).days), bed_days=out.bed_days,
        categories=[(c.category, c.amount) for c in out.categories], total=out.total,
        reimbursement_ratio=out.reimbursement_ratio, insured=out.insured, self_pay=out.self_pay,
        deposits=out.deposits, refunded=out.refunded, collected=out.collected,
        method_label=METHOD_LABELS.get(out.method, out.method), cashier=out.created_by,
        settled_at_local=local_time(out.created_at, timezone),
        reverses_number=reverses.number if reverses else None, reason=out.reason,
    )  # fmt: skip
    return out.number, render_settlement(paper)


# --- reversal -----------------------------------------------------------------------------------


def _already_reversed(number: str) -> Conflict:
    return Conflict(
        Text(f"结算单 {number} 已冲销", f"Settlement {number} is already reversed"), code="already_reversed"
    )


async def _bed_for(session: AsyncSession, stay: Stay, bed_id: int) -> tuple[Bed, Any]:
    """The bed the stay returns to: its own, or another in an enabled ward of its department."""
    bed = await wards.get_bed(session, bed_id, "bed_id")
    ward = await wards.get_ward(session, bed.ward_id)
    if bed_id != stay.bed_id and (not ward.enabled or ward.department_id != stay.department_id):
        reason = Text("不属于该患者的科室或病区已停用", "is not in an enabled ward of the stay's department")
        raise Invalid(
            Text(f"{ward.name} {bed.number}床{reason.zh}", f"Bed {bed.number} {reason.en}"),
            code="bed_outside_department",
            errors=[field_error("bed_id", reason, "bed_outside_department")],
        )
    return bed, ward


async def reverse(
    session: AsyncSession, settlement_id: int, body: ReversalIn, principal: Principal, today: date
) -> SettlementOut:
    """结算冲销: a reversing settlement, the deposit rows undone, the stay admitted again in a bed taken
    as at admission. Once per settlement: the unique `reverses_id` decides."""
    original = await _get(session, settlement_id)
    if original.kind != SettlementKind.settlement:
        raise Conflict(
            Text(f"{original.number} 是冲销记录，不能再冲销", f"{original.number} is a reversal, not reversible"),
            code="not_reversible",
        )
    stay = await account.locked(session, original.stay_id)
    account.in_scope(stay, principal.departments)
    done = await session.execute(select(Settlement.id).where(Settlement.reverses_id == settlement_id))  # type: ignore[arg-type]
    if done.first() is not None or stay.state != StayState.settled:
        raise _already_reversed(original.number)
    bed, ward = await _bed_for(session, stay, body.bed_id or stay.bed_id)
    # The bed first: taken by someone else → 409 bed_taken before anything is written.
    await wards.take(session, bed.id, stay.id)  # type: ignore[arg-type]
    await hold_patient(session, stay)
    before = snapshot(stay)
    now = utcnow()
    record = Settlement(
        number=await business_number(session, counters, "JS", today),
        stay_id=stay.id, kind=SettlementKind.reversal, reverses_id=original.id, total=-original.total,  # type: ignore[arg-type]
        insured=-original.insured, self_pay=-original.self_pay, deposits=-original.deposits,
        refunded=-original.refunded, collected=-original.collected,
        reimbursement_ratio=original.reimbursement_ratio, bed_days=-original.bed_days, method=original.method,
        categories=_categories_json(
            [CategoryTotal.model_validate(c) for c in json.loads(original.categories)], sign=-1
        ),
        reason=body.reason, created_by=principal.username, created_at=now,
    )  # fmt: skip
    session.add(record)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _already_reversed(original.number) from exc
    moved = await session.execute(
        select(Deposit).where(Deposit.settlement_id == original.id).order_by(Deposit.id)  # type: ignore[arg-type]
    )
    for row in list(moved.scalars()):
        await deposits.record(
            session, stay, DepositKind.reversal, -row.amount, row.method, principal.username, today,
            remark=f"冲销 {row.number}", settlement_id=record.id,
        )  # fmt: skip
    stay.state, stay.discharged_at, stay.updated_at = StayState.admitted, None, now
    stay.bed_days_from = today
    stay.ward_id, stay.ward_name, stay.bed_id, stay.bed_number = ward.id, ward.name, bed.id, bed.number  # type: ignore[assignment]
    await session.flush()
    out = (await _out(session, [record]))[0]
    await audit.record(
        session, audit_log, action="reverse", entity="settlement", entity_id=record.id,
        after=out.model_dump(mode="json", exclude={"deposit_rows"}),
    )  # fmt: skip
    await audit.record(
        session, audit_log, action="reverse_settlement", entity="stay", entity_id=stay.id,
        before=before, after=snapshot(stay),
    )  # fmt: skip
    await publish(
        session, feed, counters, entity="settlement", entity_id=record.id, action="reversed",
        data=_settlement_feed(record, stay),
    )  # fmt: skip
    return out

"""The cashier's day: closing a period (交班/日结) and what a supervisor reads of it.

A period is claimed by one conditional UPDATE (`settlement_id IS NULL` → this settlement), and
the totals are computed from exactly the rows that UPDATE claimed, in the same transaction. A
read-then-mark in Python would let a payment committed between the read and the mark be marked
without being counted, or two settlements of one cashier both count the same rows; with the
UPDATE the database hands each row to one settlement only (docs/outpatient.md, 日结).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from oms.db import audit_log, counters
from oms.payments.models import Payment, PaymentKind
from oms.settlements.models import (
    CashierSettlement,
    KindTotal,
    MethodTotal,
    NumberRange,
    OpenPeriod,
    SettlementDay,
    SettlementOut,
    SettlementTotals,
)
from shared import audit
from shared.auth import Principal
from shared.clock import local_date, local_day, utcnow
from shared.errors import Conflict, Forbidden, NotFound
from shared.i18n import Text
from shared.paging import Page, PageParams, fetch_page
from shared.sequences import business_number

# Reads every cashier's settlements and the day's total (a supervisor, 收费主管).
READ_ALL = "oms:settlement_all:read"
METHODS = ("cash", "card", "wechat", "alipay", "insurance")
KINDS = (PaymentKind.registration, PaymentKind.drug, PaymentKind.item)

Reversed = aliased(Payment)


def _rows() -> Select[Any]:
    """Payments with, for a refund, the kind of the payment it reverses (its kind in the totals)."""
    return (
        select(Payment, Reversed.kind)
        .outerjoin(Reversed, Payment.refund_of == Reversed.id)
        .order_by(Payment.id)
    )  # fmt: skip


def _numbers(numbers: list[str]) -> NumberRange | None:
    # Numbers are prefix + day + a fixed-width counter, so text order is issue order.
    return NumberRange(first=min(numbers), last=max(numbers), count=len(numbers)) if numbers else None


def tally(rows: Iterable[tuple[Payment, str | None]]) -> SettlementTotals:
    """The totals of a set of payment rows. Each row's insured share counts under 医保 and its
    self share under the method the patient paid it with, so the methods add up to the net."""
    totals = SettlementTotals()
    methods = {m: MethodTotal(method=m) for m in METHODS}
    kinds = {str(k): KindTotal(kind=k) for k in KINDS}
    used: set[str] = set()
    payments: list[str] = []
    refunds: list[str] = []
    for payment, reversed_kind in rows:
        amount, insured, own = Decimal(payment.amount), Decimal(payment.insured_amount), Decimal(payment.self_amount)
        is_refund = payment.kind == PaymentKind.refund
        kind = kinds[str(reversed_kind if is_refund else payment.kind)]
        kind.add(amount)
        if is_refund:
            kind.refund_count += 1
            totals.refund_count += 1
            totals.refunded += amount
            refunds.append(payment.number)
        else:
            kind.payment_count += 1
            totals.payment_count += 1
            totals.received += amount
            payments.append(payment.number)
        totals.net += amount
        totals.insured += insured
        totals.self_paid += own
        if insured:
            methods["insurance"].add(insured)
            used.add("insurance")
        if own or not insured:
            methods[payment.self_method].add(own)
            used.add(payment.self_method)
        moment = payment.created_at
        totals.first_at = moment if totals.first_at is None else min(totals.first_at, moment)
        totals.last_at = moment if totals.last_at is None else max(totals.last_at, moment)
    totals.by_method = [methods[m] for m in METHODS if m in used]
    totals.by_kind = [k for k in kinds.values() if k.payment_count or k.refund_count]
    totals.payment_numbers = _numbers(payments)
    totals.refund_numbers = _numbers(refunds)
    return totals


def present(settlement: CashierSettlement) -> SettlementOut:
    return SettlementOut(
        id=settlement.id,  # type: ignore[arg-type]
        number=settlement.number,
        cashier=settlement.cashier,
        cashier_name=settlement.cashier_name,
        business_date=settlement.business_date,
        cutoff=settlement.cutoff,
        created_at=settlement.created_at,
        totals=SettlementTotals.model_validate_json(settlement.totals),
    )


async def preview(session: AsyncSession, principal: Principal) -> OpenPeriod:
    cutoff = utcnow()
    rows = await session.execute(
        _rows().where(Payment.cashier == principal.username, Payment.settlement_id.is_(None))  # type: ignore[union-attr]
    )
    return OpenPeriod(cashier=principal.username, cutoff=cutoff, totals=tally(rows.all()))


async def settle(session: AsyncSession, principal: Principal, timezone: str) -> SettlementOut:
    cutoff = utcnow()
    today = local_date(cutoff, timezone)
    settlement = CashierSettlement(
        number=await business_number(session, counters, "JZ", today, width=4),
        cashier=principal.username, cashier_name=principal.name or principal.username, business_date=today,
        cutoff=cutoff, payment_count=0, refund_count=0, net=Decimal("0.00"), totals="{}", created_at=cutoff,
    )  # fmt: skip
    session.add(settlement)
    await session.flush()
    claimed = await session.execute(
        update(Payment)
        .where(
            Payment.cashier == principal.username,  # type: ignore[arg-type]
            Payment.settlement_id.is_(None),  # type: ignore[union-attr]
            Payment.created_at <= cutoff,  # type: ignore[arg-type]
        )
        .values(settlement_id=settlement.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:
        # Raising rolls the settlement row (and its number) back with the transaction.
        raise Conflict(
            Text(
                "当前没有未结账的收费或退费记录，无需结账",
                "Nothing to settle: no payment or refund since your last settlement",
            ),
            code="nothing_to_settle",
        )
    rows = await session.execute(_rows().where(Payment.settlement_id == settlement.id))
    totals = tally(rows.all())
    settlement.payment_count = totals.payment_count
    settlement.refund_count = totals.refund_count
    settlement.net = totals.net
    settlement.totals = totals.model_dump_json()
    session.add(settlement)
    await session.flush()
    answer = present(settlement)
    await audit.record(session, audit_log, action="settle", entity="cashier_settlement", entity_id=settlement.id,
                       after=json.loads(answer.model_dump_json()))  # fmt: skip
    return answer


def _can_read_all(principal: Principal) -> bool:
    return principal.can(READ_ALL)


async def search(
    session: AsyncSession, principal: Principal, params: PageParams, day: date | None, cashier: str | None
) -> Page[SettlementOut]:
    if not _can_read_all(principal):
        if cashier not in (None, principal.username):
            raise Forbidden(
                Text("只能查看本人的结账记录", "You may read only your own settlements"), code="not_own_settlement"
            )
        cashier = principal.username
    query = select(CashierSettlement)
    if day is not None:
        query = query.where(CashierSettlement.business_date == day)  # type: ignore[arg-type]
    if cashier is not None:
        query = query.where(CashierSettlement.cashier == cashier)  # type: ignore[arg-type]
    rows, total = await fetch_page(session, query, params, CashierSettlement.id.desc())  # type: ignore[union-attr]
    return Page(items=[present(s) for s in rows], total=total, page=params.page, size=params.size)


async def get(session: AsyncSession, principal: Principal, settlement_id: int) -> CashierSettlement:
    """A settlement the caller may read: their own, or any with READ_ALL (else 404, as if absent)."""
    settlement = await session.get(CashierSettlement, settlement_id)
    if settlement is None or not (settlement.cashier == principal.username or _can_read_all(principal)):
        raise NotFound(Text("结账记录不存在", "No such settlement"))
    return settlement


async def _settled_rows(session: AsyncSession, ids: Sequence[int]) -> SettlementTotals:
    if not ids:
        return SettlementTotals()
    rows = await session.execute(_rows().where(Payment.settlement_id.in_(ids)))  # type: ignore[union-attr]
    return tally(rows.all())


async def day(session: AsyncSession, on: date, timezone: str) -> SettlementDay:
    found = await session.execute(
        select(CashierSettlement)
        .where(CashierSettlement.business_date == on)  # type: ignore[arg-type]
        .order_by(CashierSettlement.cashier, CashierSettlement.id)
    )
    settlements = list(found.scalars())
    total = await _settled_rows(session, [s.id for s in settlements])  # type: ignore[misc]
    # What cashiers took up to the end of that day and have not settled yet.
    open_rows = await session.execute(
        _rows().where(Payment.settlement_id.is_(None), Payment.created_at < local_day(on, timezone)[1])  # type: ignore[union-attr,arg-type]
    )
    by_cashier: dict[str, list[tuple[Payment, str | None]]] = {}
    for payment, reversed_kind in open_rows.all():
        by_cashier.setdefault(payment.cashier, []).append((payment, reversed_kind))
    now = utcnow()
    unsettled = [OpenPeriod(cashier=c, cutoff=now, totals=tally(rows)) for c, rows in sorted(by_cashier.items())]
    return SettlementDay(date=on, settlements=[present(s) for s in settlements], total=total, unsettled=unsettled)

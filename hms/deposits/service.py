"""Deposits (预交款): money in, and what a settlement moves (docs/inpatient.md, "Deposits")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hms.db import audit_log, counters, feed
from hms.deposits.models import Deposit, DepositKind, DepositOut
from hms.stays import account
from hms.stays.models import DepositIn, Stay, StayOut, StayState
from shared import audit
from shared.auth import Principal
from shared.clock import utcnow
from shared.feed import publish
from shared.paging import Page, PageParams, fetch_page
from shared.scope import Departments, restrict
from shared.search import contains
from shared.sequences import business_number

# How far the balance SQL computes (the insured share unrounded, and on SQLite in floating point)
# may lie from the true one (rounded to the cent, half up): less than a cent.
ROUNDING_SLACK = Decimal("0.01")


async def record(
    session: AsyncSession,
    stay: Stay,
    kind: DepositKind,
    amount: Decimal,
    method: str,
    actor: str,
    today: date,
    *,
    remark: str | None = None,
    settlement_id: int | None = None,
) -> Deposit:
    """One deposit row and the stay's sum, together. A settlement's own entries are written while it
    holds the stay (settled a moment later), so they do not go through the admitted-only guard."""
    if kind == DepositKind.payment:
        await account.post(session, stay.id, deposits=amount)  # type: ignore[arg-type]
    else:
        stay.deposit_total += amount
    deposit = Deposit(
        number=await business_number(session, counters, "YJ", today),
        stay_id=stay.id,  # type: ignore[arg-type]
        kind=kind,
        amount=amount,
        method=method,
        remark=remark,
        settlement_id=settlement_id,
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(deposit)
    await session.flush()
    out = DepositOut.model_validate(deposit).model_dump(mode="json")
    await audit.record(session, audit_log, action="create", entity="deposit", entity_id=deposit.id, after=out)
    await publish(
        session, feed, counters, entity="deposit", entity_id=deposit.id, action="deposited",
        data={"number": deposit.number, "stay_number": stay.number, "department_id": stay.department_id,
              "kind": kind, "amount": str(amount), "method": method},
    )  # fmt: skip
    return deposit


async def pay_in(session: AsyncSession, stay: Stay, body: DepositIn, actor: str, today: date) -> Deposit:
    return await record(session, stay, DepositKind.payment, body.amount, body.method, actor, today, remark=body.remark)


async def pay(session: AsyncSession, stay_id: int, body: DepositIn, principal: Principal, today: date) -> DepositOut:
    """预交款: refused (409) once the stay is settled, by the guard in `account.post`."""
    stay = await account.visible(session, stay_id, principal.departments)
    deposit = await pay_in(session, stay, body, principal.username, today)
    return (await present(session, [deposit]))[0]


async def present(session: AsyncSession, deposits: Sequence[Deposit]) -> list[DepositOut]:
    """The deposits with their stay's number and patient, the stays read in one query."""
    ids = {d.stay_id for d in deposits}
    names = {}
    if ids:
        rows = await session.execute(
            select(Stay.id, Stay.number, Stay.patient_name).where(Stay.id.in_(ids))  # type: ignore[union-attr]
        )
        names = {row.id: (row.number, row.patient_name) for row in rows}
    out = []
    for deposit in deposits:
        number, patient = names.get(deposit.stay_id, ("", ""))
        out.append(
            DepositOut.model_validate(deposit).model_copy(update={"stay_number": number, "patient_name": patient})
        )
    return out


async def deposits(
    session: AsyncSession, paging: PageParams, stay_id: int | None, departments: Departments
) -> Page[DepositOut]:
    """Deposits newest first; q: YJ number, ZY number or patient name."""
    query = restrict(select(Deposit).join(Stay, Stay.id == Deposit.stay_id), Stay.department_id, departments)  # type: ignore[arg-type]
    if stay_id is not None:
        query = query.where(Deposit.stay_id == stay_id)  # type: ignore[arg-type]
    if paging.q:
        query = query.where(contains(paging.q, Deposit.number, Stay.number, Stay.patient_name))
    rows, total = await fetch_page(session, query, paging, Deposit.id.desc())  # type: ignore[union-attr]
    return Page(items=await present(session, rows), total=total, page=paging.page, size=paging.size)


async def stay_deposits(session: AsyncSession, stay_id: int) -> list[DepositOut]:
    """A stay's deposits, oldest first (its account statement)."""
    rows = await session.execute(select(Deposit).where(Deposit.stay_id == stay_id).order_by(Deposit.id))  # type: ignore[arg-type]
    return await present(session, list(rows.scalars()))


async def low_balance(
    session: AsyncSession, paging: PageParams, threshold: Decimal, departments: Departments
) -> Page[StayOut]:
    """催款名单: admitted stays whose balance is below `threshold`, lowest first.

    The balance rounds the insured share to the cent, half up, which SQLite (floating point) does
    not do exactly; so SQL picks the candidates by a bound a cent wide, and the exact balance,
    computed here as the stay shows it, decides, orders and pages."""
    approximate = Stay.deposit_total - Stay.charge_total + Stay.charge_total * Stay.reimbursement_ratio
    query = restrict(
        select(Stay.id, Stay.deposit_total, Stay.charge_total, Stay.reimbursement_ratio).where(
            Stay.state == StayState.admitted,  # type: ignore[arg-type]
            approximate < threshold + ROUNDING_SLACK,
        ),
        Stay.department_id,
        departments,
    )
    balances = []
    for row in await session.execute(query):
        balance = row.deposit_total - (
            row.charge_total - account.insured_share(row.charge_total, row.reimbursement_ratio)
        )
        if balance < threshold:
            balances.append((balance, row.id))
    balances.sort()
    page_ids = [stay_id for _, stay_id in balances[paging.offset : paging.offset + paging.size]]
    stays = {}
    if page_ids:
        rows = await session.execute(select(Stay).where(Stay.id.in_(page_ids)))  # type: ignore[union-attr]
        stays = {stay.id: stay for stay in rows.scalars()}
    items = [account.present(stays[i], threshold) for i in page_ids]
    return Page(items=items, total=len(balances), page=paging.page, size=paging.size)

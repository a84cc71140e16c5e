"""The stay's running sums and what they mean: the one place that moves them, and the figures a
ward, a cashier and a settlement read from them (docs/inpatient.md, "The account adds up")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hms.stays.models import Stay, StayOut, StayState
from shared.clock import utcnow
from shared.errors import Conflict, NotFound
from shared.fields import CENT
from shared.i18n import Text
from shared.scope import Departments, check

ZERO = Decimal("0.00")
OUTSIDE = Text("该住院记录不在您的科室范围内", "This stay is outside your departments")


def no_stay() -> NotFound:
    return NotFound(Text("住院记录不存在", "No such stay"))


def settled(number: str) -> Conflict:
    return Conflict(
        Text(f"住院记录 {number} 已出院结算，不能再修改", f"Stay {number} is settled and can no longer change"),
        code="stay_settled",
    )


async def post(session: AsyncSession, stay_id: int, *, charges: Decimal = ZERO, deposits: Decimal = ZERO) -> None:
    """Adds to the stay's sums, only while it is admitted. Call it before writing the charge or
    deposit row: the UPDATE takes the stay's row lock, which a settlement takes too, so a booking
    and a settlement of one stay happen one after the other, and a booking after it finds the stay
    settled (409, and the caller's transaction writes nothing)."""
    done = await session.execute(
        update(Stay)
        .where(Stay.id == stay_id, Stay.state == StayState.admitted)  # type: ignore[arg-type]
        .values(
            charge_total=Stay.charge_total + charges,
            deposit_total=Stay.deposit_total + deposits,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        number = (await session.execute(select(Stay.number).where(Stay.id == stay_id))).scalar_one_or_none()
        raise no_stay() if number is None else settled(number)


def in_scope(stay: Stay, departments: Departments) -> Stay:
    """The stay, if it is in the caller's departments (403 otherwise; None: every department)."""
    check(departments, stay.department_id, OUTSIDE)
    return stay


async def visible(session: AsyncSession, stay_id: int, departments: Departments) -> Stay:
    stay = await session.get(Stay, stay_id)
    if stay is None:
        raise no_stay()
    return in_scope(stay, departments)


async def locked(session: AsyncSession, stay_id: int) -> Stay:
    """The stay, its row locked for this transaction (fresh from the database, not the session's copy)."""
    query = select(Stay).where(Stay.id == stay_id).with_for_update().execution_options(populate_existing=True)  # type: ignore[arg-type]
    stay = (await session.execute(query)).scalar_one_or_none()
    if stay is None:
        raise no_stay()
    return stay


async def open_stay(session: AsyncSession, stay_id: int) -> Stay:
    """The stay, locked, refusing a settled one."""
    stay = await locked(session, stay_id)
    if stay.state != StayState.admitted:
        raise settled(stay.number)
    return stay


def insured_share(total: Decimal, ratio: Decimal) -> Decimal:
    return (total * ratio).quantize(CENT, rounding=ROUND_HALF_UP)


def self_pay(stay: Stay) -> Decimal:
    return stay.charge_total - insured_share(stay.charge_total, stay.reimbursement_ratio)


def present(stay: Stay, threshold: Decimal) -> StayOut:
    """The stay with its figures: what the patient owes of the charges and what is left of the deposits."""
    out = StayOut.model_validate(stay)
    owed = self_pay(stay)
    balance = stay.deposit_total - owed
    return out.model_copy(
        update={
            "self_pay": owed,
            "balance": balance,
            "low_balance": stay.state == StayState.admitted and balance < threshold,
        }
    )

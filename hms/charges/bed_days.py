"""Bed-day charges (床位费) accrue by themselves (docs/inpatient.md, "Bed-days").

Every caller holds the stay's row lock (a transfer, a settlement, the periodic round), so two
accruals of one stay run one after the other and the second finds the days charged. The unique
`(stay_id, service_date)` has the last word all the same: a day found taken on insert is skipped,
and the stay's sum moves by only the days actually inserted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hms.charges.models import BED_CATEGORY, Charge, ChargeKind, ChargeState
from hms.charges.service import charged
from hms.settings import BedDayRule, HmsSettings
from hms.stays import account
from hms.stays.models import Stay, StayState
from hms.wards.models import Bed
from shared.clock import local_date, local_today, utcnow
from shared.db import Database
from shared.tasks import stop_tasks

log = logging.getLogger(__name__)

BED_CODE = "BED"
SYSTEM = "system"


def due_days(admitted_on: date, today: date, rule: BedDayRule, discharge: bool) -> list[date]:
    """The days a stay admitted on `admitted_on` owes by `today`: each night so far (the admission
    day up to yesterday); at discharge, today too under 算入又算出, or when there was no night at
    all (a stay is at least one day)."""
    days = [admitted_on + timedelta(days=n) for n in range(max(0, (today - admitted_on).days))]
    if discharge and today >= admitted_on and (rule == BedDayRule.in_and_out or not days):
        days.append(today)
    return days


def owed_days(stay: Stay, today: date, rule: BedDayRule, timezone: str, discharge: bool) -> list[date]:
    """`due_days` of the stay, less the nights it was away: after a settlement's reversal nothing
    before the day of the reversal is owed (what was owed before was charged by the settlement)."""
    due = due_days(local_date(stay.admitted_at, timezone), today, rule, discharge)
    if stay.bed_days_from is None:
        return due
    return [day for day in due if day >= stay.bed_days_from]


async def accrue(
    session: AsyncSession,
    stay: Stay,
    today: date,
    rule: BedDayRule,
    *,
    timezone: str,
    discharge: bool = False,
) -> int:
    """Charges `stay` (locked by the caller) every bed-day due by `today` not yet charged, at the
    price of the bed it holds; `discharge`: today is the discharge day (the rule decides whether it
    counts; a stay's first day always does). Answers how many days it charged."""
    due = owed_days(stay, today, rule, timezone, discharge)
    if not due:
        return 0
    known = await session.execute(
        select(Charge.service_date).where(Charge.stay_id == stay.id, Charge.service_date >= due[0])  # type: ignore[arg-type, operator]
    )
    charged_days = set(known.scalars())
    todo = [day for day in due if day not in charged_days]
    if not todo:
        return 0
    bed = await session.get(Bed, stay.bed_id)
    if bed is None:
        raise RuntimeError(f"stay {stay.id} holds bed {stay.bed_id}, which does not exist")
    inserted: list[Charge] = []
    for day in todo:
        row = Charge(
            stay_id=stay.id, kind=ChargeKind.bed_day, category=BED_CATEGORY, item_id=bed.id, code=BED_CODE,  # type: ignore[arg-type]
            name=f"床位费（{bed.number}床）", spec=stay.ward_name, unit="天", unit_price=bed.daily_price,
            quantity=1, amount=bed.daily_price, state=ChargeState.booked, service_date=day, created_by=SYSTEM,
            created_at=utcnow(),
        )  # fmt: skip
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            continue  # another accrual charged the day in between
        inserted.append(row)
    if not inserted:
        return 0
    # After the rows, unlike a booking: only the caller's lock on the stay keeps a settlement out,
    # and only the rows that went in know what to add.
    await account.post(session, stay.id, charges=sum((r.amount for r in inserted), Decimal("0.00")))  # type: ignore[arg-type]
    await session.refresh(stay, ["charge_total", "updated_at"])
    for row in inserted:
        await charged(session, stay, row)
    return len(inserted)


async def accrue_all(db: Database, today: date, rule: BedDayRule, timezone: str) -> int:
    """One round: every admitted stay charged its days by `today`, each in its own transaction
    (one stay's failure stops none of the others). Answers how many days it charged."""
    async with db.transaction() as session:
        ids = list((await session.execute(select(Stay.id).where(Stay.state == StayState.admitted))).scalars())  # type: ignore[arg-type]
    total = 0
    for stay_id in ids:
        try:
            async with db.transaction() as session:
                stay = await account.locked(session, stay_id)  # type: ignore[arg-type]
                if stay.state == StayState.admitted:
                    total += await accrue(session, stay, today, rule, timezone=timezone)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The stay's id only: no patient in the log.
            log.error("bed-day accrual failed for stay %s: %s", stay_id, type(exc).__name__)
    return total


def bed_day_part(settings: HmsSettings, today: Callable[[], date] | None = None) -> Any:
    """A lifespan part: every `bed_day_interval_seconds` (and once at start, catching up after a
    stop) each admitted stay is charged its days; `today`: the hospital's day (tests pass their own)."""
    clock = today or (lambda: local_today(settings.timezone))

    async def run(db: Database) -> None:
        while True:
            try:
                await accrue_all(db, clock(), settings.bed_day_rule, settings.timezone)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("bed-day accrual round failed: %s", type(exc).__name__)
            await asyncio.sleep(settings.bed_day_interval_seconds)

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app.state.db), name="bed-days")
        try:
            yield
        finally:
            await stop_tasks(task)

    return part

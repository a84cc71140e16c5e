"""Demo wards and beds: one ward for each inpatient department of dbs's demo (内科病区 → 内科一病区),
with ordinary beds and a few two-bed rooms at a higher price, so a newcomer can admit a patient at
once.

The departments come from dbs, so they are loaded in the background once dbs (and the gateway,
which issues hms's token) answer; a start never waits for them.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hms import remote
from hms.wards.models import Bed, BedState, Ward
from hms.wards.service import publish_beds
from shared.app import DEMO_WAIT_SECONDS, LifespanPart, demo_in_background_part, demo_when_answered
from shared.clock import utcnow
from shared.settings import ServiceSettings

# (number, daily price) of each demo ward's beds: 1–8 ordinary, 9–10 a two-bed room.
BEDS = [*((str(n), Decimal("40.00")) for n in range(1, 9)), ("9", Decimal("80.00")), ("10", Decimal("80.00"))]


async def fetch(app: FastAPI) -> list[remote.Department]:
    departments = await remote.inpatient_departments(app.state.services)
    if not departments:
        raise LookupError("dbs has no inpatient departments yet")
    return departments


async def load(session: AsyncSession, departments: list[remote.Department]) -> bool:
    """Wards and beds for an empty inpatient service; False (and nothing written) otherwise."""
    if (await session.execute(select(func.count()).select_from(Ward))).scalar_one():
        return False
    now = utcnow()
    for n, department in enumerate(departments, start=1):
        ward = Ward(
            # 内科病区 (the department) → 内科一病区 (its first ward), as the board names them apart.
            code=f"BQ{n:02d}", name=f"{department.name.removesuffix('病区')}一病区", department_id=department.id,
            department_name=department.name,
            location=None, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(ward)
        await session.flush()
        beds = [
            Bed(ward_id=ward.id, number=number, daily_price=price, state=BedState.free, created_at=now, updated_at=now)  # type: ignore[arg-type]
            for number, price in BEDS
        ]
        session.add_all(beds)
        await session.flush()
        # As any bed added: statistics count the department's beds from the feed.
        await publish_beds(session, ward, beds, "added")
    return True


async def load_when_dbs_answers(app: FastAPI, wait_seconds: float = DEMO_WAIT_SECONDS) -> bool:
    return await demo_when_answered(app.state.db, "demo wards", lambda: fetch(app), load, wait_seconds)


def demo_wards_part(settings: ServiceSettings) -> LifespanPart:
    """Loads the wards in the background when `demo_data` is on."""
    return demo_in_background_part(settings, load_when_dbs_answers)

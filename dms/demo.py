"""Demo roster: the demo doctors of dbs (D001–D012), mornings and afternoons of this week and
the next, 20 places each, each with the doctor's own registration type.

Doctors come from dbs, so the roster is loaded in the background once dbs (and the gateway,
which issues dms's token) answer; a start never waits for them, and gives up after a while.
"""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dms.calendar import AFTERNOON, MORNING, monday_of
from dms.db import audit_log
from dms.masterdata import Doctor, MasterData
from dms.schedules.models import Schedule, ScheduleStatus
from dms.schedules.service import ENTITY, row_dict
from shared import audit
from shared.app import DEMO_WAIT_SECONDS, LifespanPart, demo_in_background_part, demo_when_answered
from shared.clock import local_today, utcnow
from shared.settings import ServiceSettings

DEMO_DOCTORS = tuple(f"D{n:03d}" for n in range(1, 13))
DEMO_QUOTA = 20
DAYS = 14  # this week and the next, from Monday


async def load(session: AsyncSession, doctors: list[Doctor], first_monday: dt.date) -> bool:
    """Adds the roster to an empty dms; False (and nothing written) when it already has schedules."""
    if (await session.execute(select(func.count()).select_from(Schedule))).scalar_one():
        return False
    roster = sorted((d for d in doctors if d.code in DEMO_DOCTORS), key=lambda d: d.code)
    now = utcnow()
    for doctor in roster:
        for offset in range(DAYS):
            for shift in (MORNING, AFTERNOON):
                schedule = Schedule(
                    doctor_id=doctor.id,
                    doctor_name=doctor.name,
                    department_id=doctor.department_id,
                    department_name=doctor.department_name,
                    date=first_monday + dt.timedelta(days=offset),
                    shift=shift,
                    registration_type_id=doctor.registration_type_id,
                    registration_type_name=doctor.registration_type_name,
                    quota=DEMO_QUOTA,
                    status=ScheduleStatus.open,
                    created_at=now,
                    updated_at=now,
                )
                session.add(schedule)
                await session.flush()
                await audit.record(
                    session, audit_log, action="create", entity=ENTITY, entity_id=schedule.id, after=row_dict(schedule)
                )
    return bool(roster)


async def load_when_dbs_answers(
    app: FastAPI, settings: ServiceSettings, wait_seconds: float = DEMO_WAIT_SECONDS
) -> bool:
    masters = MasterData(app.state.services)

    async def roster(session: AsyncSession, doctors: list[Doctor]) -> bool:
        return await load(session, doctors, monday_of(local_today(settings.timezone)))

    return await demo_when_answered(app.state.db, "demo roster", masters.doctors, roster, wait_seconds)


def demo_roster_part(settings: ServiceSettings) -> LifespanPart:
    """Loads the roster in the background when `demo_data` is on."""
    return demo_in_background_part(settings, lambda app: load_when_dbs_answers(app, settings))

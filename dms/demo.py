"""Demo roster: the demo doctors of dbs (D001–D012), mornings and afternoons of this week and
the next, 20 places each, each with the doctor's own registration type.

Doctors come from dbs, so the roster is loaded in the background once dbs (and the gateway,
which issues dms's token) answer; a start never waits for them, and gives up after a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dms.calendar import AFTERNOON, MORNING, monday_of
from dms.db import audit_log
from dms.masterdata import Doctor, MasterData
from dms.schedules.models import Schedule, ScheduleStatus
from dms.schedules.service import ENTITY, row_dict
from shared import audit
from shared.app import LifespanPart
from shared.clock import local_today, utcnow
from shared.settings import ServiceSettings

log = logging.getLogger("hamp.dms.demo")

DEMO_DOCTORS = tuple(f"D{n:03d}" for n in range(1, 13))
DEMO_QUOTA = 20
DAYS = 14  # this week and the next, from Monday
WAIT_SECONDS = 120.0
RETRY_SECONDS = 2.0


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


async def load_when_dbs_answers(app: FastAPI, settings: ServiceSettings, wait_seconds: float = WAIT_SECONDS) -> bool:
    masters = MasterData(app.state.services)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    warned = False
    while True:
        try:
            doctors = await masters.doctors()
            break
        # Whatever keeps dbs or the gateway from answering now: try again until the deadline.
        except Exception as exc:
            if not warned:
                log.warning("demo roster waits for dbs: %s", exc)
                warned = True
            if asyncio.get_running_loop().time() >= deadline:
                log.warning("demo roster skipped: dbs did not answer in %.0f s", wait_seconds)
                return False
            await asyncio.sleep(RETRY_SECONDS)
    async with app.state.db.transaction() as session:
        added = await load(session, doctors, monday_of(local_today(settings.timezone)))
    if added:
        log.info("demo roster loaded")
    return added


def demo_roster_part(settings: ServiceSettings) -> LifespanPart:
    """Starts the background load when `demo_data` is on; cancels it at shutdown."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(load_when_dbs_answers(app, settings)) if settings.demo_data else None
        app.state.demo_roster = task
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return part

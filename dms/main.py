from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from dms import demo
from dms.api import routers
from dms.masterdata import Copies
from dms.settings import DmsSettings
from shared.app import LifespanPart, create_service_app, load_demo_data_with_services

settings_class = DmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def master_copies_part(settings: DmsSettings) -> LifespanPart:
    """`app.state.master_copies`: the recent answers of dbs that bookings read (dms/masterdata.py)."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        app.state.master_copies = Copies(settings.masterdata_ttl_seconds)
        yield

    return part


def create_app(settings: DmsSettings | None = None) -> FastAPI:
    settings = settings or DmsSettings()
    return create_service_app(
        settings,
        title="HAMP 排班 (dms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        extra_parts=[master_copies_part(settings)],
        # dms asks dbs for doctors and registration types.
        # The demo roster needs dbs, so it waits for the service client (and loads in the background).
        after_registry=[demo.demo_roster_part(settings)],
    )


async def load_demo_data(settings: DmsSettings) -> bool:
    """`hamp demo-data`: the roster, once dbs answers."""
    return await load_demo_data_with_services(
        settings, MIGRATIONS, lambda app: demo.load_when_dbs_answers(app, settings, wait_seconds=10.0)
    )

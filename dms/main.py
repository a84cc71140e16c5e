from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from dms import demo
from dms.api import routers
from dms.masterdata import Copies
from dms.settings import DmsSettings
from shared.app import LifespanPart, create_service_app, service_client_part
from shared.db import Database
from shared.migrations import upgrade

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
    """`hamp demo-data`: dbs is found through `service_urls` (no registry from the command line)."""
    upgrade(settings, MIGRATIONS)
    app = FastAPI()
    app.state.registry = None
    app.state.db = Database.from_settings(settings)
    try:
        async with service_client_part(settings)(app):
            return await demo.load_when_dbs_answers(app, settings, wait_seconds=10.0)
    finally:
        await app.state.db.dispose()

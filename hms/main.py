from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from hms import demo
from hms.api import routers
from hms.charges.bed_days import bed_day_part
from hms.db import outbox
from hms.settings import HmsSettings
from shared.app import LifespanPart, create_service_app, load_demo_data_with_services
from shared.outbox import outbox_part
from shared.storage import object_store

settings_class = HmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def _storage_part(settings: HmsSettings) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        # Examination reports (检查报告) uploaded to a stay's items.
        app.state.store = object_store(settings.storage_url, settings.var_dir, "hms")
        yield

    return part


def create_app(settings: HmsSettings | None = None) -> FastAPI:
    settings = settings or HmsSettings()
    return create_service_app(
        settings,
        title="HAMP 住院 (hms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        extra_parts=[_storage_part(settings)],
        # Drug orders go to pms and admissions are reported to oms, both found through the registry.
        after_registry=[outbox_part(outbox), bed_day_part(settings), demo.demo_wards_part(settings)],
    )


async def load_demo_data(settings: HmsSettings) -> bool:
    """`hamp demo-data`: the demo wards and beds, once dbs answers."""
    return await load_demo_data_with_services(
        settings, MIGRATIONS, lambda app: demo.load_when_dbs_answers(app, wait_seconds=10.0)
    )

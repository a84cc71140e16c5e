from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from oms import demo
from oms.api import routers
from oms.db import outbox
from oms.settings import OmsSettings
from shared.app import LifespanPart, create_service_app, demo_data_part, load_demo_data_now
from shared.outbox import outbox_part
from shared.storage import object_store

settings_class = OmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def _storage_part(settings: OmsSettings) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = object_store(settings.storage_url, settings.var_dir, "oms")
        yield

    return part


def create_app(settings: OmsSettings | None = None) -> FastAPI:
    settings = settings or OmsSettings()
    return create_service_app(
        settings,
        title="HAMP 门诊 (oms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        extra_parts=[_storage_part(settings), demo_data_part(settings, demo.load)],
        after_registry=[outbox_part(outbox)],
    )


async def load_demo_data(settings: OmsSettings) -> bool:
    return await load_demo_data_now(settings, MIGRATIONS, demo.load)

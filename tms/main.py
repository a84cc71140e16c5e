from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from shared.app import create_service_app
from tms.api import routers
from tms.facts import HANDLERS
from tms.ingest.poller import ingestion_part
from tms.reports.lookup import Names
from tms.settings import TmsSettings

settings_class = TmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


@asynccontextmanager
async def _names(app: FastAPI) -> AsyncIterator[None]:
    app.state.names = Names()
    yield


def create_app(settings: TmsSettings | None = None) -> FastAPI:
    settings = settings or TmsSettings()
    return create_service_app(
        settings,
        title="HAMP 统计 (tms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        extra_parts=[_names],
        # The feeds are read from oms, hms, pms and sms, found through the registry.
        after_registry=[ingestion_part(settings, HANDLERS)],
    )

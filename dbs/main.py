from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dbs import demo
from dbs.api import routers
from dbs.settings import DbsSettings
from shared.app import create_service_app, demo_data_part, load_demo_data_now

settings_class = DbsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: DbsSettings | None = None) -> FastAPI:
    settings = settings or DbsSettings()
    return create_service_app(
        settings,
        title="HAMP 数据中心 (dbs)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        extra_parts=[demo_data_part(settings, demo.load)],
    )


async def load_demo_data(settings: DbsSettings) -> bool:
    return await load_demo_data_now(settings, MIGRATIONS, demo.load)

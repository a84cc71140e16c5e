from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from pms.api import routers
from pms.db import outbox
from pms.settings import PmsSettings
from shared.app import create_service_app
from shared.outbox import outbox_part

settings_class = PmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PmsSettings | None = None) -> FastAPI:
    settings = settings or PmsSettings()
    return create_service_app(
        settings,
        title="HAMP 药房 (pms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        # pms calls oms (the dispensed report), found through the registry.
        after_registry=[outbox_part(outbox)],
    )

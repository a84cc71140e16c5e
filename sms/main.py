from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.app import create_service_app, load_demo_data_with_services
from shared.outbox import outbox_part
from sms import demo
from sms.api import routers
from sms.db import outbox
from sms.settings import SmsSettings

settings_class = SmsSettings
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SmsSettings | None = None) -> FastAPI:
    settings = settings or SmsSettings()
    return create_service_app(
        settings,
        title="HAMP 仓库 (sms)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        # sms asks dbs for drugs, suppliers, warehouses and handlers, and sends outbound orders to
        # pms, found through the registry; the demo stock needs dbs's drugs, so it waits for them.
        after_registry=[outbox_part(outbox), demo.demo_stock_part(settings)],
    )


async def load_demo_data(settings: SmsSettings) -> bool:
    """`hamp demo-data`: the demo stock, once dbs answers (the pharmacy's share waits in the outbox
    until sms runs)."""
    return await load_demo_data_with_services(
        settings, MIGRATIONS, lambda app: demo.load_when_dbs_answers(app, settings, wait_seconds=10.0)
    )

"""Typed access to what a service's lifespan set up (async accessors: FastAPI runs a plain `def`
dependency in a worker thread).

Routers and dependencies ask for these annotated types; none reads `request.app.state` itself,
so a missing or misnamed part is one place to look, and the type checker sees what each
handler gets. The lifespan parts in shared/app.py (and a service's own) store them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from shared.clock import local_today
from shared.db import Database, get_database
from shared.outbox import OutboxRelay
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings
from shared.storage import ObjectStore


async def database_of(request: Request) -> Database:
    return get_database(request)


async def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def timezone_of(settings: Annotated[ServiceSettings, Depends(settings_of)]) -> str:
    return settings.timezone


async def today_of(timezone: Annotated[str, Depends(timezone_of)]) -> date:
    """Today at the hospital, read once per request so one request never straddles midnight."""
    return local_today(timezone)


async def services_of(request: Request) -> ServiceClient:
    services: ServiceClient = request.app.state.services
    return services


async def outbox_of(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.outbox
    return relay


async def store_of(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


Db = Annotated[Database, Depends(database_of)]
Settings = Annotated[ServiceSettings, Depends(settings_of)]
Timezone = Annotated[str, Depends(timezone_of)]
HospitalToday = Annotated[date, Depends(today_of)]
Services = Annotated[ServiceClient, Depends(services_of)]
Outbox = Annotated[OutboxRelay, Depends(outbox_of)]
Store = Annotated[ObjectStore, Depends(store_of)]

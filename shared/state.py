"""Typed access to what a service's lifespan set up.

Routers and dependencies ask for these annotated types; none reads `request.app.state` itself,
so a missing or misnamed part is one place to look, and the type checker sees what each
handler gets. The lifespan parts in shared/app.py (and a service's own) store them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from shared.outbox import OutboxRelay
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings
from shared.storage import ObjectStore
from shared.types import local_today


def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def timezone_of(request: Request) -> str:
    return settings_of(request).timezone


def today_of(request: Request) -> date:
    """Today at the hospital, read once per request so one request never straddles midnight."""
    return local_today(timezone_of(request))


def services_of(request: Request) -> ServiceClient:
    services: ServiceClient = request.app.state.services
    return services


def outbox_of(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.outbox
    return relay


def store_of(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


Settings = Annotated[ServiceSettings, Depends(settings_of)]
Timezone = Annotated[str, Depends(timezone_of)]
HospitalToday = Annotated[date, Depends(today_of)]
Services = Annotated[ServiceClient, Depends(services_of)]
Outbox = Annotated[OutboxRelay, Depends(outbox_of)]
Store = Annotated[ObjectStore, Depends(store_of)]

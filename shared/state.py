"""Typed access to what a service's lifespan set up (async accessors: FastAPI runs a plain `def`
dependency in a worker thread).

Routers and dependencies ask for these annotated types; none reads `request.app.state` itself,
so a missing or misnamed part is one place to look, and the type checker sees what each
handler gets. The lifespan parts in shared/app.py (and a service's own) store them.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request

from shared.clock import local_today
from shared.db import Database
from shared.outbox import OutboxRelay
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings
from shared.storage import ObjectStore


@cache
def lifespan_value(name: str) -> Any:
    """A dependency answering `app.state.<name>`, which a lifespan part stored; the `Annotated`
    type beside it says what it is. One callable per name, so FastAPI computes it once per request."""

    async def value(request: Request) -> Any:
        return getattr(request.app.state, name)

    value.__name__ = f"state_{name}"
    return Depends(value)


Db = Annotated[Database, lifespan_value("db")]
Settings = Annotated[ServiceSettings, lifespan_value("settings")]


async def timezone_of(settings: Settings) -> str:
    return settings.timezone


async def today_of(timezone: Annotated[str, Depends(timezone_of)]) -> date:
    """Today at the hospital, read once per request so one request never straddles midnight."""
    return local_today(timezone)


Timezone = Annotated[str, Depends(timezone_of)]
HospitalToday = Annotated[date, Depends(today_of)]
Services = Annotated[ServiceClient, lifespan_value("services")]
Outbox = Annotated[OutboxRelay, lifespan_value("outbox")]
Store = Annotated[ObjectStore, lifespan_value("store")]

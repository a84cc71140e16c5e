"""Typed access to what the gateway's lifespan set up (gateway/main.py).

Routers and middleware ask for these annotated types; none reads `request.app.state` itself,
so a missing or misnamed part is one place to look, and the type checker sees what each
handler gets. shared/state.py does the same for what every service has.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from gateway.auth.keys import SigningKey
from gateway.auth.ratelimit import RateLimits
from gateway.auth.service import AuthContext
from gateway.proxy.routes import RouteTable
from gateway.proxy.upstreams import Upstream
from gateway.settings import GatewaySettings
from gateway.system.modules import MODULES
from shared.db import Database
from shared.service_client import ServiceClient
from shared.state import lifespan_value


def gateway_settings(app: Starlette) -> GatewaySettings:
    """For middleware, which has the app but no request."""
    settings: GatewaySettings = app.state.settings
    return settings


def gateway_database(app: Starlette) -> Database:
    database: Database = app.state.db
    return database


async def _running_modules(request: Request) -> list[str]:
    """The modules with a live instance in the registry, in menu order."""
    registry = request.app.state.registry
    return [m for m in MODULES if registry and registry.instances(m.upper())]


Settings = Annotated[GatewaySettings, lifespan_value("settings")]
Auth = Annotated[AuthContext, lifespan_value("auth")]
Limits = Annotated[RateLimits, lifespan_value("rate_limits")]
Key = Annotated[SigningKey, lifespan_value("signing_key")]
# The gateway's one client for the services: the proxy and its own calls (logs, outboxes).
Services = Annotated[ServiceClient, lifespan_value("services")]
Routes = Annotated[RouteTable, lifespan_value("routes")]
# Where each `/api/<prefix>/` goes: the seven modules and the configured external apps.
Upstreams = Annotated[dict[str, Upstream], lifespan_value("upstreams")]
# How many exports may run at once (gateway/main.py): each walks a whole list.
ExportSlots = Annotated[asyncio.Semaphore, lifespan_value("export_slots")]
RunningModules = Annotated[list[str], Depends(_running_modules)]

"""Typed access to what the gateway's lifespan set up (gateway/main.py).

Routers and middleware ask for these annotated types; none reads `request.app.state` itself,
so a missing or misnamed part is one place to look, and the type checker sees what each
handler gets. shared/state.py does the same for what every service has.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from gateway.auth.keys import SigningKey
from gateway.auth.ratelimit import RateLimits
from gateway.auth.service import AuthContext
from gateway.proxy.routes import RouteTable
from gateway.settings import GatewaySettings
from gateway.system.modules import MODULES
from shared.db import Database
from shared.service_client import ServiceClient


def gateway_settings(app: Starlette) -> GatewaySettings:
    """For middleware, which has the app but no request."""
    settings: GatewaySettings = app.state.settings
    return settings


def gateway_database(app: Starlette) -> Database:
    database: Database = app.state.db
    return database


# Async, each of them: FastAPI runs a plain `def` dependency in a worker thread, a hand-off
# that costs more than the lookup.
async def _settings(request: Request) -> GatewaySettings:
    return gateway_settings(request.app)


async def _auth_context(request: Request) -> AuthContext:
    context: AuthContext = request.app.state.auth
    return context


async def _rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def _signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


async def _services(request: Request) -> ServiceClient:
    services: ServiceClient = request.app.state.services
    return services


async def _routes(request: Request) -> RouteTable:
    routes: RouteTable = request.app.state.routes
    return routes


async def _running_modules(request: Request) -> list[str]:
    """The modules with a live instance in the registry, in menu order."""
    registry = request.app.state.registry
    return [m for m in MODULES if registry and registry.instances(m.upper())]


Settings = Annotated[GatewaySettings, Depends(_settings)]
Auth = Annotated[AuthContext, Depends(_auth_context)]
Limits = Annotated[RateLimits, Depends(_rate_limits)]
Key = Annotated[SigningKey, Depends(_signing_key)]
# The gateway's one client for the services: the proxy and its own calls (logs, outboxes).
Services = Annotated[ServiceClient, Depends(_services)]
Routes = Annotated[RouteTable, Depends(_routes)]
RunningModules = Annotated[list[str], Depends(_running_modules)]

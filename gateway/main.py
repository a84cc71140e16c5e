from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from gateway.api import routers
from gateway.auth.activity import SessionActivity
from gateway.auth.keys import load_signing_key
from gateway.auth.ratelimit import RateLimits
from gateway.auth.service import AuthContext, ensure_superadmin
from gateway.auth.service_grants import SERVICE_GRANTS
from gateway.auth.tokens import issue_service_token
from gateway.proxy.routes import RouteTable
from gateway.proxy.upstreams import upstreams
from gateway.security import GatewaySecurityMiddleware
from gateway.settings import GatewaySettings
from gateway.system.notifications.poller import notifications_part
from gateway.system.roles.builtin import ensure_builtin_roles
from shared.app import LifespanPart, create_service_app
from shared.auth import KeySet, TokenVerifier
from shared.balancer import Balancer, FixedOrRegistry
from shared.db import Database
from shared.kvstore import kv_store
from shared.revocation import Revocations
from shared.service_auth import ServiceTokens
from shared.service_client import ServiceClient

settings_class = GatewaySettings
MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger("hamp.gateway")


def _auth_part(settings: GatewaySettings) -> LifespanPart:
    """The gateway's verifier, built once here: its own public key (no JWKS round trip), and
    after each signature the revocations and the per-user API rate limit."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        key = await asyncio.to_thread(load_signing_key, settings)
        store = kv_store(settings)
        revocations = Revocations(store, settings.access_token_minutes * 60)
        rate_limits = RateLimits(store, settings)
        verifier = TokenVerifier(KeySet(jwks_document=key.jwks()), settings.jwt_issuer, settings.jwt_audience)
        verifier.checks += [revocations.check, rate_limits.api]
        app.state.verifier = verifier
        app.state.signing_key = key
        app.state.auth = AuthContext(key, settings, store, revocations)
        app.state.rate_limits = rate_limits
        app.state.ready_checks.append(("key-value store", store.ping))
        generated = await _bootstrap(app.state.db, settings)
        if generated:
            # Printed once, on the first start; never stored in clear anywhere.
            print(f"HAMP superadmin created: user {settings.superadmin_username!r} password {generated!r}", flush=True)
        try:
            yield
        finally:
            await store.aclose()

    return part


async def _bootstrap(db: Database, settings: GatewaySettings) -> str | None:
    """The superadmin and the built-in roles, when missing. Replicas started together on one empty
    database (a first `helm install`) all find them missing: the unique keys let one insert them, and
    the others, refused, look again and find them made."""
    for attempt in range(3):
        try:
            async with db.transaction() as session:
                generated = await ensure_superadmin(session, settings)
                await ensure_builtin_roles(session)
            return generated
        except IntegrityError:
            if attempt == 2:
                raise
    return None


def _services_part(settings: GatewaySettings) -> LifespanPart:
    """The gateway's one client for the services: the proxy (`forward`), the route table and its
    own calls (logs, outboxes) share its pool of connections and its breakers. Its own identity
    (the notifications' polls) is a service token it signs itself, with SERVICE_GRANTS["gateway"]."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        balancer = Balancer(
            FixedOrRegistry(settings.service_urls, app.state.registry),
            settings.breaker_failures,
            settings.breaker_open_seconds,
        )

        async def own_token() -> tuple[str, int]:
            lifetime = settings.access_token_minutes * 60
            token = issue_service_token(
                app.state.signing_key,
                service_name="gateway",
                permissions=list(SERVICE_GRANTS["gateway"]),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                lifetime_seconds=lifetime,
            )
            return token, lifetime

        services = ServiceClient(
            balancer, settings.http_timeout_seconds, tokens=ServiceTokens(own_token), connections=500
        )
        app.state.services = services
        app.state.routes = RouteTable(services, app.state.upstreams)
        try:
            yield
        finally:
            await services.aclose()

    return part


def _export_slots_part(settings: GatewaySettings) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        app.state.export_slots = asyncio.Semaphore(settings.exports_at_once)
        yield

    return part


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    app = create_service_app(
        settings,
        title="HAMP 网关 (gateway)",
        routers=routers,
        migrations_dir=MIGRATIONS,
        auth=_auth_part(settings),
        services=_services_part(settings),
        own_revocations=True,
        extra_parts=[_export_slots_part(settings)],
        after_registry=[notifications_part(settings)],
    )
    app.state.upstreams = upstreams(settings.external_apps)
    app.add_middleware(SessionActivity)
    app.add_middleware(GatewaySecurityMiddleware, settings=settings)
    return app


async def reset_password(settings: GatewaySettings, username: str) -> str:
    from gateway.auth.service import reset_password as reset
    from shared.db import Database
    from shared.migrations import upgrade

    upgrade(settings, MIGRATIONS)
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            return await reset(session, username, settings)
    finally:
        await db.dispose()

"""The app factory every process uses. Nothing happens at import time: work starts in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import KeySet, TokenVerifier
from shared.db import Database
from shared.errors import Unavailable, install_error_handlers
from shared.i18n import Text
from shared.logging import configure_logging
from shared.middleware import RequestContextMiddleware
from shared.migrations import upgrade
from shared.settings import HampSettings, ServiceSettings

log = logging.getLogger("hamp.app")

# A part of the lifespan: set up on entry (storing what it makes on app.state), undo on exit.
LifespanPart = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: HampSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    parts: Sequence[LifespanPart] = (),
    api_prefix: str | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's middleware, errors, health, metrics and lifespan parts."""
    prefix = api_prefix if api_prefix is not None else f"/api/{settings.component}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        async with AsyncExitStack() as stack:
            for part in parts:
                await stack.enter_async_context(part(app))
            log.info("%s ready on %s:%s", settings.component, settings.host, settings.port)
            yield
        log.info("%s stopped", settings.component)

    app = FastAPI(
        title=title,
        lifespan=lifespan,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready_checks = []
    app.add_middleware(RequestContextMiddleware, component=settings.component)
    install_error_handlers(app)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "UP"}

    @router.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        checks = {name: await check() for name, check in request.app.state.ready_checks}
        up = all(checks.values())
        return JSONResponse(
            {
                "status": "UP" if up else "DOWN",
                "checks": {k: "UP" if v else "DOWN" for k, v in checks.items()},
            },
            status_code=200 if up else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def database_part(settings: ServiceSettings, migrations_dir: Path | None) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        if migrations_dir is not None and settings.migrate_on_start:
            await asyncio.to_thread(upgrade, settings, migrations_dir)
        db = Database.from_settings(settings)
        app.state.db = db
        app.state.ready_checks.append(("database", db.ping))
        try:
            yield
        finally:
            await db.dispose()

    return part


def demo_data_part(settings: ServiceSettings, loader: Callable[[AsyncSession], Awaitable[bool]]) -> LifespanPart:
    """Loads the service's demo data at start when `demo_data` is on and the service is empty."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        if settings.demo_data:
            async with app.state.db.transaction() as session:
                if await loader(session):
                    log.info("demo data loaded")
        yield

    return part


async def load_demo_data_now(
    settings: ServiceSettings, migrations_dir: Path, loader: Callable[[AsyncSession], Awaitable[bool]]
) -> bool:
    """`hamp demo-data` for a service whose demo data needs nothing but its own database."""
    await asyncio.to_thread(upgrade, settings, migrations_dir)
    db = Database.from_settings(settings)
    try:
        async with db.transaction() as session:
            return await loader(session)
    finally:
        await db.dispose()


def auth_part(settings: ServiceSettings) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        keys = getattr(app.state, "keyset", None) or KeySet(settings.jwks_url, settings.jwks or None)
        app.state.verifier = TokenVerifier(keys, settings.jwt_issuer, settings.jwt_audience)
        yield

    return part


def registry_part(settings: ServiceSettings, *, discover: bool = False) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        if not settings.registry_url_list:
            app.state.registry = None
            yield
            return
        from shared.registry_client import RegistryClient

        client = RegistryClient(settings, discover=discover)
        app.state.registry = client
        await client.start()
        try:
            yield
        finally:
            await client.stop()

    return part


def service_client_part(settings: ServiceSettings) -> LifespanPart:
    """`app.state.services`: calls to other services by app name, as the caller or as this service."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        from shared.balancer import Balancer, FixedOrRegistry
        from shared.service_auth import ServiceTokens, service_secret
        from shared.service_client import ServiceClient

        async def fetch() -> tuple[str, int]:
            answer = await client.request(
                "GATEWAY",
                "POST",
                "/api/auth/service-token",
                json={"service": settings.component, "secret": service_secret(settings)},
                identity="none",
            )
            if answer.status_code != 200:
                raise Unavailable(
                    Text("网关未签发服务令牌", "The gateway gave no service token"), code="service_token_refused"
                )
            body = answer.json()
            return body["access_token"], int(body["expires_in"])

        balancer = Balancer(FixedOrRegistry(settings.service_urls, app.state.registry))
        client = ServiceClient(balancer, settings.http_timeout_seconds, tokens=ServiceTokens(fetch))
        app.state.services = client
        try:
            yield
        finally:
            await client.aclose()

    return part


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    migrations_dir: Path | None,
    extra_parts: Sequence[LifespanPart] = (),
    discover: bool = False,
    after_registry: Sequence[LifespanPart] = (),
) -> FastAPI:
    """A domain service: database (migrated), token verification, its own parts, registration,
    then parts that need the registry client (`after_registry`)."""
    parts: list[LifespanPart] = [
        database_part(settings, migrations_dir),
        auth_part(settings),
        *extra_parts,
        registry_part(settings, discover=discover),
        service_client_part(settings),
        *after_registry,
    ]
    return create_app(settings, title=title, routers=routers, parts=parts)

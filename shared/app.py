"""The app factory every process uses. Nothing happens at import time: work starts in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api_docs import install_docs
from shared.auth import KeySet, TokenVerifier
from shared.db import Database
from shared.errors import Unavailable, install_error_handlers, problem_response
from shared.i18n import Text
from shared.kvstore import KeyValueUnavailable, MemoryStore
from shared.logging import configure_logging
from shared.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from shared.migrations import upgrade
from shared.settings import HampSettings, ServiceSettings
from shared.tasks import stop_tasks
from shared.var_files import private_umask, tighten

if TYPE_CHECKING:
    from shared.service_client import ServiceClient

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
        # Before the first log file or database is written: var/ is private (shared/var_files.py).
        private_umask()
        configure_logging(settings)
        tighten(settings.var_dir)
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
        # Our own Swagger UI page (shared/api_docs.py): FastAPI's loads its files from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready_checks = []
    # Reported in /health/ready without failing it: (name, async () -> detail, or None when fine).
    app.state.ready_warnings = []
    # Gauges brought up to date when /metrics is scraped (counts the database answers cheaply).
    app.state.metric_updates = []
    app.add_middleware(RequestContextMiddleware, component=settings.component)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    install_docs(app, prefix, title)
    app.include_router(_health_router())
    for router in routers:
        app.include_router(router)
    return app


async def ready_checks(app: FastAPI) -> dict[str, bool]:
    """What /health/ready reports, by check: the database answers, tokens can be checked, …"""
    return {name: await check() for name, check in app.state.ready_checks}


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "UP"}

    @router.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        checks = await ready_checks(request.app)
        up = all(checks.values())
        states = {k: "UP" if v else "DOWN" for k, v in checks.items()}
        warnings = {}
        for name, warning in request.app.state.ready_warnings:
            if (detail := await warning()) is not None:
                warnings[name] = detail
            states[name] = "UP" if detail is None else "WARN"
        return JSONResponse(
            {"status": "UP" if up else "DOWN", "checks": states, **({"warnings": warnings} if warnings else {})},
            status_code=200 if up else 503,
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        for update in request.app.state.metric_updates:
            await update()
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
        await _seal_audit_chains(db)
        try:
            yield
        finally:
            await db.dispose()

    return part


async def _seal_audit_chains(db: Database) -> None:
    """Rows written before the audit chain existed (an older install) are chained at the first start."""
    from shared.audit_chain import seal_all

    try:
        async with db.transaction() as session:
            await session.run_sync(lambda sync: seal_all(sync.connection()))
    except (OSError, DBAPIError) as exc:
        # The database may still be starting; the first audited write seals them then.
        log.warning("audit chains not sealed at start: %s", exc)


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


# Demo data that needs another service (dms's roster needs dbs's doctors, sms's stock its drugs):
# asked for in the background until that service answers, so a start never waits for it.
DEMO_WAIT_SECONDS = 120.0
DEMO_RETRY_SECONDS = 2.0
Fetched = TypeVar("Fetched")


async def demo_when_answered(
    db: Database,
    what: str,
    fetch: Callable[[], Awaitable[Fetched]],
    load: Callable[[AsyncSession, Fetched], Awaitable[bool]],
    wait_seconds: float = DEMO_WAIT_SECONDS,
) -> bool:
    """`fetch` until it answers (at most `wait_seconds`), then `load` what it answered in one
    transaction; False when it never answered or `load` found data already there."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    warned = False
    while True:
        try:
            fetched = await fetch()
            break
        # Whatever keeps dbs or the gateway from answering now: try again until the deadline.
        except Exception as exc:
            if not warned:
                log.warning("%s waits for the services it needs: %s", what, exc)
                warned = True
            if loop.time() >= deadline:
                log.warning("%s skipped: no answer in %.0f s", what, wait_seconds)
                return False
            await asyncio.sleep(DEMO_RETRY_SECONDS)
    async with db.transaction() as session:
        added = await load(session, fetched)
    if added:
        log.info("%s loaded", what)
    return added


def demo_in_background_part(
    settings: ServiceSettings, run: Callable[[FastAPI], Coroutine[Any, Any, bool]]
) -> LifespanPart:
    """Starts `run` in the background when `demo_data` is on; cancels it at shutdown."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run(app), name="demo-data") if settings.demo_data else None
        app.state.demo_task = task
        try:
            yield
        finally:
            await stop_tasks(task)

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
        keys = KeySet(settings.jwks_url, settings.jwks or None)
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
        # UP once it serves (announce_part): nobody routes here while the rest starts.
        await client.start(status="STARTING")
        try:
            yield
        finally:
            await client.stop()

    return part


ANNOUNCE_POLL_SECONDS = 0.2
ANNOUNCED = "registry"


def announce_part(settings: ServiceSettings) -> LifespanPart:
    """Registered STARTING, an instance says UP once it listens and every readiness check passes
    (its database answers; without Redis, its first copy of the gateway's revocations came). So
    no request is routed to an instance that would refuse it with 503, nor to one not listening
    yet, and `hamp up`'s "ready" (every /health/ready) means a user's first request is taken."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        registry = app.state.registry
        task = None
        if registry is not None:
            # Ready once UP was said too: whoever waits for /health/ready finds it routed to.
            app.state.ready_checks.append((ANNOUNCED, registry.announced))
            task = asyncio.create_task(_up_when_ready(app, settings), name="announce")
        try:
            yield
        finally:
            await stop_tasks(task)

    return part


async def _up_when_ready(app: FastAPI, settings: ServiceSettings) -> None:
    # The server listens only once the lifespan is over: wait until a connection is taken.
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0") else "::1" if settings.host == "::" else settings.host
    while True:
        try:
            _, writer = await asyncio.open_connection(host, settings.port)
            writer.close()
            await writer.wait_closed()
            if all(up for name, up in (await ready_checks(app)).items() if name != ANNOUNCED):
                break
        except OSError:
            pass
        await asyncio.sleep(ANNOUNCE_POLL_SECONDS)
    await app.state.registry.up()


def _service_client(settings: ServiceSettings, registry: Any, breaker_open_seconds: float = 10.0) -> ServiceClient:
    """Calls to other services by app name, as the caller or as this service (its token traded
    at the gateway for the service secret)."""
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

    balancer = Balancer(FixedOrRegistry(settings.service_urls, registry), open_seconds=breaker_open_seconds)
    client = ServiceClient(balancer, settings.http_timeout_seconds, tokens=ServiceTokens(fetch))
    return client


def service_client_part(settings: ServiceSettings) -> LifespanPart:
    """`app.state.services`: calls to other services by app name, as the caller or as this service."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        client = _service_client(settings, app.state.registry)
        app.state.services = client
        try:
            yield
        finally:
            await client.aclose()

    return part


def revocation_part(settings: ServiceSettings) -> LifespanPart:
    """Revoked tokens are refused here too, not only at the gateway (shared/revocation.py): from
    the shared Redis when there is one, else from a mirror of the gateway's markers."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        from shared.kvstore import kv_store
        from shared.revocation import RevocationMirror, Revocations

        if not settings.check_revocations:
            yield
            return
        store = kv_store(settings)
        if not isinstance(store, MemoryStore):
            app.state.verifier.checks.append(Revocations(store, 0).check)
            try:
                yield
            finally:
                await store.aclose()
            return

        # A client of its own, whose breaker never holds the gateway back: the mirror must catch up
        # the moment the gateway answers again (a service may start before it), not 10 s later.
        client = _service_client(settings, app.state.registry, breaker_open_seconds=0.0)

        async def fetch() -> dict[str, Any]:
            answer = await client.request("GATEWAY", "GET", "/api/auth/revocations", identity="service")
            answer.raise_for_status()
            revoked: dict[str, Any] = answer.json()
            return revoked

        mirror = RevocationMirror(fetch, settings.revocation_max_age_seconds)
        app.state.verifier.checks.append(mirror.check)
        app.state.ready_checks.append(("revocations", mirror.fresh))
        poller = asyncio.create_task(mirror.run(settings.revocation_poll_seconds), name="revocations")
        try:
            yield
        finally:
            await stop_tasks(poller)
            await client.aclose()

    return part


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    migrations_dir: Path | None,
    extra_parts: Sequence[LifespanPart] = (),
    discover: bool = True,
    after_registry: Sequence[LifespanPart] = (),
    own_revocations: bool = False,
    auth: LifespanPart | None = None,
    services: LifespanPart | None = None,
) -> FastAPI:
    """A domain service: database (migrated), token verification, its own parts, registration,
    then parts that need the registry client (`after_registry`). `own_revocations`: the app keeps
    the revocation markers itself (the gateway) rather than reading them from elsewhere. Every
    service discovers: each at least finds the gateway, for its service token and revocations.
    `auth` and `services` replace the parts that set `app.state.verifier` and `app.state.services`
    (the gateway verifies with its own key, and its one client also carries the proxy)."""
    parts: list[LifespanPart] = [
        database_part(settings, migrations_dir),
        auth or auth_part(settings),
        *extra_parts,
        registry_part(settings, discover=discover),
        services or service_client_part(settings),
        *([] if own_revocations else [revocation_part(settings)]),
        *after_registry,
        announce_part(settings),
    ]
    app = create_app(settings, title=title, routers=routers, parts=parts)
    app.add_exception_handler(KeyValueUnavailable, _security_store_unavailable)
    return app


async def _security_store_unavailable(request: Request, exc: Exception) -> Response:
    """Revocations (and at the gateway lockouts and rate limits) live in the key-value store:
    without it a component fails closed (503), it does not wave requests through."""
    log.error("key-value store unavailable: %s", exc)
    return problem_response(
        503,
        "security_store_unavailable",
        Text("安全检查暂不可用，请稍后再试", "Security checks are unavailable; try again shortly"),
        headers={"Retry-After": "5"},
    )


async def load_demo_data_with_services(
    settings: ServiceSettings, migrations_dir: Path, run: Callable[[FastAPI], Awaitable[bool]]
) -> bool:
    """`hamp demo-data` for a service whose demo data needs another service: found through
    `service_urls`, since the command line has no registry."""
    await asyncio.to_thread(upgrade, settings, migrations_dir)
    app = FastAPI()
    app.state.registry = None
    app.state.db = Database.from_settings(settings)
    try:
        async with service_client_part(settings)(app):
            return await run(app)
    finally:
        await app.state.db.dispose()

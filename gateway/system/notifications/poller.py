"""The background part that keeps occurrences in step with the modules: every
`notifications_poll_seconds` each source is read and `service.sync` raises what is new and closes
what is gone. Several gateways may poll at once; the occurrence key keeps each raised once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.settings import GatewaySettings
from gateway.system.notifications import service
from gateway.system.notifications.sources import LOCKED_PREFIX, SOURCES, Caller, Source, Unanswered, locked_accounts
from shared.app import LifespanPart
from shared.balancer import Balancer, FixedOrRegistry
from shared.db import Database
from shared.service_client import ServiceClient
from shared.tasks import stop_tasks

log = logging.getLogger("hamp.gateway.notifications")


async def _read(source: Source, client: Caller, settings: GatewaySettings) -> list[service.Occurrence] | None:
    try:
        return await source.fetch(client, settings)
    except Unanswered:
        return None


async def poll_once(
    db: Database,
    client: Caller,
    settings: GatewaySettings,
    sources: tuple[Source, ...] = SOURCES,
    running: Callable[[str], bool] = lambda module: True,
) -> dict[str, tuple[int, int]]:
    """One round: every source of a running module read at once, then each answer applied in its
    own transaction. prefix -> (raised, closed), for the sources that answered."""
    sources = tuple(s for s in sources if running(s.module))
    answers = await asyncio.gather(*(_read(s, client, settings) for s in sources))
    done: dict[str, tuple[int, int]] = {}
    for source, current in zip(sources, answers, strict=True):
        if current is None:
            continue
        async with db.transaction() as session:
            done[source.prefix] = await service.sync(session, source.prefix, current)
    async with db.transaction() as session:
        done[LOCKED_PREFIX] = await service.sync(session, LOCKED_PREFIX, await locked_accounts(session, settings))
    return done


def notifications_part(settings: GatewaySettings) -> LifespanPart:
    """Polls in the background while the gateway runs; `notifications_poll_seconds` 0 turns it off."""

    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        if settings.notifications_poll_seconds <= 0:
            yield
            return

        # A client of its own, with its own breakers: a poll that finds a module not yet listening
        # (the gateway may start before the services) must not open the breaker the proxy uses,
        # or users' requests to that module would be refused while it is up.
        shared: ServiceClient = app.state.services
        services = ServiceClient(
            Balancer(FixedOrRegistry(settings.service_urls, app.state.registry), settings.breaker_failures,
                     settings.breaker_open_seconds),
            settings.http_timeout_seconds,
            tokens=shared.tokens,
        )  # fmt: skip

        def running(module: str) -> bool:
            # A module with no instance known is not asked (nor warned about) this round.
            return bool(services.balancer.candidates(module.upper()))

        async def run() -> None:
            while True:
                try:
                    await poll_once(app.state.db, services, settings, running=running)
                except Exception:  # a bad round must not end the polling; the next one tries again
                    log.exception("notifications poll failed")
                await asyncio.sleep(settings.notifications_poll_seconds)

        task = asyncio.create_task(run(), name="notifications")
        try:
            yield
        finally:
            await stop_tasks(task)
            await services.aclose()

    return part

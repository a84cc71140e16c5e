"""The lifespan part that owns the lease store, its response cache and its peers, and evicts expired
leases on a timer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry.cluster import Cluster
from registry.eureka.cache import ResponseCache
from registry.leases import LeaseStore
from registry.peers import Peers
from registry.settings import RegistrySettings
from shared.app import LifespanPart
from shared.registry_auth import registry_credentials, with_credentials
from shared.tasks import stop_tasks

log = logging.getLogger("hamp.registry.eviction")


def new_store(settings: RegistrySettings) -> LeaseStore:
    return LeaseStore(
        default_lease_seconds=settings.default_lease_seconds,
        double_duration=settings.lease_double_duration,
        self_preservation=settings.self_preservation,
        renewal_percent_threshold=settings.renewal_percent_threshold,
        expected_renewal_interval_seconds=settings.expected_renewal_interval_seconds,
        renewal_threshold_update_seconds=settings.renewal_threshold_update_seconds,
        delta_retention_seconds=settings.delta_retention_seconds,
    )


async def evict_forever(store: LeaseStore, interval: float) -> None:
    """Every `interval` seconds, evict expired leases. When the loop itself ran late (a paused
    process, a clock jump), the delay is added to every lease, as Eureka's compensation does,
    so instances are not punished for the registry's own stall."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        compensation_ms = max(0, int((now - last - interval) * 1000))
        last = now
        try:
            evicted = store.evict(compensation_ms)
        except Exception:
            log.exception("eviction run failed")
            continue
        if evicted:
            log.info("evicted %d expired lease(s): %s", len(evicted), ", ".join(evicted))


def leases_part(settings: RegistrySettings) -> LifespanPart:
    @asynccontextmanager
    async def part(app: FastAPI) -> AsyncIterator[None]:
        store = new_store(settings)
        app.state.leases = store
        app.state.responses = ResponseCache(store)
        user, password = registry_credentials(settings)
        app.state.writers = (user, (password, settings.registry_previous_password))
        peers = Peers(
            store,
            [with_credentials(url, user, password) for url in settings.peer_url_list],
            batch_delay=settings.peer_batch_delay_seconds,
            timeout=settings.peer_timeout_seconds,
            sync_attempts=settings.peer_sync_attempts,
        )
        app.state.cluster = Cluster(store, peers)
        await peers.start()
        task = asyncio.create_task(evict_forever(store, settings.eviction_interval_seconds), name="eviction")
        try:
            yield
        finally:
            await stop_tasks(task)
            await peers.stop()

    return part

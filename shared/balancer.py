"""Client-side load balancing over registry instances: round robin, a breaker per instance."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Instance(Protocol):
    # Read-only, so that frozen dataclasses (FixedInstance, the registry's InstanceAddress) qualify.
    @property
    def instance_id(self) -> str: ...

    @property
    def base_url(self) -> str: ...


class InstanceSource(Protocol):
    def instances(self, app_name: str) -> Sequence[Instance]: ...


async def refresh_source(source: object) -> None:
    """Asks a source that can fetch anew (the registry client) to do so now."""
    refresh = getattr(source, "refresh", None)
    if refresh is not None:
        await refresh()


@dataclass(frozen=True)
class FixedInstance:
    instance_id: str
    base_url: str


class FixedOrRegistry:
    """Fixed addresses by app name (`service_urls`) first, then the registry."""

    def __init__(self, fixed: dict[str, str], registry: InstanceSource | None) -> None:
        self.fixed = {
            app.upper(): [FixedInstance(f"{app.upper()}@{url}", url.rstrip("/"))] for app, url in fixed.items()
        }
        self.registry = registry

    def instances(self, app_name: str) -> Sequence[Instance]:
        if app_name in self.fixed:
            return self.fixed[app_name]
        return self.registry.instances(app_name) if self.registry else []

    async def refresh(self) -> None:
        await refresh_source(self.registry)


@dataclass
class Breaker:
    failures: int = 0
    open_until: float = 0.0


class Balancer:
    """Gives the instances of an app to try, in turn; skips those whose breaker is open.

    A breaker opens after `failures` consecutive failures and stays open `open_seconds`; then
    the instance is tried again (half-open) and one success closes it.
    """

    def __init__(self, source: InstanceSource | None, failures: int = 3, open_seconds: float = 10.0) -> None:
        self.source = source
        self.failure_limit = failures
        self.open_seconds = open_seconds
        self._breakers: dict[str, Breaker] = {}
        self._counters: dict[str, itertools.count[int]] = {}

    def candidates(self, app_name: str) -> list[Instance]:
        instances = sorted(self.source.instances(app_name) if self.source else [], key=lambda i: i.instance_id)
        if not instances:
            return []
        start = next(self._counters.setdefault(app_name, itertools.count())) % len(instances)
        ordered = instances[start:] + instances[:start]
        now = time.monotonic()
        return [i for i in ordered if self._breakers.get(i.instance_id, Breaker()).open_until <= now]

    async def refresh(self) -> None:
        await refresh_source(self.source)

    def succeeded(self, instance: Instance) -> None:
        self._breakers.pop(instance.instance_id, None)

    def failed(self, instance: Instance, *, refused: bool = False) -> None:
        """`refused`: nothing listens there (stopped, crashed), so open at once."""
        breaker = self._breakers.setdefault(instance.instance_id, Breaker())
        breaker.failures += 1
        if refused or breaker.failures >= self.failure_limit:
            breaker.open_until = time.monotonic() + self.open_seconds

    def is_open(self, instance: Instance) -> bool:
        return self._breakers.get(instance.instance_id, Breaker()).open_until > time.monotonic()

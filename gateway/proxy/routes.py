"""Which permission each route of each service needs, read from the services' own OpenAPI.

Services declare a route's permission once (`x-permission`); the gateway reads their OpenAPI
documents through the registry and enforces the same permission before proxying, so the two
checks can never disagree and no list is kept by hand.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import aiohttp

from shared.auth import PERMISSION_KEY, RESOURCE_LABEL_KEY
from shared.service_client import AnswerError, ServiceClient

log = logging.getLogger("hamp.gateway.routes")

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    permission: str | None
    resource_label: dict[str, str] | None


def routes_from_openapi(document: dict) -> list[Route]:
    routes = []
    for path, operations in document.get("paths", {}).items():
        segments = ("[^/]+" if part.startswith("{") else re.escape(part) for part in path.split("/"))
        regex = "^" + "/".join(segments) + "$"
        for method in METHODS:
            operation = operations.get(method)
            if operation is not None:
                routes.append(
                    Route(
                        method.upper(),
                        path,
                        re.compile(regex),
                        operation.get(PERMISSION_KEY),
                        operation.get(RESOURCE_LABEL_KEY),
                    )
                )
    # Literal segments win over parameters (/items/export before /items/{id}).
    routes.sort(key=lambda r: r.path.count("{"))
    return routes


def find_route(routes: list[Route], method: str, path: str) -> Route | None:
    method = "GET" if method == "HEAD" else method
    return next((r for r in routes if r.method == method and r.pattern.match(path)), None)


class RouteTable:
    def __init__(self, services: ServiceClient, ttl_seconds: float = 60.0) -> None:
        self.services = services
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, list[Route]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def routes(self, service: str) -> list[Route] | None:
        """The service's routes; None when no instance could tell (it is not running)."""
        cached = self._cache.get(service)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        async with self._locks.setdefault(service, asyncio.Lock()):
            cached = self._cache.get(service)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            for instance in self.services.balancer.candidates(service.upper()):
                try:
                    answer = await self.services.send("GET", f"{instance.base_url}/api/{service}/openapi.json")
                    answer.raise_for_status()
                    routes = routes_from_openapi(answer.json())
                except (AnswerError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    log.warning("cannot read the routes of %s from %s: %s", service, instance.instance_id, exc)
                    continue
                self._cache[service] = (time.monotonic(), routes)
                return routes
            # Keep serving what we knew: a service that is briefly away still has the same routes.
            return cached[1] if cached else None

"""Which permission each route of each service needs, read from the services' own OpenAPI.

Services declare a route's permission once (`x-permission`); the gateway reads their OpenAPI
documents through the registry and enforces the same permission before proxying, so the two
checks can never disagree and no list is kept by hand. External apps (gateway/proxy/upstreams.py)
are read the same way, from where they publish their document (springdoc: `/v3/api-docs`); their
paths are those the app serves, which is what the proxy matches (after stripping the prefix).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from gateway.proxy.upstreams import Upstream
from shared.auth import PERMISSION_KEY, RESOURCE_LABEL_KEY
from shared.service_client import AnswerError, ServiceAnswer, ServiceClient

log = logging.getLogger("hamp.gateway.routes")

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    permission: str | None
    resource_label: dict[str, str] | None
    summary: str | None = None


def routes_from_openapi(document: dict[str, Any]) -> list[Route]:
    """Raises ValueError for a document whose permissions cannot be read: a route whose
    `x-permission` is not a permission must not pass as one that declares none."""
    routes = []
    for path, operations in document.get("paths", {}).items():
        if not isinstance(operations, dict):
            raise ValueError(f"path {path!r} is not an OpenAPI path item")
        segments = ("[^/]+" if part.startswith("{") else re.escape(part) for part in path.split("/"))
        regex = "^" + "/".join(segments) + "$"
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            permission = operation.get(PERMISSION_KEY) if isinstance(operation, dict) else ""
            if permission is not None and not (isinstance(permission, str) and permission):
                raise ValueError(f"{method.upper()} {path}: x-permission {permission!r} is not a permission")
            label = operation.get(RESOURCE_LABEL_KEY)
            summary = operation.get("summary")
            routes.append(
                Route(
                    method.upper(),
                    path,
                    re.compile(regex),
                    permission,
                    label if _is_name(label) else None,
                    summary if isinstance(summary, str) and summary.strip() else None,
                )
            )
    # Literal segments win over parameters (/items/export before /items/{id}).
    routes.sort(key=lambda r: r.path.count("{"))
    return routes


def _is_name(label: object) -> bool:
    return isinstance(label, dict) and all(isinstance(label.get(k), str) and label[k] for k in ("zh", "en"))


def find_route(routes: list[Route], method: str, path: str) -> Route | None:
    method = "GET" if method == "HEAD" else method
    return next((r for r in routes if r.method == method and r.pattern.match(path)), None)


class RouteTable:
    def __init__(self, services: ServiceClient, upstreams: dict[str, Upstream], ttl_seconds: float = 60.0) -> None:
        self.services = services
        self.upstreams = upstreams
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, list[Route]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def routes(self, prefix: str) -> list[Route] | None:
        """The routes of the module or app at `prefix`; [] when it publishes no document; None when
        no instance could tell (it is not running, or its document could not be read)."""
        upstream = self.upstreams.get(prefix)
        if upstream is None:
            return None
        if not upstream.document:
            return []
        cached = self._cache.get(prefix)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        async with self._locks.setdefault(prefix, asyncio.Lock()):
            cached = self._cache.get(prefix)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            for instance in self.services.balancer.candidates(upstream.app):
                try:
                    answer = await self.services.send("GET", f"{instance.base_url}{upstream.document}")
                    # An app that publishes no document (springdoc left out): only its own permission
                    # applies. Kept like a document, or every request would ask again.
                    none = answer.status_code == 404 and upstream.external
                    routes = [] if none else routes_from_openapi(_document(answer))
                except (AnswerError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    log.warning("cannot read the routes of %s from %s: %s", prefix, instance.instance_id, exc)
                    continue
                self._cache[prefix] = (time.monotonic(), routes)
                return routes
            # Keep serving what we knew: a service that is briefly away still has the same routes.
            return cached[1] if cached else None


def _document(answer: ServiceAnswer) -> dict[str, Any]:
    answer.raise_for_status()
    document = answer.json()
    if not isinstance(document, dict) or not isinstance(document.get("paths", {}), dict):
        raise ValueError("not an OpenAPI document")
    return document

"""Where `/api/<prefix>/…` goes: one of our seven modules, or another app of the registry that
hospital IT configured (`external_apps`, e.g. a Spring Boot service with springdoc).

An external app gets its own prefix, a permission the caller must hold before anything reaches
it, and its OpenAPI document's `x-permission`s on top. It goes through the same proxy as the
modules (balancer, breakers, timeouts, headers): only the prefix, the path it is sent on and the
permissions differ, and they are all here.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import ExternalApp
from gateway.system.modules import MODULES
from shared.i18n import Text


@dataclass(frozen=True)
class Upstream:
    """What the proxy needs of a prefix. `permission` None: a module, whose own rule applies (the
    caller holds something of it) and which checks every permission again itself."""

    prefix: str
    app: str
    document: str
    strip_prefix: bool
    permission: str | None
    name: Text

    @property
    def external(self) -> bool:
        return self.permission is not None

    def target(self, path: str) -> str:
        """The path the app is sent for the gateway's `path` (`/api/<prefix>/…`)."""
        if not self.strip_prefix:
            return path
        return path[len(f"/api/{self.prefix}") :] or "/"


def module_upstream(module: str) -> Upstream:
    return Upstream(module, module.upper(), f"/api/{module}/openapi.json", False, None, Text(module, module))


def upstreams(external_apps: list[ExternalApp]) -> dict[str, Upstream]:
    found = {m: module_upstream(m) for m in MODULES}
    for entry in external_apps:
        found[entry.prefix] = Upstream(
            entry.prefix,
            entry.app,
            entry.openapi_path,
            entry.strip_prefix,
            entry.permission,
            Text(entry.name_zh, entry.name_en),
        )
    return found

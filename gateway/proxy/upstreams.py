"""Where `/api/<prefix>/…` goes: one of our seven modules, or another app of the registry that
hospital IT configured (`external_apps`, e.g. a Spring Boot service with springdoc).

An external app gets its own prefix, a permission the caller must hold before anything reaches
it, and its OpenAPI document's `x-permission`s on top. It goes through the same proxy as the
modules (balancer, breakers, timeouts, headers): only the prefix, the path it is sent on and the
permissions differ, and they are all here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.system.modules import MODULES
from shared import components
from shared.i18n import Text

# First path segments under /api/ that the gateway answers itself (tests/gateway/test_external_apps.py
# checks this against its routes): an app there would never be reached.
GATEWAY_PATHS = frozenset({"auth", "system", "docs", "gateway"})
PREFIX = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PERMISSION_PART = re.compile(r"^[a-z][a-z0-9_-]*$")
# Eureka app names: what Spring's `spring.application.name` becomes, upper-cased by the registry.
APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ExternalApp(BaseModel):
    """One entry of `external_apps`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(description="`/api/<prefix>/…` reaches the app; a lowercase slug, not a module's name.")
    app: str = Field(description="The app's name in the registry (Spring: spring.application.name).")
    permission: str = Field(description="`<prefix>:<resource>:<action>`, needed for every request to the app.")
    name_zh: str = Field(description="The app's name in Chinese, shown in 角色管理.")
    name_en: str = Field(description="The app's name in English.")
    strip_prefix: bool = Field(True, description="`/api/<prefix>/x` is sent to the app as `/x` (else unchanged).")
    openapi_path: str = Field(
        "/v3/api-docs", description="Where the app publishes its OpenAPI document (springdoc); empty: none."
    )

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if not PREFIX.match(prefix):
            raise ValueError(
                f"前缀 {prefix!r} 须为小写字母开头的小写字母、数字和连字符 / "
                f"prefix {prefix!r} must be a lowercase slug (letters, digits, hyphens)"
            )
        if prefix in MODULES:
            raise ValueError(f"前缀 {prefix!r} 是平台模块的名称 / prefix {prefix!r} is the name of a platform module")
        if prefix in GATEWAY_PATHS:
            raise ValueError(f"前缀 {prefix!r} 是网关自身的路径 / prefix {prefix!r} is a path of the gateway itself")
        return prefix

    @field_validator("app")
    @classmethod
    def _app(cls, app: str) -> str:
        if not APP_NAME.match(app):
            raise ValueError(
                f"应用名 {app!r} 不是注册中心的应用名（字母、数字、点、连字符、下划线）/ "
                f"app {app!r} is not a registry app name (letters, digits, dots, hyphens, underscores)"
            )
        if app.lower() in components.ALL:
            raise ValueError(
                f"应用 {app!r} 是平台自身的组件，不能作为外部应用 / app {app!r} is a component of the platform itself"
            )
        return app.upper()

    @field_validator("name_zh", "name_en")
    @classmethod
    def _name(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("请填写应用名称 / the app's name is required")
        return name.strip()

    @field_validator("openapi_path")
    @classmethod
    def _openapi_path(cls, path: str) -> str:
        if path and not path.startswith("/"):
            raise ValueError(f"openapi_path {path!r} 须以 / 开头 / openapi_path {path!r} must start with /")
        return path

    @model_validator(mode="after")
    def _permission(self) -> ExternalApp:
        parts = self.permission.split(":")
        if len(parts) != 3 or parts[0] != self.prefix or not all(PERMISSION_PART.match(p) for p in parts[1:]):
            raise ValueError(
                f"权限 {self.permission!r} 须为 {self.prefix}:<资源>:<操作>（小写）/ "
                f"permission {self.permission!r} must be {self.prefix}:<resource>:<action> (lowercase)"
            )
        return self


def unique_prefixes(apps: list[ExternalApp]) -> list[ExternalApp]:
    seen: set[str] = set()
    for entry in apps:
        if entry.prefix in seen:
            raise ValueError(f"前缀 {entry.prefix!r} 配置了不止一次 / prefix {entry.prefix!r} is configured twice")
        seen.add(entry.prefix)
    return apps


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

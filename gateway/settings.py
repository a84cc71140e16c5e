from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import components
from shared.settings import ServiceSettings

CONSOLE_DIST = Path(__file__).parent / "console" / "dist"


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
        from gateway.system.modules import MODULES  # here: `hamp up` reads settings without the gateway's code

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


class GatewaySettings(ServiceSettings):
    component: ClassVar[str] = "gateway"
    port: int = Field(8080, description="Port of the gateway (the platform's only public entry).")
    superadmin_username: str = Field("admin", description="Login name of the superadmin created on first start.")
    superadmin_password: str = Field(
        "", description="Password of that superadmin; empty: generated and printed once at first start."
    )
    superadmin_password_is_initial: bool = Field(
        False,
        description="The configured superadmin password is a one-time password, to be changed at first login "
        "(`hamp up` sets this for the one it generates).",
    )
    signing_key_pem: str = Field(
        "",
        description="RSA private key (PEM) signing access tokens; every gateway replica needs the same one.",
    )
    signing_key_file: Path | None = Field(
        None, description="Where the signing key is kept when signing_key_pem is empty (default var/keys/…)."
    )
    access_token_minutes: int = Field(15, description="Lifetime of an access token.")
    refresh_token_hours: int = Field(
        12, description="Lifetime of a refresh token (one working shift): a session's absolute lifetime."
    )
    session_idle_minutes: int = Field(
        30, ge=1, description="A session with no request for this long is ended; the user logs in again."
    )
    console_dir: Path | None = Field(
        None, description="The built console served at / (default: gateway/console/dist beside the code)."
    )
    proxy_connect_timeout_seconds: float = Field(3.0, description="Connecting to a service instance.")
    proxy_read_timeout_seconds: float = Field(60.0, description="Waiting for a service's answer.")
    trusted_networks: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        description="CIDRs admitted at all (hospital LAN, VPN address pool), JSON list; others get 403.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call the API from other sites, JSON list."
    )
    password_min_length: int = Field(8, description="Shortest password accepted.")
    password_max_age_days: int = Field(
        90, ge=0, description="A password older than this must be changed at the next login (0: never)."
    )
    password_history: int = Field(
        5, ge=1, description="A new password may not be any of the user's last this many passwords."
    )
    lockout_failures: int = Field(5, description="Failed logins that lock an account …")
    lockout_window_minutes: int = Field(10, description="… within this many minutes.")
    lockout_minutes: int = Field(30, description="How long a lock lasts (0: until the superadmin unlocks it).")
    totp_required_permissions: list[str] = Field(
        default_factory=lambda: ["system:"],
        description="Users holding `*` or a permission starting with one of these must log in with a second "
        "factor (TOTP), JSON list; [] turns the requirement off.",
    )
    totp_issuer: str = Field("HAMP 医院档案管理平台", description="Issuer shown in authenticator apps.")
    login_rate_per_ip_per_minute: int = Field(30, description="Login attempts one address may make per minute.")
    login_rate_per_user_per_minute: int = Field(10, description="Login attempts on one user name per minute.")
    service_token_rate_per_minute: int = Field(
        20,
        description="Service-token requests per minute per address and service (a replica needs one every "
        "half token lifetime); apart from the login limits, which replicas on one address would exhaust.",
    )
    api_rate_per_second: float = Field(20.0, description="Sustained API requests per second per user.")
    api_burst: int = Field(100, description="Requests a user may make at once before the rate applies.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of reverse proxies (Ingress) whose X-Forwarded-For is believed, JSON list.",
    )
    breaker_failures: int = Field(3, description="Consecutive failures that open an instance's breaker.")
    breaker_open_seconds: float = Field(10.0, description="How long an open breaker skips its instance.")
    notifications_poll_seconds: float = Field(
        60.0,
        ge=0,
        description="How often the gateway reads the modules' alert lists (low stock, expiry, low deposits, stuck "
        "messages) to raise and close system notifications (消息通知); 0 turns the polling off.",
    )
    notifications_pms_expiry_days: int = Field(
        90,
        ge=0,
        le=3650,
        description="Pharmacy batches expiring within this many days are notified (the warehouse uses its own "
        "expiry_warning_days).",
    )
    export_max_rows: int = Field(
        200_000, ge=1, description="Most rows one export (XLSX/CSV of a list) may hold; more is refused up front."
    )
    exports_at_once: int = Field(
        2, ge=1, description="Exports one gateway writes at the same time; another asked meanwhile is told to retry."
    )

    external_apps: list[ExternalApp] = Field(
        default_factory=list,
        description="Other registry apps (Spring Boot services …) routed at `/api/<prefix>/…`, JSON list of "
        '`{"prefix", "app", "permission", "name_zh", "name_en", "strip_prefix": true, "openapi_path": '
        '"/v3/api-docs"}`: the caller needs `permission` (`<prefix>:<resource>:<action>`), and each route the '
        "app's OpenAPI marks with `x-permission` needs that too (docs/gateway.md).",
    )

    @field_validator("external_apps")
    @classmethod
    def _one_app_per_prefix(cls, apps: list[ExternalApp]) -> list[ExternalApp]:
        return unique_prefixes(apps)

    @property
    def effective_console_dir(self) -> Path:
        return self.console_dir or CONSOLE_DIST

    @property
    def effective_signing_key_file(self) -> Path:
        return self.signing_key_file or self.var_dir / "keys" / "gateway-signing.pem"

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from gateway.proxy.upstreams import ExternalApp, unique_prefixes
from shared.settings import ServiceSettings

CONSOLE_DIST = Path(__file__).parent / "console" / "dist"


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

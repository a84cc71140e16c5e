"""Settings for every HAMP process, read from ``HAMP_*`` environment variables.

A service reads ``HAMP_<SVC>_<FIELD>`` before ``HAMP_<FIELD>``, so one environment can
hold both platform-wide values (``HAMP_TIMEZONE``) and per-service ones
(``HAMP_DBS_DATABASE_URL``) when several processes share it, as under ``hamp up``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# 等保三级 asks for six months of audit records.
MIN_AUDIT_RETENTION_DAYS = 180


class HampSettings(BaseSettings):
    """What every process needs."""

    model_config = SettingsConfigDict(env_prefix="HAMP_", extra="ignore")

    # The component name: "dbs", "gateway", "registry" ... set by each subclass.
    component: ClassVar[str] = ""

    var_dir: Path = Field(Path("var"), description="Where embedded data, objects, keys and logs live.")
    timezone: str = Field("Asia/Shanghai", description="The hospital's time zone for 'today', months, years.")
    log_level: str = Field("INFO", description="Python log level.")
    log_to_file: bool = Field(True, description="Also write JSON log lines to var/logs/<component>.log.")
    log_to_stdout: bool = Field(
        True,
        description="Write JSON log lines to stdout (`hamp up` turns it off for its children: their "
        "<component>.log has every line, and <component>.out keeps only what is printed outside the logging).",
    )
    log_elasticsearch_url: str = Field(
        "",
        description="Elasticsearch to ship the JSON log lines to as well (http(s)://host:9200, comma-separated for "
        "several nodes; docs/logging.md). Empty: no shipping; the 日志查询 page reads var/logs.",
    )
    log_elasticsearch_username: str = Field("", description="Elasticsearch user for shipping and searching logs.")
    log_elasticsearch_password: str = Field("", description="That user's password (from a Secret).")
    log_elasticsearch_index: str = Field(
        "hamp-logs", description="Index prefix: lines go to daily indices <prefix>-YYYY.MM.DD (UTC dates)."
    )
    log_elasticsearch_queue_size: int = Field(
        10000,
        ge=10,
        description="Log lines held for Elasticsearch while it is slow or down; beyond this new lines are dropped "
        "(counted in /metrics hamp_log_records_dropped_total), never waited for.",
    )
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(0, description="Port to listen on.")
    registry_username: str = Field(
        "hamp", description="User the registry accepts writes from (register, renew, cancel, status, replication)."
    )
    registry_password: str = Field(
        "",
        description="That user's password (from a Secret); components add both to their registry URLs. "
        "Empty: var/keys/registry-password, made on first use (embedded profile).",
    )
    registry_previous_password: str = Field(
        "", description="While the registry password is rotated: the old one, still accepted by the registry."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        if cls.component:
            prefix = f"HAMP_{cls.component.upper()}_"
            sources.append(EnvSettingsSource(settings_cls, env_prefix=prefix))
        sources += [env_settings, file_secret_settings]
        return tuple(sources)

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "logs"


class ServiceSettings(HampSettings):
    """What a registered service (the seven domain services and the gateway) needs."""

    public_host: str = Field("", description="Host name or IP announced to the registry (default: host).")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the primary (mysql+aiomysql://… or sqlite+aiosqlite:///…). "
        "Empty: an SQLite file var/<component>.db.",
    )
    database_replica_urls: list[str] = Field(
        default_factory=list, description="Read replicas, JSON list. Reads fall back to the primary."
    )
    database_pool_size: int = Field(10, description="Connections per engine (MySQL; as many again open under load).")
    sqlite_pool_size: int = Field(
        5,
        ge=1,
        description="Connections per engine on SQLite, kept open (each is a thread); more only contend for the GIL.",
    )
    migrate_on_start: bool = Field(
        True, description="Run this service's alembic migrations at start (embedded profile)."
    )
    demo_data: bool = Field(False, description="Load demo data at start if the service is empty.")
    registry_urls: str = Field(
        "http://127.0.0.1:8761/eureka/",
        description="Comma-separated registry peers. Empty: do not register or discover.",
    )
    registry_renewal_seconds: int = Field(30, description="Heartbeat and registry fetch interval.")
    registry_lease_seconds: int = Field(90, description="Lease duration announced to the registry.")
    jwks_url: str = Field(
        "http://127.0.0.1:8080/api/auth/jwks", description="Where services fetch the gateway's public keys."
    )
    jwks: str = Field("", description="A JWKS document (JSON), e.g. from a Secret; when set, jwks_url is never asked.")
    jwt_issuer: str = Field("hamp-gateway", description="Expected `iss` of access tokens.")
    jwt_audience: str = Field("hamp", description="Expected `aud` of access tokens.")
    check_revocations: bool = Field(
        True,
        description="Refuse tokens the gateway revoked (logout, force-logout, disabled): read from the shared Redis "
        "when one is set, else polled from the gateway. Off only for a service tested alone with minted tokens.",
    )
    revocation_poll_seconds: float = Field(1.0, description="Without Redis: how often revocations are polled.")
    revocation_max_age_seconds: float = Field(
        5.0, description="Without Redis: revocations older than this are not trusted; user requests get 503."
    )
    redis_url: str = Field(
        "", description="Redis for revocations, login-failure counters and rate limits (redis://host:6379/0)."
    )
    redis_sentinels: str = Field(
        "", description="Redis Sentinel addresses, host:port comma-separated; used instead of redis_url."
    )
    redis_master_name: str = Field("hamp", description="The master's name in Sentinel.")
    redis_password: str = Field("", description="Redis password (from a Secret).")
    redis_db: int = Field(0, description="Redis database number.")
    redis_prefix: str = Field("hamp:", description="Prefix of every Redis key.")
    storage_url: str = Field(
        "", description="Object storage: empty for var/objects, or http(s)://key:secret@minio:9000."
    )
    http_timeout_seconds: float = Field(10.0, description="Timeout of calls to other services.")
    outbox_stuck_minutes: int = Field(
        15,
        ge=1,
        description="A message to another service still pending after this long counts as stuck "
        "(/metrics hamp_outbox_stuck_messages, a warning in /health/ready).",
    )
    service_secret: str = Field(
        "",
        description="Shared secret services trade at the gateway for their own short-lived tokens (from a Secret). "
        "Empty: var/keys/service-secret, made on first use (embedded profile).",
    )
    field_encryption_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Keys encrypting ID-card numbers and phones at rest (JSON, {"2026a": "<base64 of 32 bytes>"}, '
        "from a Secret); old keys stay until `hamp rotate-field-key` has run. "
        "Empty: var/keys/field-keys.json, made on first use (embedded profile).",
    )
    field_encryption_current_key: str = Field(
        "", description="The key id new values are encrypted with (default: the only key)."
    )
    field_index_key: str = Field(
        "", description="Base64 of 32 bytes keying the blind index that finds an exact ID card or phone (a Secret)."
    )
    field_index_previous_key: str = Field(
        "", description="The index key being replaced, still searched until `hamp rotate-field-key --reindex` ran."
    )
    audit_key: str = Field(
        "",
        description="Key of the audit trail's HMAC chain (from a Secret; never in the database). "
        "Empty: var/keys/audit-key, made on first use (embedded profile).",
    )
    audit_retention_days: int = Field(
        180,
        description="Audit and login-log rows younger than this stay in the database; "
        "`hamp audit archive` moves older ones to var/archive. At least 180 (等保三级: six months).",
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Fixed base URLs of other components by app name (JSON, {"DBS": "http://…"}), '
        "asked before the registry; for setups without one.",
    )

    @field_validator("audit_retention_days")
    @classmethod
    def _six_months_at_least(cls, days: int) -> int:
        if days < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"audit_retention_days must be at least {MIN_AUDIT_RETENTION_DAYS} "
                "(审计记录至少保存 180 天 / audit records are kept for at least 180 days)"
            )
        return days

    @property
    def app_name(self) -> str:
        return self.component.upper()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / f'{self.component}.db').as_posix()}"

    @property
    def registry_url_list(self) -> list[str]:
        return [u.strip() for u in self.registry_urls.split(",") if u.strip()]


def env_names(settings_cls: type[HampSettings], field: str) -> str:
    if settings_cls.component:
        return f"HAMP_{settings_cls.component.upper()}_{field.upper()} or HAMP_{field.upper()}"
    return f"HAMP_{field.upper()}"


def settings_table(settings_cls: type[HampSettings]) -> str:
    """A Markdown table of a component's settings: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in settings_cls.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "" if default in ("", None) else str(default)
        rows.append(f"| `{env_names(settings_cls, name)}` | `{shown}` | {info.description or ''} |")
    return "\n".join(rows)

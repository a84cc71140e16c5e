"""Settings of the registry (``HAMP_REGISTRY_*`` before ``HAMP_*``).

Defaults follow Eureka's where HAMP keeps Eureka's behaviour; see docs/registry.md for the
quirks that are dropped by default and the settings that bring them back.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import HampSettings


class RegistrySettings(HampSettings):
    component: ClassVar[str] = "registry"

    port: int = Field(8761, description="Port of the registry (Eureka's default).")
    default_lease_seconds: int = Field(
        90,
        gt=0,
        description="Lease duration used when a client announces none (leaseInfo.durationInSecs <= 0).",
    )
    eviction_interval_seconds: float = Field(
        60.0, gt=0, description="How often expired leases are looked for and evicted (Eureka: 60 s)."
    )
    lease_double_duration: bool = Field(
        False,
        description="Reproduce Eureka's bug that expires a lease only 2 x duration after its last "
        "renewal (180 s by default). Off: a lease expires `duration` after its last renewal.",
    )
    self_preservation: bool = Field(
        False,
        description="Eureka's self-preservation: stop evicting while fewer renewals arrive than "
        "`renewal_percent_threshold` of those expected, and evict at most (1 - threshold) of the "
        "registry per run. Off by default: on a platform of ~10 instances it keeps dead "
        "instances after losing only two of them.",
    )
    renewal_percent_threshold: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Self-preservation: share of expected renewals per minute below which eviction stops.",
    )
    expected_renewal_interval_seconds: int = Field(
        30, gt=0, description="Self-preservation: the heartbeat interval clients are expected to use."
    )
    renewal_threshold_update_seconds: float = Field(
        900.0,
        gt=0,
        description="Self-preservation: how often the expected number of renewing clients is recounted.",
    )
    delta_retention_seconds: float = Field(
        180.0, gt=0, description="How long a change stays in GET /eureka/apps/delta (Eureka: 180 s)."
    )
    peer_urls: str = Field(
        "",
        description="Comma-separated peer registries (http://registry-1:8761/eureka/); every write is replicated to "
        "them and a starting registry fills itself from the first that answers. This registry's own URL may be "
        "listed (it finds itself out). Without user:password in a URL the registry's own credentials are used.",
    )
    peer_batch_delay_seconds: float = Field(
        0.5, gt=0, le=10, description="Writes wait at most this long to go to a peer together (Eureka: 500 ms)."
    )
    peer_timeout_seconds: float = Field(5.0, gt=0, description="A peer that takes longer is tried again later.")
    peer_sync_attempts: int = Field(
        3, ge=0, description="Rounds over the peers at start to fill this registry from one (0: do not)."
    )
    dashboard_refresh_seconds: int = Field(
        30, ge=0, description="The dashboard page reloads itself after this many seconds (0: never)."
    )

    @property
    def peer_url_list(self) -> list[str]:
        return [u.strip() for u in self.peer_urls.split(",") if u.strip()]

"""What the registry knows about an instance: Eureka's InstanceInfo, as immutable values.

The codecs turn these into Eureka's JSON and XML and back; the lease store keeps them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


def now_ms() -> int:
    """Epoch milliseconds, Eureka's unit for every timestamp."""
    return time.time_ns() // 1_000_000


class Status(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    STARTING = "STARTING"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> Status:
        """Eureka's InstanceStatus.toEnum: anything it does not know is UNKNOWN."""
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            return cls.UNKNOWN


class Action(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


DEFAULT_DATA_CENTER_CLASS = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
AMAZON_DATA_CENTER_CLASS = "com.netflix.appinfo.AmazonInfo"
EMPTY_MAP_CLASS = "java.util.Collections$EmptyMap"


@dataclass(frozen=True)
class Port:
    number: int
    enabled: bool


@dataclass(frozen=True)
class DataCenter:
    class_name: str = DEFAULT_DATA_CENTER_CLASS
    name: str = "MyOwn"
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeaseInfo:
    """Times in epoch milliseconds, as Eureka writes them."""

    renewal_interval_secs: int = 30
    duration_secs: int = 90
    registration_ts: int = 0
    last_renewal_ts: int = 0
    eviction_ts: int = 0
    service_up_ts: int = 0


@dataclass(frozen=True)
class InstanceInfo:
    """One instance, in Eureka's field order. Optional strings are None when the client sent none."""

    instance_id: str
    host_name: str
    app: str
    ip_addr: str
    status: Status = Status.UP
    overridden_status: Status = Status.UNKNOWN
    port: Port = Port(7001, True)
    secure_port: Port = Port(7002, False)
    country_id: int = 1
    data_center: DataCenter | None = DataCenter()
    lease: LeaseInfo = LeaseInfo()
    metadata: Mapping[str, str] = field(default_factory=dict)
    sid: str | None = None
    app_group_name: str | None = None
    home_page_url: str | None = None
    status_page_url: str | None = None
    health_check_url: str | None = None
    secure_health_check_url: str | None = None
    vip_address: str | None = None
    secure_vip_address: str | None = None
    is_coordinating_discovery_server: bool = False
    last_updated_ts: int = 0
    last_dirty_ts: int = 0
    action_type: Action | None = None
    asg_name: str | None = None


@dataclass(frozen=True)
class Application:
    name: str
    instances: tuple[InstanceInfo, ...]


@dataclass(frozen=True)
class Applications:
    """A full fetch, a delta or a VIP answer. `version` and `hash` are written as strings."""

    version: str
    hash: str
    applications: tuple[Application, ...]


def reconcile_hash(statuses: list[Status]) -> str:
    """Eureka's apps__hashcode: STATUS_count_ per status, alphabetically; "" when empty."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status.value] = counts.get(status.value, 0) + 1
    return "".join(f"{name}_{count}_" for name, count in sorted(counts.items()))

"""What both codecs share: reading a registration's fields into an InstanceInfo.

Each codec reduces its document to plain values keyed by Eureka's JSON field names (ports
as ``(number, enabled)`` pairs, the data center as ``(class, name, metadata)``); this module
applies Eureka's defaults and coercions once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.model import (
    DEFAULT_DATA_CENTER_CLASS,
    DataCenter,
    InstanceInfo,
    LeaseInfo,
    Port,
    Status,
    now_ms,
)

# The string fields InstanceInfo writes after metadata, in its declaration order (JSON and XML).
AUTO_FIELDS: tuple[tuple[str, str], ...] = (
    ("appGroupName", "app_group_name"),
    ("homePageUrl", "home_page_url"),
    ("statusPageUrl", "status_page_url"),
    ("healthCheckUrl", "health_check_url"),
    ("secureHealthCheckUrl", "secure_health_check_url"),
    ("vipAddress", "vip_address"),
    ("secureVipAddress", "secure_vip_address"),
)


class MalformedInstance(ValueError):
    """A registration body that cannot be read (400)."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() if not isinstance(value, str) else value


def _int(name: str, value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(float(text))  # Jackson reads 0.5 into an int field as 0
    except (ValueError, OverflowError):
        raise MalformedInstance(f"{name} is not a number: {value!r}") from None


def _port(name: str, value: Any, default: Port, *, enabled_unless_false: bool) -> Port:
    if value is None:
        return default
    number, enabled = value
    if number is None or number == "":
        raise MalformedInstance(f"{name} has no number")
    flag = str(enabled).strip().lower() if enabled is not None else None
    # Eureka's reader: the port is enabled unless "false", the secure port only if "true".
    on = flag != "false" if enabled_unless_false else flag == "true"
    return Port(_int(name, number, 0), on)


def instance_from_fields(fields: Mapping[str, Any]) -> InstanceInfo:
    """Build a registration from the reduced fields, with InstanceInfo's defaults."""
    host_name = _text(fields.get("hostName")) or ""
    # InstanceInfo.getId(): the instanceId, else the host name.
    instance_id = _text(fields.get("instanceId")) or host_name
    now = now_ms()

    data_center = None
    if fields.get("dataCenterInfo") is not None:
        class_name, name, dc_metadata = fields["dataCenterInfo"]
        if dc_metadata is not None and not isinstance(dc_metadata, Mapping):
            raise MalformedInstance("dataCenterInfo.metadata is not a map")
        data_center = DataCenter(
            class_name=_text(class_name) or DEFAULT_DATA_CENTER_CLASS,
            name=_text(name) or "",
            metadata={str(k): _text(v) or "" for k, v in (dc_metadata or {}).items() if k != "@class"},
        )

    lease_fields = fields.get("leaseInfo") or {}
    lease = LeaseInfo(
        renewal_interval_secs=_int("renewalIntervalInSecs", lease_fields.get("renewalIntervalInSecs"), 30),
        # 0 when the client gives none: the store then uses its default lease duration.
        duration_secs=_int("durationInSecs", lease_fields.get("durationInSecs"), 0),
    )

    metadata = fields.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise MalformedInstance("metadata is not a map")
    overridden = fields.get("overriddenStatus", fields.get("overriddenstatus"))
    sid = _text(fields.get("sid"))
    # Every @Auto field is `str | None`; typed Any because mypy cannot tell these keys from action_type's.
    autos: dict[str, Any] = {attr: _text(fields.get(key)) for key, attr in AUTO_FIELDS}
    return InstanceInfo(
        instance_id=instance_id,
        host_name=host_name,
        app=(_text(fields.get("app")) or "").upper(),
        ip_addr=_text(fields.get("ipAddr")) or "",
        status=Status.parse(fields["status"]) if fields.get("status") else Status.UP,
        overridden_status=Status.parse(overridden) if overridden else Status.UNKNOWN,
        port=_port("port", fields.get("port"), Port(7001, True), enabled_unless_false=True),
        secure_port=_port("securePort", fields.get("securePort"), Port(7002, False), enabled_unless_false=False),
        country_id=_int("countryId", fields.get("countryId"), 1),
        data_center=data_center,
        lease=lease,
        metadata={str(k): _text(v) or "" for k, v in metadata.items() if k != "@class"},
        sid=sid if sid not in ("", "na", "unknown") else None,
        is_coordinating_discovery_server=str(fields.get("isCoordinatingDiscoveryServer")).lower() == "true",
        last_updated_ts=_int("lastUpdatedTimestamp", fields.get("lastUpdatedTimestamp"), now),
        last_dirty_ts=_int("lastDirtyTimestamp", fields.get("lastDirtyTimestamp"), now),
        asg_name=_text(fields.get("asgName")),
        **autos,
    )

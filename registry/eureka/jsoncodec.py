"""Eureka's JSON (the server's LegacyJacksonJson codec, which Spring clients read).

Root-wrapped objects, ``$`` / ``@enabled`` ports with the flag as a string, ``@class`` on the
data center, the EmptyMap placeholder for empty metadata, the @Auto fields and both
``versions__delta`` and ``apps__hashcode`` as strings, and lists always as arrays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from registry.eureka.fields import AUTO_FIELDS, MalformedInstance, instance_from_fields
from registry.model import (
    EMPTY_MAP_CLASS,
    Application,
    Applications,
    DataCenter,
    InstanceInfo,
    Port,
)

MEDIA_TYPE = "application/json"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _port(port: Port) -> dict[str, Any]:
    return {"$": port.number, "@enabled": _flag(port.enabled)}


def instance_dict(info: InstanceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "instanceId": info.instance_id,
        "hostName": info.host_name,
        "app": info.app,
        "ipAddr": info.ip_addr,
    }
    if info.sid is not None:
        out["sid"] = info.sid
    out["status"] = info.status.value
    out["overriddenStatus"] = info.overridden_status.value
    out["port"] = _port(info.port)
    out["securePort"] = _port(info.secure_port)
    out["countryId"] = info.country_id
    dc = info.data_center or DataCenter()
    data_center: dict[str, Any] = {"@class": dc.class_name, "name": dc.name}
    if dc.metadata:
        data_center["metadata"] = dict(dc.metadata)
    out["dataCenterInfo"] = data_center
    lease = info.lease
    out["leaseInfo"] = {
        "renewalIntervalInSecs": lease.renewal_interval_secs,
        "durationInSecs": lease.duration_secs,
        "registrationTimestamp": lease.registration_ts,
        "lastRenewalTimestamp": lease.last_renewal_ts,
        "evictionTimestamp": lease.eviction_ts,
        "serviceUpTimestamp": lease.service_up_ts,
    }
    out["metadata"] = dict(info.metadata) if info.metadata else {"@class": EMPTY_MAP_CLASS}
    for key, attr in AUTO_FIELDS:
        value = getattr(info, attr)
        if value is not None:
            out[key] = value
    out["isCoordinatingDiscoveryServer"] = _flag(info.is_coordinating_discovery_server)
    out["lastUpdatedTimestamp"] = str(info.last_updated_ts)
    out["lastDirtyTimestamp"] = str(info.last_dirty_ts)
    if info.action_type is not None:
        out["actionType"] = info.action_type.value
    if info.asg_name is not None:
        out["asgName"] = info.asg_name
    return out


def instance_fragment(info: InstanceInfo) -> str:
    """One instance as it sits inside an application's list."""
    return json.dumps(instance_dict(info), ensure_ascii=False)


# Encodes one instance; the response cache passes one that remembers (registry/eureka/cache.py).
Fragment = Callable[[InstanceInfo], str]


def _application_text(app: Application, fragment: Fragment) -> str:
    # What json.dumps writes for {"name": …, "instance": […]}, put together from the instances'
    # own texts so that an unchanged instance is not encoded again.
    instances = ", ".join(fragment(i) for i in app.instances)
    return f'{{"name": {json.dumps(app.name, ensure_ascii=False)}, "instance": [{instances}]}}'


def encode_instance(info: InstanceInfo) -> str:
    return f'{{"instance": {instance_fragment(info)}}}'


def encode_application(app: Application, fragment: Fragment = instance_fragment) -> str:
    return f'{{"application": {_application_text(app, fragment)}}}'


def encode_applications(apps: Applications, fragment: Fragment = instance_fragment) -> str:
    version = json.dumps(apps.version, ensure_ascii=False)
    hash_ = json.dumps(apps.hash, ensure_ascii=False)
    applications = ", ".join(_application_text(a, fragment) for a in apps.applications)
    head = f'"versions__delta": {version}, "apps__hashcode": {hash_}'
    return f'{{"applications": {{{head}, "application": [{applications}]}}}}'


def _port_fields(value: Any) -> tuple[Any, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("$"), value.get("@enabled")
    return value, None  # a bare number


def decode_instance(body: bytes) -> InstanceInfo:
    """A registration body: ``{"instance": {...}}``."""
    node = _document(body).get("instance")
    if not isinstance(node, dict):
        raise MalformedInstance('expected {"instance": {...}}')
    return instance_from_dict(node)


def decode_applications(body: bytes) -> list[InstanceInfo]:
    """Every instance of a full fetch, ``{"applications": {"application": [...]}}``: what a
    registry syncs from its peer at start."""
    node = _document(body).get("applications")
    if not isinstance(node, dict):
        raise MalformedInstance('expected {"applications": {...}}')
    found = []
    for app in _listed(node.get("application")):
        if not isinstance(app, dict):
            raise MalformedInstance("an application is not an object")
        for instance in _listed(app.get("instance")):
            if not isinstance(instance, dict):
                raise MalformedInstance("an instance is not an object")
            found.append(instance_from_dict(instance))
    return found


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedInstance(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedInstance("not a JSON object")
    return document


def _listed(value: Any) -> list[Any]:
    # Eureka's JSON always writes arrays; an older writer put a lone element bare.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def instance_from_dict(node: dict[str, Any]) -> InstanceInfo:
    """An InstanceInfo in Eureka's JSON form (a registration, a peer's replication or fetch)."""
    fields = dict(node)
    fields["port"] = _port_fields(node.get("port"))
    fields["securePort"] = _port_fields(node.get("securePort"))
    dc = node.get("dataCenterInfo")
    if dc is not None:
        if not isinstance(dc, dict):
            raise MalformedInstance("dataCenterInfo is not an object")
        fields["dataCenterInfo"] = (dc.get("@class"), dc.get("name"), dc.get("metadata"))
    if node.get("leaseInfo") is not None and not isinstance(node["leaseInfo"], dict):
        raise MalformedInstance("leaseInfo is not an object")
    return instance_from_fields(fields)

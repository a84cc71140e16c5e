"""Eureka's XML (XStream ``Converters``), what every client gets unless it asks for JSON.

py-eureka-client sends no Accept header and parses this strictly: ``port``/``securePort``
need an ``enabled`` attribute, ``dataCenterInfo`` a ``class`` attribute, numbers must be
numbers and the status override is the lowercase ``overriddenstatus``.

Metadata keys become element names, encoded as XStream's XmlFriendlyNameCoder does
(``_`` -> ``__``, ``$`` -> ``_-``); a key that still is no XML name is left out of the XML
(it stays in the JSON), and characters XML cannot carry are dropped, so one odd
registration cannot make the whole registry unreadable.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted

from registry.eureka.fields import AUTO_FIELDS, MalformedInstance, instance_from_fields
from registry.model import (
    EMPTY_MAP_CLASS,
    Application,
    Applications,
    DataCenter,
    InstanceInfo,
    Port,
)

MEDIA_TYPE = "application/xml"

_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_NAME = re.compile(r"^[^\W\d][\w.\-]*$")


def _clean(text: str) -> str:
    return _NOT_XML_CHARS.sub("", text)


def encode_name(key: str) -> str:
    return key.replace("_", "__").replace("$", "_-")


def decode_name(tag: str) -> str:
    return re.sub(r"_([_-])", lambda m: "_" if m.group(1) == "_" else "$", tag)


def _sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(str(text))
    return element


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _port(parent: ET.Element, tag: str, port: Port) -> None:
    _sub(parent, tag, port.number, enabled=_flag(port.enabled))


def _metadata(parent: ET.Element, entries: Mapping[str, str], *, empty_placeholder: bool) -> None:
    if not entries and empty_placeholder:
        _sub(parent, "metadata", **{"class": EMPTY_MAP_CLASS})
        return
    element = _sub(parent, "metadata")
    for key, value in entries.items():
        name = encode_name(key)
        if _XML_NAME.match(name):
            _sub(element, name, value)


def instance_element(info: InstanceInfo) -> ET.Element:
    """InstanceInfoConverter.marshal's order, then the @Auto fields in declaration order."""
    el = ET.Element("instance")
    _sub(el, "instanceId", info.instance_id)
    _sub(el, "hostName", info.host_name)
    _sub(el, "app", info.app)
    _sub(el, "ipAddr", info.ip_addr)
    if info.sid is not None:
        _sub(el, "sid", info.sid)
    _sub(el, "status", info.status.value)
    _sub(el, "overriddenstatus", info.overridden_status.value)
    _port(el, "port", info.port)
    _port(el, "securePort", info.secure_port)
    _sub(el, "countryId", info.country_id)
    dc = info.data_center or DataCenter()
    dc_el = _sub(el, "dataCenterInfo", **{"class": dc.class_name})
    _sub(dc_el, "name", dc.name)
    if dc.metadata:
        _metadata(dc_el, dc.metadata, empty_placeholder=False)
    lease_el = _sub(el, "leaseInfo")
    lease = info.lease
    _sub(lease_el, "renewalIntervalInSecs", lease.renewal_interval_secs)
    _sub(lease_el, "durationInSecs", lease.duration_secs)
    _sub(lease_el, "registrationTimestamp", lease.registration_ts)
    _sub(lease_el, "lastRenewalTimestamp", lease.last_renewal_ts)
    _sub(lease_el, "evictionTimestamp", lease.eviction_ts)
    _sub(lease_el, "serviceUpTimestamp", lease.service_up_ts)
    _metadata(el, info.metadata, empty_placeholder=True)
    for key, attr in AUTO_FIELDS:
        value = getattr(info, attr)
        if value is not None:
            _sub(el, key, value)
    _sub(el, "isCoordinatingDiscoveryServer", _flag(info.is_coordinating_discovery_server))
    _sub(el, "lastUpdatedTimestamp", info.last_updated_ts)
    _sub(el, "lastDirtyTimestamp", info.last_dirty_ts)
    if info.action_type is not None:
        _sub(el, "actionType", info.action_type.value)
    if info.asg_name is not None:
        _sub(el, "asgName", info.asg_name)
    return el


def instance_fragment(info: InstanceInfo) -> str:
    """One instance as it sits inside an application."""
    return _text(instance_element(info))


# Encodes one instance; the response cache passes one that remembers (registry/eureka/cache.py).
Fragment = Callable[[InstanceInfo], str]


def _text(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode")


def _leaf(tag: str, text: object) -> str:
    return _text(_sub(ET.Element("x"), tag, text))


def _application_text(app: Application, fragment: Fragment) -> str:
    # What ElementTree writes for the whole <application>, put together from the instances' own
    # texts so that an unchanged instance is not encoded again.
    return f"<application>{_leaf('name', app.name)}{''.join(fragment(i) for i in app.instances)}</application>"


def encode_instance(info: InstanceInfo) -> str:
    return instance_fragment(info)


def encode_application(app: Application, fragment: Fragment = instance_fragment) -> str:
    return _application_text(app, fragment)


def encode_applications(apps: Applications, fragment: Fragment = instance_fragment) -> str:
    head = _leaf("versions__delta", apps.version) + _leaf("apps__hashcode", apps.hash)
    return f"<applications>{head}{''.join(_application_text(a, fragment) for a in apps.applications)}</applications>"


def _read_metadata(element: ET.Element) -> dict[str, str]:
    return {decode_name(child.tag): child.text or "" for child in element}


def decode_instance(body: bytes) -> InstanceInfo:
    """A registration body: ``<instance>…</instance>``. DTDs and entities are refused."""
    try:
        # The parser refuses declarations as it meets them, in whatever encoding the body declares
        # (a byte pattern misses a UTF-16 ``<!DOCTYPE``); Eureka clients never send one.
        root = parse_untrusted(body, forbid_dtd=True)
    except DefusedXmlException:
        raise MalformedInstance("DOCTYPE and ENTITY declarations are not accepted") from None
    except ET.ParseError as exc:
        raise MalformedInstance(f"not XML: {exc}") from None
    if root.tag != "instance":
        raise MalformedInstance("expected <instance>")
    fields: dict[str, object] = {}
    for child in root:
        if child.tag in ("port", "securePort"):
            fields[child.tag] = (child.text, child.get("enabled"))
        elif child.tag == "dataCenterInfo":
            metadata = child.find("metadata")
            fields[child.tag] = (
                child.get("class"),
                child.findtext("name"),
                _read_metadata(metadata) if metadata is not None else None,
            )
        elif child.tag == "leaseInfo":
            fields[child.tag] = {item.tag: item.text for item in child}
        elif child.tag == "metadata":
            fields[child.tag] = _read_metadata(child)
        else:
            fields[child.tag] = child.text
    return instance_from_fields(fields)

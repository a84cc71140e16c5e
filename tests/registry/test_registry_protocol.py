"""Eureka's REST operations over HTTP: status codes, bodies, field forms, JSON/XML, gzip, delta."""

from __future__ import annotations

import copy
import gzip
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from py_eureka_client import eureka_basic

JSON = {"Accept": "application/json"}
OMS_ID = "127.0.0.1:oms:8101"

# What py-eureka-client 0.13 posts (eureka_client.__parepare_instance_info + register()).
PY_CLIENT_BODY: dict[str, Any] = {
    "instance": {
        "instanceId": OMS_ID,
        "hostName": "127.0.0.1",
        "app": "OMS",
        "ipAddr": "127.0.0.1",
        "port": {"$": 8101, "@enabled": "true"},
        "securePort": {"$": 9443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {
            "renewalIntervalInSecs": 30,
            "durationInSecs": 90,
            "registrationTimestamp": 0,
            "lastRenewalTimestamp": 0,
            "evictionTimestamp": 0,
            "serviceUpTimestamp": 0,
        },
        "metadata": {"management.port": "8101", "zone": "default"},
        "homePageUrl": "http://127.0.0.1:8101/",
        "statusPageUrl": "http://127.0.0.1:8101/health/ready",
        "healthCheckUrl": "http://127.0.0.1:8101/health",
        "secureHealthCheckUrl": "",
        "vipAddress": "oms",
        "secureVipAddress": "oms",
        "isCoordinatingDiscoveryServer": "false",
        "status": "UP",
        "overriddenstatus": "UNKNOWN",
        "lastUpdatedTimestamp": "1700000000000",
        "lastDirtyTimestamp": "1700000000000",
    }
}


def body(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(PY_CLIENT_BODY)
    for key, value in changes.items():
        if value is None:
            document["instance"].pop(key, None)
        else:
            document["instance"][key] = value
    return document


def register(api: TestClient, path_app: str = "OMS", **changes: Any) -> None:
    response = api.post(f"/eureka/apps/{path_app}", json=body(**changes))
    assert response.status_code == 204, response.text


def instances_json(api: TestClient) -> list[dict[str, Any]]:
    apps = api.get("/eureka/apps", headers=JSON).json()["applications"]["application"]
    return [i for a in apps for i in a["instance"]]


def test_register_answers_204_and_full_fetch_uses_eurekas_json_forms(api: TestClient) -> None:
    response = api.post("/eureka/apps/oms", json=body(metadata={}))
    assert response.status_code == 204
    assert response.content == b""
    response = api.get("/eureka/apps", headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    apps = response.json()["applications"]
    assert apps["versions__delta"] == "1"
    assert apps["apps__hashcode"] == "UP_1_"
    assert isinstance(apps["application"], list)
    assert apps["application"][0]["name"] == "OMS"
    instance = apps["application"][0]["instance"][0]
    lease = instance.pop("leaseInfo")
    assert lease["renewalIntervalInSecs"] == 30 and lease["durationInSecs"] == 90
    assert lease["evictionTimestamp"] == 0
    assert lease["registrationTimestamp"] == lease["lastRenewalTimestamp"] == lease["serviceUpTimestamp"] > 0
    updated = instance.pop("lastUpdatedTimestamp")
    assert isinstance(updated, str) and int(updated) == lease["registrationTimestamp"]
    assert instance == {
        "instanceId": OMS_ID,
        "hostName": "127.0.0.1",
        "app": "OMS",
        "ipAddr": "127.0.0.1",
        "status": "UP",
        "overriddenStatus": "UNKNOWN",
        "port": {"$": 8101, "@enabled": "true"},
        "securePort": {"$": 9443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "metadata": {"@class": "java.util.Collections$EmptyMap"},
        "homePageUrl": "http://127.0.0.1:8101/",
        "statusPageUrl": "http://127.0.0.1:8101/health/ready",
        "healthCheckUrl": "http://127.0.0.1:8101/health",
        "secureHealthCheckUrl": "",
        "vipAddress": "oms",
        "secureVipAddress": "oms",
        "isCoordinatingDiscoveryServer": "false",
        "lastDirtyTimestamp": "1700000000000",
        "actionType": "ADDED",
    }
    # Field order is the serializer's.
    keys = list(api.get("/eureka/apps", headers=JSON).json()["applications"]["application"][0]["instance"][0])
    assert keys[:12] == [
        "instanceId", "hostName", "app", "ipAddr", "status", "overriddenStatus", "port",
        "securePort", "countryId", "dataCenterInfo", "leaseInfo", "metadata",
    ]  # fmt: skip


def test_full_fetch_with_and_without_trailing_slash(api: TestClient) -> None:
    register(api)
    for path in ("/eureka/apps", "/eureka/apps/"):
        response = api.get(path, headers=JSON, follow_redirects=False)
        assert response.status_code == 200
        assert response.json()["applications"]["apps__hashcode"] == "UP_1_"


def test_xml_unless_accept_asks_for_json(api: TestClient) -> None:
    register(api)
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/xml"}):
        response = api.get("/eureka/apps/", headers=headers)
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.text)
        assert root.tag == "applications"
    assert [child.tag for child in root][:3] == ["versions__delta", "apps__hashcode", "application"]
    assert root.findtext("versions__delta") == "1"
    assert root.findtext("apps__hashcode") == "UP_1_"
    instance = root.find("application/instance")
    assert instance is not None
    assert [child.tag for child in instance][:12] == [
        "instanceId", "hostName", "app", "ipAddr", "status", "overriddenstatus", "port",
        "securePort", "countryId", "dataCenterInfo", "leaseInfo", "metadata",
    ]  # fmt: skip
    port = instance.find("port")
    assert port is not None and port.text == "8101" and port.get("enabled") == "true"
    assert instance.find("securePort").get("enabled") == "false"  # type: ignore[union-attr]
    data_center = instance.find("dataCenterInfo")
    assert data_center.get("class") == "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"  # type: ignore[union-attr]
    assert instance.findtext("dataCenterInfo/name") == "MyOwn"
    assert instance.findtext("overriddenstatus") == "UNKNOWN"
    assert instance.findtext("metadata/management.port") == "8101"
    assert instance.findtext("isCoordinatingDiscoveryServer") == "false"
    assert instance.findtext("actionType") == "ADDED"
    # JSON asked for explicitly
    assert api.get("/eureka/apps/", headers={"Accept": "application/json, */*"}).json()["applications"]


def test_empty_metadata_placeholder_in_xml_and_py_eureka_client_parses_it(api: TestClient) -> None:
    register(api, metadata={})
    register(api, "HMS", app="HMS", instanceId="127.0.0.1:hms:8102", metadata={"a_b": "<x&y>", "bad key": "v"})
    root = ET.fromstring(api.get("/eureka/apps/").text)
    oms = root.find("application[name='OMS']/instance/metadata")
    assert oms is not None and oms.get("class") == "java.util.Collections$EmptyMap" and len(oms) == 0
    hms = root.find("application[name='HMS']/instance/metadata")
    assert hms is not None and [(c.tag, c.text) for c in hms] == [("a__b", "<x&y>")]  # XStream's name coding
    # The real client's parser (strict: port@enabled, dataCenterInfo@class, int() on numbers).
    apps = eureka_basic._build_applications(ET.fromstring(api.get("/eureka/apps/").text.encode()))
    assert apps.apps__hashcode == "UP_2_"
    parsed = apps.get_application("HMS").get_instance("127.0.0.1:hms:8102")
    assert parsed.port.port == 8101 and parsed.port.enabled
    assert parsed.metadata == {"a__b": "<x&y>"}
    assert parsed.dataCenterInfo.className.endswith("DefaultDataCenterInfo")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hostName": None}, "Missing hostname"),
        ({"ipAddr": None}, "Missing ip address"),
        ({"app": None}, "Missing appName"),
        ({"instanceId": None, "hostName": None}, "Missing instanceId"),
        ({"app": "HMS"}, "Mismatched appName, expecting OMS but was HMS"),
        ({"dataCenterInfo": None}, "Missing dataCenterInfo"),
        ({"dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"}},
         "Missing dataCenterInfo Name"),
    ],
)  # fmt: skip
def test_register_refuses_missing_fields_with_400_text(api: TestClient, changes: dict, message: str) -> None:
    response = api.post("/eureka/apps/OMS", json=body(**changes))
    assert response.status_code == 400
    assert response.text == message
    assert response.headers["content-type"].startswith("text/plain")
    assert instances_json(api) == []


def test_register_refuses_malformed_bodies(api: TestClient) -> None:
    for content, content_type in [
        (b"{not json", "application/json"),
        (b'{"app": "OMS"}', "application/json"),
        (json.dumps(body(port={"$": "eighty", "@enabled": "true"})).encode(), "application/json"),
        (b"<instance><app>OMS</app", "application/xml"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><instance><app>&a;</app></instance>', "application/xml"),
    ]:
        response = api.post("/eureka/apps/OMS", content=content, headers={"Content-Type": content_type})
        assert response.status_code == 400, content
    assert instances_json(api) == []


_INSTANCE_XML = "<instance><app>&a;</app></instance>"
_LAUGHS = (
    '<!DOCTYPE x [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><instance><app>&j;</app></instance>"
)


@pytest.mark.parametrize(
    "content",
    [
        _LAUGHS.encode(),
        b'<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>' + _INSTANCE_XML.encode(),
        b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><instance><app>OMS</app></instance>',
        # A declaration the byte pattern cannot see: the same document in UTF-16.
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "OMS">]>' + _INSTANCE_XML).encode("utf-16"),
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "utf16-entity"],
)
def test_register_refuses_dtds_and_entities_with_the_same_400(api: TestClient, content: bytes) -> None:
    response = api.post("/eureka/apps/OMS", content=content, headers={"Content-Type": "application/xml"})
    assert response.status_code == 400
    assert response.text == "DOCTYPE and ENTITY declarations are not accepted"
    assert instances_json(api) == []


def test_register_accepts_xml_bodies(api: TestClient) -> None:
    xml = (
        "<instance><instanceId>10.0.0.5:pms:8107</instanceId><hostName>pms-1</hostName><app>pms</app>"
        "<ipAddr>10.0.0.5</ipAddr><status>UP</status><overriddenstatus>UNKNOWN</overriddenstatus>"
        '<port enabled="true">8107</port><securePort enabled="false">443</securePort><countryId>1</countryId>'
        '<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name>'
        "</dataCenterInfo><leaseInfo><renewalIntervalInSecs>5</renewalIntervalInSecs>"
        "<durationInSecs>15</durationInSecs></leaseInfo><metadata><a__b>1</a__b></metadata>"
        "<vipAddress>pms</vipAddress><lastDirtyTimestamp>42</lastDirtyTimestamp></instance>"
    )
    response = api.post("/eureka/apps/PMS", content=xml, headers={"Content-Type": "application/xml"})
    assert response.status_code == 204, response.text
    instance = api.get("/eureka/apps/PMS/10.0.0.5:pms:8107", headers=JSON).json()["instance"]
    assert instance["app"] == "PMS"
    assert instance["port"] == {"$": 8107, "@enabled": "true"}
    assert instance["leaseInfo"]["durationInSecs"] == 15
    assert instance["metadata"] == {"a_b": "1"}
    assert instance["lastDirtyTimestamp"] == "42"


def test_register_reads_spring_style_json(api: TestClient) -> None:
    """Spring's Jackson bean form: camelCase overriddenStatus, sid "na", numbers as numbers."""
    spring = body(
        overriddenstatus=None,
        overriddenStatus="OUT_OF_SERVICE",
        sid="na",
        status="STARTING",
        lastDirtyTimestamp=1700000000000,
        lastUpdatedTimestamp=1700000000000,
        isCoordinatingDiscoveryServer=False,
        actionType="ADDED",
        metadata={"management.port": "8101"},
    )
    assert api.post("/eureka/apps/OMS", json=spring).status_code == 204
    instance = instances_json(api)[0]
    assert "sid" not in instance
    assert instance["status"] == "STARTING"  # a client's STARTING/DOWN is believed
    assert instance["overriddenStatus"] == "OUT_OF_SERVICE"
    assert instance["lastDirtyTimestamp"] == "1700000000000"
    # Registering UP later: the override the client announced wins.
    spring["instance"].update(status="UP", lastDirtyTimestamp=1700000000001)
    assert api.post("/eureka/apps/OMS", json=spring).status_code == 204
    assert instances_json(api)[0]["status"] == "OUT_OF_SERVICE"


def test_heartbeat_codes(api: TestClient) -> None:
    register(api)
    url = f"/eureka/apps/OMS/{OMS_ID}"
    assert api.put(f"{url}?status=UP&lastDirtyTimestamp=1700000000000").status_code == 200
    assert api.put(f"{url}?status=DOWN").status_code == 200  # `status` is ignored
    assert instances_json(api)[0]["status"] == "UP"
    assert api.put(f"{url}?lastDirtyTimestamp=1699999999999").status_code == 200
    assert api.put(f"{url}?status=UP&lastDirtyTimestamp=1700000000001").status_code == 404
    assert api.put(f"{url}?lastDirtyTimestamp=soon").status_code == 400
    assert api.put("/eureka/apps/OMS/nobody").status_code == 404
    assert api.put(f"/eureka/apps/HMS/{OMS_ID}").status_code == 404
    assert api.put(f"/eureka/apps/oms/{OMS_ID}").status_code == 200  # the path app is upper-cased


def test_cancel_codes(api: TestClient) -> None:
    register(api)
    assert api.delete(f"/eureka/apps/OMS/{OMS_ID}").status_code == 200
    assert instances_json(api) == []
    assert api.delete(f"/eureka/apps/OMS/{OMS_ID}").status_code == 404
    assert api.put(f"/eureka/apps/OMS/{OMS_ID}").status_code == 404


def test_one_app_and_one_instance(api: TestClient) -> None:
    register(api)
    app = api.get("/eureka/apps/OMS", headers=JSON)
    assert app.status_code == 200
    assert app.json()["application"]["name"] == "OMS"
    assert [i["instanceId"] for i in app.json()["application"]["instance"]] == [OMS_ID]
    assert ET.fromstring(api.get("/eureka/apps/oms").text).tag == "application"
    missing = api.get("/eureka/apps/HMS")
    assert missing.status_code == 404 and missing.content == b""
    one = api.get(f"/eureka/apps/OMS/{OMS_ID}", headers=JSON)
    assert one.status_code == 200 and one.json()["instance"]["instanceId"] == OMS_ID
    assert ET.fromstring(api.get(f"/eureka/apps/OMS/{OMS_ID}").text).findtext("instanceId") == OMS_ID
    assert api.get("/eureka/apps/OMS/nobody").status_code == 404
    by_id = api.get(f"/eureka/instances/{OMS_ID}", headers=JSON)
    assert by_id.status_code == 200 and by_id.json()["instance"]["app"] == "OMS"
    assert api.get("/eureka/instances/nobody").status_code == 404


def test_vips(api: TestClient) -> None:
    register(api, vipAddress="oms,outpatient")
    apps = api.get("/eureka/vips/outpatient", headers=JSON).json()["applications"]
    assert apps["versions__delta"] == "-1" and apps["apps__hashcode"] == "UP_1_"
    assert apps["application"][0]["instance"][0]["instanceId"] == OMS_ID
    assert api.get("/eureka/vips/out", headers=JSON).json()["applications"]["application"] == []
    assert api.get("/eureka/svips/oms", headers=JSON).json()["applications"]["apps__hashcode"] == "UP_1_"


def test_gzip_when_accepted(api: TestClient) -> None:
    register(api)
    with api.stream("GET", "/eureka/apps/", headers={"Accept-Encoding": "gzip, deflate"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert ET.fromstring(gzip.decompress(raw)).findtext("apps__hashcode") == "UP_1_"
    with api.stream("GET", "/eureka/apps/", headers={"Accept-Encoding": "identity"}) as response:
        assert "content-encoding" not in response.headers
        assert b"".join(response.iter_raw()).startswith(b"<applications>")


def test_delta_and_hash(api: TestClient) -> None:
    register(api)
    register(api, instanceId="127.0.0.1:oms:8201")
    register(api, "HMS", app="HMS", instanceId="127.0.0.1:hms:8102", status="DOWN")
    delta = api.get("/eureka/apps/delta", headers=JSON).json()["applications"]
    assert delta["apps__hashcode"] == "DOWN_1_UP_2_"
    assert delta["versions__delta"] != "1"
    actions = {i["instanceId"]: i["actionType"] for a in delta["application"] for i in a["instance"]}
    assert actions == {OMS_ID: "ADDED", "127.0.0.1:oms:8201": "ADDED", "127.0.0.1:hms:8102": "ADDED"}
    # Heartbeats change nothing: same version.
    api.put(f"/eureka/apps/OMS/{OMS_ID}")
    assert (
        api.get("/eureka/apps/delta", headers=JSON).json()["applications"]["versions__delta"]
        == delta["versions__delta"]
    )
    api.delete("/eureka/apps/OMS/127.0.0.1:oms:8201")
    after = api.get("/eureka/apps/delta", headers=JSON).json()["applications"]
    assert int(after["versions__delta"]) > int(delta["versions__delta"])
    assert after["apps__hashcode"] == "DOWN_1_UP_1_"
    actions = {i["instanceId"]: i["actionType"] for a in after["application"] for i in a["instance"]}
    assert actions["127.0.0.1:oms:8201"] == "DELETED"
    xml = ET.fromstring(api.get("/eureka/apps/delta").text)
    assert xml.findtext("apps__hashcode") == "DOWN_1_UP_1_"
    assert xml.findtext("versions__delta") == after["versions__delta"]


def test_status_override(api: TestClient) -> None:
    register(api)
    url = f"/eureka/apps/OMS/{OMS_ID}/status"
    assert api.put(f"{url}?value=OUT_OF_SERVICE&lastDirtyTimestamp=1700000000000").status_code == 200
    instance = instances_json(api)[0]
    assert (instance["status"], instance["overriddenStatus"]) == ("OUT_OF_SERVICE", "OUT_OF_SERVICE")
    assert api.get("/eureka/apps/delta", headers=JSON).json()["applications"]["apps__hashcode"] == "OUT_OF_SERVICE_1_"
    assert api.put(f"/eureka/apps/OMS/{OMS_ID}").status_code == 200
    register(api, lastDirtyTimestamp="1700000000001")  # the client says UP again: the override wins
    assert instances_json(api)[0]["status"] == "OUT_OF_SERVICE"
    assert api.put(f"{url}?value=SLEEPING").status_code == 400
    assert api.put(f"{url}").status_code == 400
    assert api.put("/eureka/apps/OMS/nobody/status?value=UP").status_code == 404
    # Removing the override with a value sets it ...
    assert api.delete(f"{url}?value=UP").status_code == 200
    assert instances_json(api)[0]["status"] == "UP"
    # ... without one the status is UNKNOWN and the next heartbeat asks for a registration.
    api.put(f"{url}?value=OUT_OF_SERVICE")
    assert api.delete(url).status_code == 200
    assert instances_json(api)[0]["status"] == "UNKNOWN"
    assert api.put(f"/eureka/apps/OMS/{OMS_ID}").status_code == 404
    assert api.delete("/eureka/apps/OMS/nobody/status").status_code == 404


def test_metadata_update(api: TestClient) -> None:
    register(api)
    assert api.put(f"/eureka/apps/OMS/{OMS_ID}/metadata?weight=5&zone=b&zone=c").status_code == 200
    assert instances_json(api)[0]["metadata"] == {"management.port": "8101", "zone": "b", "weight": "5"}
    assert api.put("/eureka/apps/OMS/nobody/metadata?x=1").status_code == 404


def test_unknown_paths_are_problems_and_the_api_is_described(api: TestClient) -> None:
    response = api.get("/eureka/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    paths = api.get("/eureka/openapi.json").json()["paths"]
    assert "/eureka/apps/{app}/{instance_id}" in paths


def test_dashboard_lists_apps_and_escapes(api: TestClient) -> None:
    register(api)
    register(
        api,
        "HMS",
        app="HMS",
        instanceId="<script>alert(1)</script>",
        status="DOWN",
        healthCheckUrl="javascript:alert(1)",
    )
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "服务注册中心" in html
    assert "OMS" in html and OMS_ID in html and "在线 UP" in html and "下线 DOWN" in html
    # As Eureka's page: renewals in the last minute, self-preservation, peers, lease ages.
    for shown in ("上一分钟续约数", "自我保护", "未配置对等节点", "租约时长 Lease age", "距上次续约", "内存"):
        assert shown in html, shown
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    assert "default-src 'none'" in page.headers["content-security-policy"]

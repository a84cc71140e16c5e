"""Three registries given one another as peers: a client registered on one is seen on every one,
and with one killed the others keep serving and the platform's clients fail over to them."""

# ruff: noqa: ASYNC210 - the registries run in their own threads (conftest)

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import httpx
import pytest

from shared.registry_client import RegistryClient
from shared.settings import ServiceSettings
from tests.registry.conftest import PASSWORD, WRITER, LiveRegistry

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]

JSON = {"Accept": "application/json"}


def instance(app: str, n: int, *, dirty: int = 1000, status: str = "UP") -> dict[str, Any]:
    return {
        "instanceId": f"10.0.0.{n}:{app.lower()}:8100",
        "hostName": f"10.0.0.{n}",
        "app": app,
        "ipAddr": f"10.0.0.{n}",
        "status": status,
        "port": {"$": 8100, "@enabled": "true"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 1, "durationInSecs": 3},
        "lastDirtyTimestamp": str(dirty),
    }


def statuses(node: LiveRegistry) -> dict[str, str]:
    apps = httpx.get(f"{node.plain_url}apps/", headers=JSON).json()["applications"]["application"]
    return {i["instanceId"]: i["status"] for a in apps for i in a["instance"]}


@pytest.fixture
def cluster(live_registry: Callable[..., LiveRegistry]) -> Iterator[list[LiveRegistry]]:
    """A, B and C, each given all three (itself included, as a StatefulSet's pods are)."""
    nodes = [live_registry(start=False) for _ in range(3)]
    peers = ",".join(node.plain_url for node in nodes)
    for node in nodes:
        node.overrides.update(peer_urls=peers, peer_batch_delay_seconds=0.05, eviction_interval_seconds=0.25)
        node.start()
    yield nodes


async def test_a_write_on_one_node_reaches_every_node(cluster: list[LiveRegistry], eventually) -> None:
    a, b, c = cluster
    one = instance("OMS", 1)
    assert httpx.post(f"{a.plain_url}apps/OMS", json={"instance": one}, headers=WRITER).status_code == 204
    await eventually(lambda: all(statuses(n) == {"10.0.0.1:oms:8100": "UP"} for n in (b, c)), within=5)

    # A status override made on B reaches A and C; removing it too.
    path = "apps/OMS/10.0.0.1:oms:8100"
    assert httpx.put(f"{b.plain_url}{path}/status?value=OUT_OF_SERVICE", headers=WRITER).status_code == 200
    await eventually(lambda: all(statuses(n)["10.0.0.1:oms:8100"] == "OUT_OF_SERVICE" for n in (a, c)), within=5)
    assert httpx.delete(f"{c.plain_url}{path}/status?value=UP", headers=WRITER).status_code == 200
    await eventually(lambda: all(statuses(n)["10.0.0.1:oms:8100"] == "UP" for n in (a, b)), within=5)

    # Metadata, made on C.
    assert httpx.put(f"{c.plain_url}{path}/metadata?zone=east", headers=WRITER).status_code == 200

    def zone(node: LiveRegistry) -> str | None:
        answer = httpx.get(f"{node.plain_url}{path}", headers=JSON).json()["instance"]
        return answer["metadata"].get("zone")

    await eventually(lambda: zone(a) == zone(b) == "east", within=5)

    # Heartbeats on A keep the lease alive on B and C past its 3 s duration.
    for _ in range(12):
        assert httpx.put(f"{a.plain_url}{path}", headers=WRITER).status_code == 200
        await asyncio.sleep(0.4)
    assert "10.0.0.1:oms:8100" in statuses(b) and "10.0.0.1:oms:8100" in statuses(c)

    # A cancel on B is a cancel everywhere.
    assert httpx.delete(f"{b.plain_url}{path}", headers=WRITER).status_code == 200
    await eventually(lambda: all(statuses(n) == {} for n in (a, c)), within=5)
    # Each node found itself among its peers and does not send to itself.
    for node in cluster:
        states = [p.state for p in node.app.state.cluster.peers.states()]
        assert sorted(states) == ["ok", "ok", "self"], states
    # The dashboard shows the peers and their health (never a password).
    page = httpx.get(f"{a.base}/").text
    assert "对等节点 Peers" in page and "2 个，可用 2，不可用 0" in page
    assert page.count("正常 available") == 2 and "本节点 this registry" in page
    assert b.plain_url in page and PASSWORD not in page
    b.stop()
    await eventually(lambda: "不可达 unreachable" in _after_a_write(a), within=5)


def _after_a_write(node: LiveRegistry) -> str:
    httpx.post(f"{node.plain_url}apps/DBS", json={"instance": instance("DBS", 2)}, headers=WRITER)
    return httpx.get(f"{node.base}/").text


class OmsSettings(ServiceSettings):
    component: ClassVar[str] = "oms"


async def test_with_one_node_killed_the_others_serve_and_clients_fail_over(
    cluster: list[LiveRegistry], tmp_path, eventually
) -> None:
    a, b, c = cluster
    urls = ",".join(n.url for n in cluster)
    settings = OmsSettings(
        registry_urls=urls,
        port=8101,
        host="127.0.0.1",
        registry_renewal_seconds=1,
        registry_lease_seconds=3,
        var_dir=tmp_path,
        log_to_file=False,
    )
    client = RegistryClient(settings, discover=True)
    await client.start()
    try:
        await eventually(lambda: all("127.0.0.1:oms:8101" in statuses(n) for n in cluster), within=5)
        a.stop()
        # Three lease durations later the instance is still registered on B and C: its heartbeats
        # now go to B, which passes them on to C.
        await asyncio.sleep(9)
        assert "127.0.0.1:oms:8101" in statuses(b)
        assert "127.0.0.1:oms:8101" in statuses(c)
        assert [i.instance_id for i in client.instances("OMS")] == ["127.0.0.1:oms:8101"]
        # A restarted empty fills itself from its peers at once, before any heartbeat reaches it.
        a.overrides["peer_batch_delay_seconds"] = 0.05
        a.start()
        await eventually(lambda: "127.0.0.1:oms:8101" in statuses(a), within=3)
    finally:
        await client.stop()
    await eventually(lambda: all(statuses(n) == {} for n in (b, c)), within=5)


async def test_the_newer_registration_wins_between_peers(cluster: list[LiveRegistry], eventually) -> None:
    """lastDirtyTimestamp settles it, as in Eureka: an older registration replicated to a node that
    has a newer one is not taken; a heartbeat carrying the older one is answered 409 with the newer
    one, which the sender then takes."""
    a, b, _ = cluster
    newer, older = instance("OMS", 7, dirty=2000, status="DOWN"), instance("OMS", 7, dirty=1000, status="UP")
    replicated = WRITER | {"x-netflix-discovery-replication": "true"}  # not passed on: B alone gets it
    assert httpx.post(f"{b.plain_url}apps/OMS", json={"instance": newer}, headers=replicated).status_code == 204
    assert httpx.post(f"{a.plain_url}apps/OMS", json={"instance": older}, headers=replicated).status_code == 204
    assert statuses(b)["10.0.0.7:oms:8100"] == "DOWN"
    # A's registration (older) reaches B by replication: B keeps its own.
    batch = {
        "replicationList": [
            {"appName": "OMS", "id": "10.0.0.7:oms:8100", "instanceInfo": older, "action": "Register"},
            {"appName": "OMS", "id": "10.0.0.7:oms:8100", "lastDirtyTimestamp": 1000, "action": "Heartbeat"},
            {"appName": "OMS", "id": "10.0.0.7:oms:8100", "lastDirtyTimestamp": 3000, "action": "Heartbeat"},
            {"appName": "OMS", "id": "10.0.0.9:oms:8100", "lastDirtyTimestamp": 1000, "action": "Heartbeat"},
        ]
    }
    answer = httpx.post(f"{b.plain_url}peerreplication/batch/", json=batch, headers=WRITER)
    assert answer.status_code == 200
    results = answer.json()["responseList"]
    assert [r["statusCode"] for r in results] == [200, 409, 404, 404]
    assert results[1]["responseEntity"]["status"] == "DOWN"
    assert results[1]["responseEntity"]["lastDirtyTimestamp"] == "2000"
    assert statuses(b)["10.0.0.7:oms:8100"] == "DOWN"
    # Through the real path: A's heartbeat goes to B, B answers 409, and A takes B's registration.
    assert httpx.put(f"{a.plain_url}apps/OMS/10.0.0.7:oms:8100", headers=WRITER).status_code == 200
    await eventually(lambda: statuses(a)["10.0.0.7:oms:8100"] == "DOWN", within=5)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not JSON"),
        (b"[]", "replicationList"),
        (
            b'{"replicationList": [{"appName": "OMS", "id": "x", "action": "Explode"}]}',
            "replicationList[0]: unknown action",
        ),
        (b'{"replicationList": [{"appName": "OMS", "action": "Cancel"}]}', "missing id"),
        (
            b'{"replicationList": [{"appName": "OMS", "id": "x", "action": "Register"}]}',
            "Register without instanceInfo",
        ),
        (
            b'{"replicationList": [{"appName": "OMS", "id": "x", "action": "Cancel"}, '
            b'{"appName": "HMS", "id": "y", "action": "Register", "instanceInfo": {"instanceId": "y", "app": "HMS"}}]}',
            "replicationList[1]: Missing hostname",
        ),
        (b'{"replicationList": [{"appName": "OMS", "id": "x", "action": "StatusUpdate"}]}', "without status"),
        (
            b'{"replicationList": [{"appName": "OMS", "id": "x", "action": "Heartbeat", '
            b'"lastDirtyTimestamp": "soon"}]}',
            "lastDirtyTimestamp is not a number",
        ),
        (
            json.dumps({"replicationList": [{"appName": "A", "id": "x", "action": "Cancel"}] * 1001}).encode(),
            "too many",
        ),
        (b" " * (8 * 1024 * 1024 + 1), "Batch too large"),
    ],
)
def test_a_malformed_batch_is_refused_whole_and_changes_nothing(api, body: bytes, reason: str) -> None:
    api.post("/eureka/apps/OMS", json={"instance": instance("OMS", 1)})
    before = api.get("/eureka/apps/", headers=JSON).json()
    answer = api.post("/eureka/peerreplication/batch/", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert reason in answer.text
    assert api.get("/eureka/apps/", headers=JSON).json() == before


def test_a_batch_needs_the_credentials(api) -> None:
    batch = {"replicationList": [{"appName": "OMS", "id": "10.0.0.1:oms:8100", "action": "Cancel"}]}
    assert api.post("/eureka/peerreplication/batch/", json=batch, headers={"Authorization": ""}).status_code == 401

"""A Spring Eureka server as one of the peers: two of our registries and a Spring Cloud Netflix
server replicate to one another in Eureka's batch form, both ways, with credentials."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.registry.conftest import PASSWORD, USER, WRITER, LiveRegistry
from tests.support.servers import free_port
from tests.support.spring import SpringEurekaServer, spring_jars

JSON = {"Accept": "application/json"}


def instance(app: str, n: int) -> dict[str, Any]:
    return {
        "instance": {
            "instanceId": f"10.1.0.{n}:{app.lower()}:8100",
            "hostName": f"10.1.0.{n}",
            "app": app,
            "ipAddr": f"10.1.0.{n}",
            "vipAddress": app.lower(),
            "status": "UP",
            "port": {"$": 8100, "@enabled": "true"},
            "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
            "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 300},
        }
    }


def ids(url: str, app: str, auth: tuple[str, str] | None = None) -> list[str]:
    answer = httpx.get(f"{url}apps/{app}", headers=JSON, auth=auth)
    if answer.status_code != 200:
        return []
    return sorted(i["instanceId"] for i in answer.json()["application"]["instance"])


def eventually(check: Callable[[], Any], within: float, spring: SpringEurekaServer, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}\n{spring.tail()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def peers() -> Iterator[tuple[LiveRegistry, LiveRegistry, SpringEurekaServer]]:
    spring_jars()
    a, b = LiveRegistry(), LiveRegistry()
    spring_port = free_port()
    spring_url = f"http://{USER}:{PASSWORD}@127.0.0.1:{spring_port}/eureka/"
    for node in (a, b):
        node.overrides.update(peer_urls=f"{a.plain_url},{b.plain_url},{spring_url}", peer_batch_delay_seconds=0.05)
        node.start()
    spring = SpringEurekaServer(PASSWORD, peers=[a.url, b.url], port=spring_port)
    try:
        with spring:
            yield a, b, spring
    finally:
        a.stop()
        b.stop()


def test_a_registration_on_ours_reaches_the_spring_peer(peers) -> None:
    a, b, spring = peers
    assert httpx.post(f"{a.plain_url}apps/LAB", json=instance("LAB", 1), headers=WRITER).status_code == 204
    eventually(lambda: ids(spring.url, "LAB", spring.auth) == ["10.1.0.1:lab:8100"], 10, spring, "LAB on Spring")
    assert ids(b.plain_url, "LAB") == ["10.1.0.1:lab:8100"]
    # A cancel on B reaches the Spring server too.
    assert httpx.delete(f"{b.plain_url}apps/LAB/10.1.0.1:lab:8100", headers=WRITER).status_code == 200
    eventually(lambda: ids(spring.url, "LAB", spring.auth) == [], 10, spring, "LAB cancelled on Spring")


def test_a_registration_on_the_spring_peer_reaches_ours(peers) -> None:
    a, b, spring = peers
    answer = httpx.post(f"{spring.url}apps/PACS", json=instance("PACS", 2), auth=spring.auth)
    assert answer.status_code == 204, answer.text
    for node in (a, b):
        eventually(lambda n=node: ids(n.plain_url, "PACS") == ["10.1.0.2:pacs:8100"], 10, spring, "PACS on ours")
    # A status override made on the Spring server is replicated in Eureka's form and taken here.
    path = "apps/PACS/10.1.0.2:pacs:8100"
    assert httpx.put(f"{spring.url}{path}/status?value=OUT_OF_SERVICE", auth=spring.auth).status_code == 200

    def out_of_service(node: LiveRegistry) -> bool:
        return httpx.get(f"{node.plain_url}{path}", headers=JSON).json()["instance"]["status"] == "OUT_OF_SERVICE"

    eventually(lambda: out_of_service(a) and out_of_service(b), 10, spring, "the override on ours")
    # Our peers took the Spring server's batches: it shows on their dashboards as an available peer.
    states = {p.url: p.state for p in a.app.state.cluster.peers.states()}
    assert states[spring.url] == "ok", states

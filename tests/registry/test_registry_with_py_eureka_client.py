"""The real py-eureka-client (its EurekaClient class) against the registry served for real."""

# The registry runs in its own thread (see conftest), so the plain blocking HTTP calls these
# tests make to look at it cannot hold it up.
# ruff: noqa: ASYNC210, ASYNC220

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import httpx
import pytest
from py_eureka_client import eureka_basic

pytestmark = [
    pytest.mark.anyio,
    # py-eureka-client logs with Logger.warn
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]

JSON = {"Accept": "application/json"}


def instance_ids(registry, app: str | None = None) -> list[str]:
    apps = httpx.get(f"{registry.url}apps/", headers=JSON).json()["applications"]["application"]
    return sorted(i["instanceId"] for a in apps if app in (None, a["name"]) for i in a["instance"])


def lease_of(registry, app: str, instance_id: str) -> dict:
    response = httpx.get(f"{registry.url}apps/{app}/{instance_id}", headers=JSON)
    return response.json()["instance"]["leaseInfo"] if response.status_code == 200 else {}


async def test_register_appears_in_json_and_xml(registry, eureka_clients) -> None:
    await eureka_clients(registry, "alpha", 9001, metadata={"build": "42"})
    apps = httpx.get(f"{registry.url}apps/", headers=JSON).json()["applications"]
    assert apps["apps__hashcode"] == "UP_1_"
    instance = apps["application"][0]["instance"][0]
    assert apps["application"][0]["name"] == "ALPHA"
    assert instance["instanceId"] == "127.0.0.1:alpha:9001"
    assert instance["port"] == {"$": 9001, "@enabled": "true"}
    assert instance["metadata"] == {"management.port": "9001", "zone": "default", "build": "42"}
    assert instance["leaseInfo"]["durationInSecs"] == 90
    assert instance["healthCheckUrl"] == "http://127.0.0.1:9001/health"
    # What the client itself reads: XML, parsed by its own strict parser.
    response = httpx.get(f"{registry.url}apps/", headers={"Accept": "*/*"})
    assert response.headers["content-type"].startswith("application/xml")
    apps_xml = eureka_basic._build_applications(ET.fromstring(response.text))
    parsed = apps_xml.get_application("ALPHA").get_instance("127.0.0.1:alpha:9001")
    assert parsed.status == "UP" and parsed.port.port == 9001 and parsed.port.enabled
    assert parsed.metadata["build"] == "42"
    assert apps_xml.apps__hashcode == "UP_1_"
    # The library's own fetch functions against the registry
    assert (await eureka_basic.get_application(registry.url, "alpha")).name == "ALPHA"
    one = await eureka_basic.get_app_instance(registry.url, "ALPHA", "127.0.0.1:alpha:9001")
    assert one.ipAddr == "127.0.0.1" and one.leaseInfo.durationInSecs == 90


async def test_discovery_sees_other_instances_and_follows_the_delta(registry, eureka_clients, eventually) -> None:
    await eureka_clients(registry, "alpha", 9001)
    watcher = await eureka_clients(
        registry, "watcher", 9009, should_discover=True, renewal_interval_in_secs=1, duration_in_secs=5
    )
    alpha = watcher.applications.get_application("ALPHA")
    assert [i.instanceId for i in alpha.up_instances] == ["127.0.0.1:alpha:9001"]
    assert alpha.get_instance("127.0.0.1:alpha:9001").port.port == 9001
    # A second ALPHA instance reaches the watcher through its heartbeat thread's delta fetch.
    await eureka_clients(registry, "alpha", 9002)

    def watcher_sees_both() -> bool:
        found = watcher.applications.get_application("ALPHA").up_instances
        return sorted(i.instanceId for i in found) == ["127.0.0.1:alpha:9001", "127.0.0.1:alpha:9002"]

    await eventually(watcher_sees_both)
    # And a cancelled one leaves it.
    httpx.delete(f"{registry.url}apps/ALPHA/127.0.0.1:alpha:9002")

    def watcher_sees_one() -> bool:
        found = watcher.applications.get_application("ALPHA").up_instances
        return [i.instanceId for i in found] == ["127.0.0.1:alpha:9001"]

    await eventually(watcher_sees_one)


async def test_stop_cancels_the_lease(registry, eureka_clients) -> None:
    client = await eureka_clients(registry, "alpha", 9001)
    await eureka_clients(registry, "beta", 9002)
    assert instance_ids(registry) == ["127.0.0.1:alpha:9001", "127.0.0.1:beta:9002"]
    await client.stop()
    assert instance_ids(registry) == ["127.0.0.1:beta:9002"]


CLIENT_PROCESS = textwrap.dedent(
    """
    import asyncio, sys, time
    from py_eureka_client.eureka_client import EurekaClient

    async def main():
        client = EurekaClient(eureka_server=sys.argv[1], app_name="doomed", instance_host="127.0.0.1",
                              instance_ip="127.0.0.1", instance_port=9100, renewal_interval_in_secs=0.5,
                              duration_in_secs=2, should_discover=False)
        await client.start()
        print("started", flush=True)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_heartbeats_keep_the_lease_and_a_killed_client_is_evicted(registry, eventually) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT_PROCESS, registry.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # skip the library's log lines
            if line.strip() == "started":
                break
        else:
            raise AssertionError("the client process did not start")
        registered = lease_of(registry, "DOOMED", "127.0.0.1:doomed:9100")
        assert registered["durationInSecs"] == 2
        # Well past the 2 s lease, heartbeats (every 0.5 s, from the library's own thread) keep it.
        await eventually(
            lambda: (
                lease_of(registry, "DOOMED", "127.0.0.1:doomed:9100").get("lastRenewalTimestamp", 0)
                > registered["registrationTimestamp"] + 2500
            ),
            within=6,
        )
        assert instance_ids(registry, "DOOMED") == ["127.0.0.1:doomed:9100"]
        os.kill(process.pid, signal.SIGKILL)  # no cancel, no more heartbeats
        process.wait(5)
        killed_at = lease_of(registry, "DOOMED", "127.0.0.1:doomed:9100")["lastRenewalTimestamp"]
        await eventually(lambda: instance_ids(registry, "DOOMED") == [], within=6)
        delta = httpx.get(f"{registry.url}apps/delta", headers=JSON).json()["applications"]
        gone = [i for a in delta["application"] for i in a["instance"]]
        assert [(i["instanceId"], i["actionType"]) for i in gone] == [("127.0.0.1:doomed:9100", "DELETED")]
        assert gone[0]["leaseInfo"]["evictionTimestamp"] >= killed_at + 2000
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


async def test_a_404_heartbeat_makes_the_client_register_again(registry, eureka_clients, eventually) -> None:
    await eureka_clients(registry, "alpha", 9001, renewal_interval_in_secs=0.5, duration_in_secs=5)
    first = lease_of(registry, "ALPHA", "127.0.0.1:alpha:9001")["registrationTimestamp"]
    # The registry loses the lease (an operator's cancel): the next heartbeat gets 404.
    assert httpx.delete(f"{registry.url}apps/ALPHA/127.0.0.1:alpha:9001").status_code == 200
    assert instance_ids(registry) == []
    await eventually(lambda: instance_ids(registry) == ["127.0.0.1:alpha:9001"])
    assert lease_of(registry, "ALPHA", "127.0.0.1:alpha:9001")["registrationTimestamp"] > first


async def test_the_client_registers_again_after_a_registry_restart(registry, eureka_clients, eventually) -> None:
    watcher = await eureka_clients(
        registry, "watcher", 9009, should_discover=True, renewal_interval_in_secs=0.5, duration_in_secs=5
    )
    await eureka_clients(registry, "alpha", 9001, renewal_interval_in_secs=0.5, duration_in_secs=5)
    registry.restart()  # same port, empty registry
    assert instance_ids(registry) == []
    await eventually(lambda: instance_ids(registry) == ["127.0.0.1:alpha:9001", "127.0.0.1:watcher:9009"])
    await eventually(lambda: watcher.applications.get_application("ALPHA").up_instances)

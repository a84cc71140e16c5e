"""shared.registry_client.RegistryClient against the registry served for real."""

# The registry runs in its own thread (see conftest), so the plain blocking HTTP calls these
# tests make to look at it cannot hold it up.
# ruff: noqa: ASYNC210

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import httpx
import pytest
from py_eureka_client.eureka_client import EurekaClient

from shared.registry_client import InstanceAddress, RegistryClient, announced_host
from shared.settings import ServiceSettings

pytestmark = [
    pytest.mark.anyio,
    # py-eureka-client logs with Logger.warn
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]

JSON = {"Accept": "application/json"}


class AlphaSettings(ServiceSettings):
    component: ClassVar[str] = "alpha"


class BetaSettings(ServiceSettings):
    component: ClassVar[str] = "beta"


def settings(cls: type[ServiceSettings], registry_urls: str, port: int, **kw: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "registry_urls": registry_urls,
        "port": port,
        "host": "127.0.0.1",
        "public_host": "",
        "registry_renewal_seconds": 1,
        "registry_lease_seconds": 3,
        "log_to_file": False,
        **kw,
    }
    return cls(**values)


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., RegistryClient]]:
    made: list[RegistryClient] = []

    def make(s: ServiceSettings, **kw: Any) -> RegistryClient:
        client = RegistryClient(s, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.stop()


def registered(registry) -> dict[str, dict]:
    apps = httpx.get(f"{registry.url}apps/", headers=JSON).json()["applications"]["application"]
    return {i["instanceId"]: i for a in apps for i in a["instance"]}


async def test_start_registers_and_another_client_discovers_it(registry, clients) -> None:
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    await alpha.start()
    instance = registered(registry)["127.0.0.1:alpha:9001"]
    assert instance["app"] == "ALPHA"
    assert (instance["hostName"], instance["ipAddr"]) == ("127.0.0.1", "127.0.0.1")
    assert instance["port"] == {"$": 9001, "@enabled": "true"}
    assert instance["healthCheckUrl"] == "http://127.0.0.1:9001/health"
    assert instance["statusPageUrl"] == "http://127.0.0.1:9001/health/ready"
    assert (instance["leaseInfo"]["renewalIntervalInSecs"], instance["leaseInfo"]["durationInSecs"]) == (1, 3)
    assert instance["metadata"]["component"] == "alpha"

    beta = clients(settings(BetaSettings, registry.url, 9002), discover=True)
    await beta.start()
    expected = [InstanceAddress("ALPHA", "127.0.0.1:alpha:9001", "127.0.0.1", 9001, "http://127.0.0.1:9001")]
    assert beta.instances("ALPHA") == expected
    assert beta.instances("alpha") == expected
    assert beta.instances("GAMMA") == []
    assert alpha.instances("BETA") == []  # alpha does not discover


async def test_only_up_instances_are_offered(registry, clients, eventually) -> None:
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    await alpha.start()
    beta = clients(settings(BetaSettings, registry.url, 9002), discover=True)
    await beta.start()
    assert [a.instance_id for a in beta.instances("ALPHA")] == ["127.0.0.1:alpha:9001"]
    url = f"{registry.url}apps/ALPHA/127.0.0.1:alpha:9001/status?value=OUT_OF_SERVICE"
    assert httpx.put(url).status_code == 200
    await eventually(lambda: beta.instances("ALPHA") == [])


async def test_discovery_follows_registrations_and_cancellations(registry, clients, eventually) -> None:
    beta = clients(settings(BetaSettings, registry.url, 9002), discover=True)
    await beta.start()
    assert beta.instances("ALPHA") == []
    alpha = clients(settings(AlphaSettings, registry.url, 9001, public_host="localhost"))
    await alpha.start()
    found = await eventually(lambda: beta.instances("ALPHA"))
    # public_host is announced; the address to call is its IP.
    assert found == [InstanceAddress("ALPHA", "localhost:alpha:9001", "localhost", 9001, "http://127.0.0.1:9001")]
    await alpha.stop()
    await eventually(lambda: beta.instances("ALPHA") == [])


async def test_refresh_finds_an_app_registered_since_the_last_fetch(registry, clients) -> None:
    # A long renewal: without refresh, beta would not see alpha for a minute.
    beta = clients(settings(BetaSettings, registry.url, 9002, registry_renewal_seconds=60), discover=True)
    await beta.start()
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    await alpha.start()
    assert beta.instances("ALPHA") == []
    await beta.refresh()
    assert [a.instance_id for a in beta.instances("ALPHA")] == ["127.0.0.1:alpha:9001"]


async def test_starting_is_not_offered_and_stays_starting_until_up(registry, clients, eventually) -> None:
    # A service registers STARTING and says UP once it serves (shared.app.announce_part).
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    await alpha.start(status="STARTING")
    beta = clients(settings(BetaSettings, registry.url, 9002), discover=True)
    await beta.start()
    assert registered(registry)["127.0.0.1:alpha:9001"]["status"] == "STARTING"
    assert beta.instances("ALPHA") == []
    assert not await alpha.announced()
    # A registry restarted empty answers the heartbeat 404: the library would register UP again.
    registry.restart()
    await eventually(lambda: "127.0.0.1:alpha:9001" in registered(registry))
    assert registered(registry)["127.0.0.1:alpha:9001"]["status"] == "STARTING"
    await alpha.up()
    assert await alpha.announced()
    assert registered(registry)["127.0.0.1:alpha:9001"]["status"] == "UP"
    await eventually(lambda: [a.instance_id for a in beta.instances("ALPHA")] == ["127.0.0.1:alpha:9001"])


async def test_stop_cancels_the_lease_and_nothing_registers_it_again(registry, clients) -> None:
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    await alpha.start()
    await asyncio.sleep(1.5)  # the heartbeat has run at least once
    assert "127.0.0.1:alpha:9001" in registered(registry)
    await alpha.stop()
    assert registered(registry) == {}
    # py-eureka-client's own heartbeat thread would register it again here.
    await asyncio.sleep(2.5)
    assert registered(registry) == {}


async def test_start_without_a_registry_does_not_fail_and_registers_later(live_registry, clients, eventually) -> None:
    registry = live_registry(start=False)  # the port refuses connections
    alpha = clients(settings(AlphaSettings, registry.url, 9001))
    beta = clients(settings(BetaSettings, registry.url, 9002), discover=True)
    started = time.monotonic()
    await alpha.start()
    await beta.start()
    assert time.monotonic() - started < 2
    assert beta.instances("ALPHA") == []
    registry.start()
    await eventually(lambda: "127.0.0.1:alpha:9001" in registered(registry))
    await eventually(lambda: [a.instance_id for a in beta.instances("ALPHA")] == ["127.0.0.1:alpha:9001"])


async def test_a_registry_that_never_answers_does_not_hold_up_start_or_stop(clients) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/eureka/"
        alpha = clients(settings(AlphaSettings, url, 9001), start_timeout=0.5, stop_timeout=1.0)
        started = time.monotonic()
        await alpha.start()
        assert time.monotonic() - started < 1.5
        started = time.monotonic()
        await alpha.stop()
        assert time.monotonic() - started < 2.5


async def test_without_registry_urls_nothing_happens(registry, clients) -> None:
    alpha = clients(settings(AlphaSettings, "", 9001), discover=True)
    await alpha.start()
    await asyncio.sleep(0.2)
    assert registered(registry) == {}
    assert alpha.instances("ALPHA") == []
    await alpha.stop()


def test_announced_host() -> None:
    assert announced_host(settings(AlphaSettings, "", 1, public_host="oms-0.oms", host="0.0.0.0")) == "oms-0.oms"
    assert announced_host(settings(AlphaSettings, "", 1, host="10.0.0.7")) == "10.0.0.7"
    assert announced_host(settings(AlphaSettings, "", 1, host="0.0.0.0")) == socket.gethostname()


def test_py_eureka_client_internals_it_relies_on() -> None:
    """RegistryClient replaces the library's heartbeat thread and reads its last fetch."""
    client = EurekaClient(app_name="x", instance_port=1, should_discover=True)
    assert callable(client._EurekaClient__heartbeat)  # type: ignore[attr-defined]
    assert hasattr(client._EurekaClient__heartbeat_timer, "start")  # type: ignore[attr-defined]
    assert client._EurekaClient__applications is None  # type: ignore[attr-defined]
    assert callable(client._EurekaClient__pull_full_registry)  # type: ignore[attr-defined]

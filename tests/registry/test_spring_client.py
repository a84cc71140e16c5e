"""Spring Cloud Netflix's Eureka client (a Spring Boot 4 app, tests/fixtures/spring/eureka-app) against
HAMP's registry served for real: what a hospital's own Spring services rely on when they join.

One registry and one Spring app for the module (a JVM start is seconds); the tests run in file order,
the last one stops the app. The registry demands its credentials for every write, so the app having
registered at all is the proof that the credentials in its registry URL work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.registry.conftest import LOOPBACK, PASSWORD, USER, WRITER, LiveRegistry
from tests.support.spring import SpringApp, spring_jars

JSON = {"Accept": "application/json"}
# Plenty for the module: a registration made here must not expire while the tests look at it.
LEASE_SECONDS = 300


def eventually(check: Callable[[], Any], within: float, app: SpringApp, what: str) -> Any:
    """Poll `check` until it answers something truthy; on timeout fail with the app's log."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}\n{app.tail()}")
        time.sleep(0.1)


def instance(registry: LiveRegistry, app: str, instance_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{registry.plain_url}apps/{app}/{instance_id}", headers=JSON)
    return answer.json()["instance"] if answer.status_code == 200 else None


def register(registry: LiveRegistry, app: str, port: int) -> str:
    """A registration as any Eureka client sends it (raw HTTP, the registry's credentials). Spring's
    DiscoveryClient finds instances by VIP address, which every client sets to its app name."""
    instance_id = f"{LOOPBACK}:{app.lower()}:{port}"
    body = {
        "instance": {
            "instanceId": instance_id,
            "hostName": LOOPBACK,
            "app": app,
            "ipAddr": LOOPBACK,
            "vipAddress": app.lower(),
            "status": "UP",
            "port": {"$": port, "@enabled": "true"},
            "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
            "leaseInfo": {"durationInSecs": LEASE_SECONDS},
        }
    }
    answer = httpx.post(f"{registry.plain_url}apps/{app}", json=body, headers=WRITER)
    assert answer.status_code == 204, answer.text
    return instance_id


def seen_ids(app: SpringApp, name: str) -> list[str]:
    return [str(i["instanceId"]) for i in app.discovered(name)]


@pytest.fixture(scope="module")
def ours() -> Iterator[LiveRegistry]:
    spring_jars()
    registry = LiveRegistry().start()
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope="module")
def ward(ours: LiveRegistry) -> str:
    """A WARD instance registered before the Spring app starts: it reaches the app in its full fetch."""
    return register(ours, "WARD", 9101)


@pytest.fixture(scope="module")
def intruder(ours: LiveRegistry) -> Iterator[SpringApp]:
    """A Spring app given a wrong registry password; started without waiting, so that its JVM boots
    alongside the lab app's."""
    app = SpringApp(f"http://{USER}:not-{PASSWORD}@{LOOPBACK}:{ours.port}/eureka/", name="intruder")
    app.start(wait=False)
    with app:
        yield app


@pytest.fixture(scope="module")
def lab(ours: LiveRegistry, ward: str, intruder: SpringApp) -> Iterator[tuple[SpringApp, list[str]]]:
    """The Spring app (with a 2 s warm-up before it is UP) and the statuses the registry showed for it
    while it started, in order. (`intruder` only boots at the same time.)"""
    app = SpringApp(
        ours.url,
        lease_seconds=30,
        warm_up_ms=2000,
        # Which fetches it made, full or delta, and whether its merged delta matched our hash.
        properties={"logging.level.com.netflix.discovery.DiscoveryClient": "DEBUG"},
    )
    app.start(wait=False)
    with app:
        seen: list[str] = []

        def up() -> bool:
            found = instance(ours, "LAB", app.instance_id)
            if found and (not seen or seen[-1] != found["status"]):
                seen.append(found["status"])
            return bool(seen) and seen[-1] == "UP"

        deadline = time.monotonic() + 90
        while not up():
            assert app.process is not None and app.process.poll() is None, app.tail()
            assert time.monotonic() < deadline, f"the Spring app never was UP\n{app.tail()}"
            time.sleep(0.05)
        app.wait_ready()
        yield app, seen


def test_registers_as_starting_then_up(ours: LiveRegistry, lab: tuple[SpringApp, list[str]]) -> None:
    app, seen = lab
    assert seen == ["STARTING", "UP"], app.tail()
    registered = instance(ours, "LAB", app.instance_id)
    assert registered is not None
    assert registered["instanceId"] == f"127.0.0.1:lab:{app.port}"
    assert (registered["app"], registered["ipAddr"]) == ("LAB", "127.0.0.1")
    assert registered["port"] == {"$": app.port, "@enabled": "true"}
    assert registered["healthCheckUrl"] == f"http://127.0.0.1:{app.port}/actuator/health"
    assert registered["leaseInfo"]["durationInSecs"] == 30
    # Its springdoc document, with the permission of each operation where the gateway reads it.
    paths = httpx.get(f"{app.base}/v3/api-docs").json()["paths"]
    assert paths["/results/{id}"]["get"]["x-permission"] == "lab:result:read"
    assert paths["/orders"]["post"]["x-permission"] == "lab:order:write"


def test_renews_its_lease(ours: LiveRegistry, lab: tuple[SpringApp, list[str]]) -> None:
    app, _ = lab

    def last_renewal() -> int:
        found = instance(ours, "LAB", app.instance_id)
        assert found is not None, app.tail()
        return int(found["leaseInfo"]["lastRenewalTimestamp"])

    first = last_renewal()
    eventually(lambda: last_renewal() > first, 5, app, "a renewal")


def test_fetches_the_registry_in_full_then_by_delta(
    ours: LiveRegistry, ward: str, lab: tuple[SpringApp, list[str]]
) -> None:
    app, _ = lab
    # Registered before the app started: its full fetch.
    assert seen_ids(app, "ward") == [ward]
    # Registered and cancelled while it runs: its deltas.
    later = register(ours, "WARD", 9102)
    eventually(lambda: seen_ids(app, "ward") == [ward, later], 6, app, "the new WARD instance")
    assert httpx.delete(f"{ours.plain_url}apps/WARD/{ward}", headers=WRITER).status_code == 200
    eventually(lambda: seen_ids(app, "ward") == [later], 6, app, "the cancelled WARD instance gone")
    log = app.log.read_text(errors="replace")
    assert "Got delta update with apps hashcode" in log
    # After merging each delta the client compares its registry's hash with ours; a mismatch would
    # mean our delta or our hash is wrong (it then falls back to full fetches).
    assert "Reconcile hashcodes do not match" not in log, app.tail()


def test_honours_status_overrides(ours: LiveRegistry, lab: tuple[SpringApp, list[str]]) -> None:
    app, _ = lab
    other = register(ours, "WARD", 9103)
    eventually(lambda: other in seen_ids(app, "ward"), 6, app, "the WARD instance")
    status = f"{ours.plain_url}apps/WARD/{other}/status"
    assert httpx.put(status, params={"value": "OUT_OF_SERVICE"}, headers=WRITER).status_code == 200
    eventually(lambda: other not in seen_ids(app, "ward"), 6, app, "the OUT_OF_SERVICE instance gone")
    assert httpx.delete(status, params={"value": "UP"}, headers=WRITER).status_code == 200
    eventually(lambda: other in seen_ids(app, "ward"), 6, app, "the instance back once UP")

    # An override of the Spring app itself outlives its heartbeats (which say UP).
    own = f"{ours.plain_url}apps/LAB/{app.instance_id}/status"
    assert httpx.put(own, params={"value": "OUT_OF_SERVICE"}, headers=WRITER).status_code == 200
    eventually(lambda: app.instance_id not in seen_ids(app, "lab"), 6, app, "itself out of service")
    renewed = int(instance(ours, "LAB", app.instance_id)["leaseInfo"]["lastRenewalTimestamp"])  # type: ignore[index]
    eventually(
        lambda: int(instance(ours, "LAB", app.instance_id)["leaseInfo"]["lastRenewalTimestamp"]) > renewed,  # type: ignore[index]
        5,
        app,
        "a renewal while out of service",
    )
    assert instance(ours, "LAB", app.instance_id)["status"] == "OUT_OF_SERVICE"  # type: ignore[index]
    assert httpx.delete(own, params={"value": "UP"}, headers=WRITER).status_code == 200
    eventually(lambda: app.instance_id in seen_ids(app, "lab"), 6, app, "itself back in service")


def test_a_wrong_password_registers_nothing(ours: LiveRegistry, intruder: SpringApp) -> None:
    intruder.wait_ready()
    # Its client tries at start and again every second.
    eventually(
        lambda: "failure with status code 401" in intruder.log.read_text(errors="replace"),
        10,
        intruder,
        "a refused registration",
    )
    time.sleep(1)
    assert instance(ours, "INTRUDER", intruder.instance_id) is None
    # Reads stay open: it still discovers.
    assert intruder.discovered("lab") != []
    intruder.stop()


def test_registers_again_after_the_registry_restarts_empty(
    ours: LiveRegistry, lab: tuple[SpringApp, list[str]]
) -> None:
    app, _ = lab
    restarted_ms = time.time() * 1000
    ours.restart()
    # Its next heartbeat is answered 404, and it registers again (on a loaded machine, maybe before
    # this test could look at the empty registry: the registration's time tells).
    found = eventually(lambda: instance(ours, "LAB", app.instance_id), 6, app, "the registration again")
    assert int(found["leaseInfo"]["registrationTimestamp"]) >= restarted_ms
    assert found["status"] == "UP"


def test_cancels_its_lease_on_a_graceful_stop(ours: LiveRegistry, lab: tuple[SpringApp, list[str]]) -> None:
    app, _ = lab
    assert instance(ours, "LAB", app.instance_id) is not None
    app.stop()  # SIGTERM: Spring's shutdown
    # Gone as the process ends, long before its 30 s lease could have run out.
    assert instance(ours, "LAB", app.instance_id) is None
    assert "deregister  status: 200" in app.log.read_text(errors="replace")

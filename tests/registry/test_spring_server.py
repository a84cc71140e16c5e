"""HAMP's components against a Spring Cloud Netflix Eureka server (tests/fixtures/spring/eureka-server)
secured with Spring Security's HTTP Basic: a hospital that keeps its Spring registry can run the
platform on it. dbs and the gateway run as real processes (`hamp run`) whose registry is the Spring
server: dbs with the credentials in its registry URL, the gateway with the registry user and password
settings and a plain URL (it adds them itself)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.clerks import login
from tests.support.outpatient_flow import wait_for
from tests.support.servers import Component, free_port, platform_env, wait_http
from tests.support.spring import SPRING_USER, SpringEurekaServer, spring_jars

JSON = {"Accept": "application/json"}
ADMIN_PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def spring() -> Iterator[SpringEurekaServer]:
    spring_jars()
    with SpringEurekaServer(password=f"spring-{uuid.uuid4().hex[:8]}") as server:
        yield server


@pytest.fixture(scope="module")
def hamp(
    spring: SpringEurekaServer, tmp_path_factory: pytest.TempPathFactory, migrated_var: Path
) -> Iterator[dict[str, Component]]:
    var_dir = tmp_path_factory.mktemp("on-spring")
    shutil.copytree(migrated_var, var_dir, dirs_exist_ok=True)
    gateway_port = free_port()
    env = platform_env(
        var_dir,
        spring.port,
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=ADMIN_PASSWORD,
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        HAMP_JWKS_URL=f"http://127.0.0.1:{gateway_port}/api/auth/jwks",
        HAMP_DEMO_DATA="false",
    )
    dbs_env = env | {"HAMP_REGISTRY_URLS": spring.url_with_credentials}
    gateway_env = env | {
        "HAMP_REGISTRY_URLS": spring.url,
        "HAMP_REGISTRY_USERNAME": SPRING_USER,
        "HAMP_REGISTRY_PASSWORD": spring.password,
    }
    running = {
        "dbs": Component("dbs", free_port(), dbs_env, var_dir / "dbs.out"),
        "gateway": Component("gateway", gateway_port, gateway_env, var_dir / "gateway.out"),
    }
    started: list[Component] = []
    try:
        # Together: dbs is ready (and UP) only once the gateway gives it the revocations to check.
        for component in running.values():
            component.start(wait=False)
            started.append(component)
        try:
            for component in started:
                component.wait_ready()
            wait_http(f"{running['gateway'].url}/api/dbs/openapi.json", timeout=60)
            # Both say UP once they serve; the Spring server's read-only cache shows it within 0.5 s.
            wait_for(lambda: all(i["status"] == "UP" for a in registered(spring).values() for i in a), timeout=10)
        except (TimeoutError, AssertionError):
            for component in started:
                print(f"== {component.name}", component.log.read_text(errors="replace")[-3000:], sep="\n")
            print(spring.tail())
            raise
        yield running
    finally:
        for component in reversed(started):
            component.stop()


def registered(spring: SpringEurekaServer) -> dict[str, list[dict[str, Any]]]:
    """What the Spring server lists now: its app names and their instances."""
    answer = httpx2.get(spring.url + "apps/", headers=JSON, auth=spring.auth, timeout=5)
    assert answer.status_code == 200, answer.text
    return {app["name"]: app["instance"] for app in answer.json()["applications"]["application"]}


def test_the_spring_server_wants_its_credentials(spring: SpringEurekaServer) -> None:
    assert httpx2.get(spring.url + "apps/", headers=JSON, timeout=5).status_code == 401
    wrong = (SPRING_USER, "not-" + spring.password)
    assert httpx2.get(spring.url + "apps/", headers=JSON, auth=wrong, timeout=5).status_code == 401


def test_components_register_and_renew(spring: SpringEurekaServer, hamp: dict[str, Component]) -> None:
    apps = registered(spring)
    for name in ("dbs", "gateway"):
        (instance,) = apps[name.upper()]
        assert instance["instanceId"] == f"127.0.0.1:{name}:{hamp[name].port}"
        assert instance["status"] == "UP"
        assert instance["port"]["$"] == hamp[name].port
    # One instance is read past Eureka's response cache (whose copies keep the renewal time of the
    # last change), so its lease shows each renewal.
    one = f"{spring.url}apps/DBS/127.0.0.1:dbs:{hamp['dbs'].port}"

    def last_renewal() -> int:
        answer = httpx2.get(one, headers=JSON, auth=spring.auth, timeout=5)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["instance"]["leaseInfo"]["lastRenewalTimestamp"])

    renewed = last_renewal()
    deadline = time.monotonic() + 5
    while last_renewal() <= renewed:
        assert time.monotonic() < deadline, f"dbs did not renew\n{spring.tail()}"
        time.sleep(0.2)


def test_the_gateway_reaches_dbs_found_through_the_spring_server(hamp: dict[str, Component]) -> None:
    admin = login(hamp["gateway"].url, "admin", ADMIN_PASSWORD)
    try:
        answer = admin.get("/api/dbs/departments")
    finally:
        admin.close()
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["items"], list)


def test_a_stopped_component_cancels_its_lease(spring: SpringEurekaServer, hamp: dict[str, Component]) -> None:
    hamp["dbs"].stop()
    # Cancelled by dbs as it stopped (not expired: the lease is 3 s, and Spring expires at twice that).
    assert f"Cancelled instance DBS/127.0.0.1:dbs:{hamp['dbs'].port} (replication=false)" in spring.log.read_text()
    # The listing follows with the Spring server's read-only cache, refreshed every 0.5 s (on a loaded
    # machine once seen 2 s late).
    deadline = time.monotonic() + 10
    while "DBS" in registered(spring):
        assert time.monotonic() < deadline, f"dbs still registered\n{spring.tail()}"
        time.sleep(0.1)
    assert "GATEWAY" in registered(spring)

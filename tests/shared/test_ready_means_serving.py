"""A service is ready, and UP in the registry, only once it can serve a user: it listens, its
database answers and (without Redis) its first copy of the gateway's revocations came.

Found in CI: the platform said ready, the gateway routed to oms, and the first request (a desk
registering a patient) was refused 503 revocation_unavailable — oms had registered UP at start,
before it could check any token. Real processes: the registry, oms, then the gateway."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.clerks import login
from tests.support.servers import Component, free_port, platform_env, wait_http

PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def components(tmp_path: Path, migrated_var: Path) -> Iterator[dict[str, Component]]:
    shutil.copytree(migrated_var, tmp_path, dirs_exist_ok=True)
    registry_port, gateway_port = free_port(), free_port()
    env = platform_env(
        tmp_path,
        registry_port,
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=PASSWORD,
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        HAMP_JWKS_URL=f"http://127.0.0.1:{gateway_port}/api/auth/jwks",
        HAMP_DEMO_DATA="false",
    )
    ports = {"registry": registry_port, "oms": free_port(), "gateway": gateway_port}
    made = {name: Component(name, port, env, tmp_path / f"{name}.out") for name, port in ports.items()}
    try:
        yield made
    finally:
        for component in reversed(made.values()):
            component.stop()


def status(registry: Component, app: str) -> str | None:
    answer = httpx2.get(f"{registry.url}/eureka/apps/{app}", headers={"Accept": "application/json"}, timeout=5)
    if answer.status_code == 404:
        return None
    (instance,) = answer.json()["application"]["instance"]
    return str(instance["status"])


def test_a_service_is_up_only_once_it_can_check_a_users_token(components: dict[str, Component]) -> None:
    registry, oms, gateway = components["registry"], components["oms"], components["gateway"]
    registry.start()
    oms.start(wait=False)
    wait_http(f"{oms.url}/health", process=oms.process)  # it listens
    time.sleep(2)  # two heartbeats and two revocation polls: nothing changes without the gateway
    ready = httpx2.get(f"{oms.url}/health/ready", timeout=5)
    assert ready.status_code == 503, ready.text
    checks = ready.json()["checks"]
    assert (checks["database"], checks["revocations"], checks["registry"]) == ("UP", "DOWN", "DOWN")
    assert status(registry, "OMS") == "STARTING"

    gateway.start()
    oms.wait_ready()
    # Ready means UP was said: whoever waited for it finds it routed to.
    assert status(registry, "OMS") == status(registry, "GATEWAY") == "UP"
    # The first request routed to it is taken: the gateway asks the registry the moment it knows
    # no instance, and oms checks the token.
    admin = login(gateway.url, "admin", PASSWORD)
    try:
        answer = admin.get("/api/oms/patients")
        assert answer.status_code == 200, answer.text
    finally:
        admin.close()

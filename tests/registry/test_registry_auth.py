"""Writes to the registry need its credentials (HTTP Basic), so whoever merely reaches the port
cannot register a fake OMS and be sent users' tokens by the gateway; reads stay open."""

# ruff: noqa: ASYNC210 - the registry runs in its own thread (conftest)

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from registry.main import create_app
from shared.registry_client import RegistryClient
from shared.settings import ServiceSettings
from tests.registry.conftest import PASSWORD, USER, fast_settings

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]

INSTANCE = {
    "instance": {
        "instanceId": "10.0.0.66:oms:8101",
        "hostName": "10.0.0.66",
        "app": "OMS",
        "ipAddr": "10.0.0.66",
        "status": "UP",
        "port": {"$": 8101, "@enabled": "true"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
    }
}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def plain() -> Any:
    """The registry in process, the caller holding no credentials unless it says so."""
    with TestClient(create_app(fast_settings(registry_previous_password="the-old-one"))) as client:
        yield client


def _registered(client: TestClient) -> list[str]:
    apps = client.get("/eureka/apps/", headers=JSON).json()["applications"]["application"]
    return [i["instanceId"] for a in apps for i in a["instance"]]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _basic(USER, "guess"),
        _basic("admin", PASSWORD),
        {"Authorization": "Basic !!"},
        {"Authorization": "Bearer x"},
    ],
    ids=["none", "wrong password", "wrong user", "not base64", "not basic"],
)
def test_a_fake_oms_is_refused_without_the_credentials(plain: TestClient, headers: dict[str, str]) -> None:
    answer = plain.post("/eureka/apps/OMS", content=json.dumps(INSTANCE), headers=JSON | headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="hamp-registry"'
    assert answer.content == b""  # as Spring Security: the Spring client reads a refused body as an instance
    assert _registered(plain) == []


def test_every_write_needs_the_credentials_and_reads_do_not(plain: TestClient) -> None:
    writer = _basic(USER, PASSWORD)
    assert plain.post("/eureka/apps/OMS", content=json.dumps(INSTANCE), headers=JSON | writer).status_code == 204
    path = "/eureka/apps/OMS/10.0.0.66:oms:8101"
    for method, url in [
        ("PUT", path),
        ("PUT", f"{path}/status?value=OUT_OF_SERVICE"),
        ("DELETE", f"{path}/status"),
        ("PUT", f"{path}/metadata?zone=a"),
        ("DELETE", path),
    ]:
        assert plain.request(method, url).status_code == 401, (method, url)
    assert _registered(plain) == ["10.0.0.66:oms:8101"]
    assert plain.get(path, headers=JSON).status_code == 200
    assert plain.get("/eureka/apps/delta", headers=JSON).status_code == 200
    assert plain.get("/").status_code == 200
    # While the password is rotated the old one still works.
    assert plain.put(path, headers=_basic(USER, "the-old-one")).status_code == 200
    assert plain.delete(path, headers=writer).status_code == 200


async def test_py_eureka_client_registers_with_the_credentials_in_its_url(registry, eureka_clients, eventually) -> None:
    await eureka_clients(registry, "alpha", 9001)
    bad = registry.plain_url.replace("http://", "http://hamp:guess@")
    await eureka_clients(registry, "beta", 9002, eureka_server=bad)
    registered = await eventually(lambda: _apps(registry.plain_url))
    assert registered == ["ALPHA"]


def _apps(url: str) -> list[str]:
    apps = httpx.get(f"{url}apps/", headers=JSON).json()["applications"]["application"]
    return [a["name"] for a in apps]


class AlphaSettings(ServiceSettings):
    component: ClassVar[str] = "alpha"


async def test_embedded_components_agree_on_a_password_made_in_var_keys(
    live_registry, tmp_path: Path, eventually
) -> None:
    """No password set (the embedded profile): the registry and every component sharing its var dir
    read var/keys/registry-password, made by whichever starts first, readable by its owner only."""
    registry = live_registry(var_dir=tmp_path, registry_password="")
    made = tmp_path / "keys" / "registry-password"
    assert made.stat().st_mode & 0o077 == 0
    settings = AlphaSettings(
        registry_urls=registry.plain_url, port=9001, host="127.0.0.1", var_dir=tmp_path, log_to_file=False
    )
    client = RegistryClient(settings)
    await client.start()
    try:
        assert await eventually(lambda: _apps(registry.plain_url)) == ["ALPHA"]
        assert httpx.post(f"{registry.plain_url}apps/OMS", json=INSTANCE).status_code == 401
        assert (
            httpx.post(
                f"{registry.plain_url}apps/OMS", json=INSTANCE, headers=_basic("hamp", made.read_text().strip())
            ).status_code
            == 204
        )
    finally:
        await client.stop()

"""The pms app under test, on SQLite and on MariaDB, called in process with tokens minted here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

import pms.main
from pms.db import metadata
from pms.settings import PmsSettings
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.service_api import ServiceApi
from tests.support.tokens import SigningKey

# What oms's outbox relay holds (gateway/auth/service_grants.py) and what a pharmacist holds.
OMS_PERMISSIONS = ["pms:dispensing:write"]
PHARMACIST = ["pms:dispensing:read", "pms:dispensing:write"]


def order_body(order_id: int = 1, **changes: Any) -> dict[str, Any]:
    """A paid prescription as oms sends it."""
    body: dict[str, Any] = {
        "source": "oms",
        "order_id": order_id,
        "order_number": f"CF20261122-{order_id:05d}",
        "visit_number": "MZ20261122-00042",
        "patient_name": "张三",
        "doctor_name": "李医生",
        "department_name": "内科",
        "lines": [
            {
                "line_id": 10 * order_id + 1,
                "drug_id": 3,
                "code": "YP003",
                "name": "阿莫西林胶囊",
                "spec": "0.25g*24粒",
                "unit": "盒",
                "quantity": 2,
            },
            {
                "line_id": 10 * order_id + 2,
                "drug_id": 7,
                "code": "YP007",
                "name": "布洛芬缓释胶囊",
                "spec": "0.3g*20粒",
                "unit": "盒",
                "quantity": 1,
            },
        ],
    }
    body.update(changes)
    return body


class Api(ServiceApi):
    """Calls the pms app in process, as the pharmacist unless `token=` says otherwise."""

    def __init__(self, client: TestClient, signing_key: SigningKey, engine: Engine, backend: str) -> None:
        self.pharmacist_token = signing_key.token(PHARMACIST, user_id=7, username="pharmacist")
        super().__init__(client, signing_key, engine, backend, "pms", metadata, self.pharmacist_token)
        self.oms_token = signing_key.service_token("oms", OMS_PERMISSIONS)

    def get_ok(self, path: str, **kwargs: Any) -> Any:
        answer = self.request("GET", path, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def send(self, body: dict[str, Any], key: str | None, **kwargs: Any) -> httpx.Response:
        """What the oms relay does: POST the order with its Idempotency-Key, as oms."""
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        kwargs.setdefault("token", self.oms_token)
        return self.request("POST", "dispensing-orders", json=body, headers=headers, **kwargs)

    def receive(self, order_id: int = 1, **changes: Any) -> dict[str, Any]:
        answer = self.send(order_body(order_id, **changes), f"oms-order-{order_id}")
        assert answer.status_code == 201, answer.text
        return answer.json()

    def dispense(self, order_id: int, **kwargs: Any) -> httpx.Response:
        return self.request("POST", f"dispensing-orders/{order_id}/dispense", **kwargs)


def pms_settings(database_url: str, var_dir: Path, signing_key: SigningKey, **overrides: Any) -> PmsSettings:
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": database_url,
        "registry_urls": "",
        "redis_url": "",
        "redis_sentinels": "",
        "jwks": signing_key.jwks_json,
        "check_revocations": False,
        "log_to_file": False,
        "log_level": "WARNING",
    }
    return PmsSettings(**{**values, **overrides})


@pytest.fixture(scope="module")
def api_module(
    database: DatabaseUnderTest, signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    settings = pms_settings(database.url, tmp_path_factory.mktemp("pms"), signing_key)
    engine = create_engine(sync_url(database.url))
    try:
        with TestClient(pms.main.create_app(settings), raise_server_exceptions=False) as client:
            yield Api(client, signing_key, engine, database.backend)
    finally:
        engine.dispose()


@pytest.fixture
def api(api_module: Api) -> Iterator[Api]:
    """The module's app over an empty database (every pms table emptied before a test)."""
    # Wiped, not isolated (tests/support/service_api.py): the outbox relay's passes would share the
    # test's one connection with the requests, and claims race dispenses on several connections.
    api_module.wipe()
    yield api_module

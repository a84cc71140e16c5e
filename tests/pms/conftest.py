"""The pms app under test, on SQLite and on MariaDB, called in process with tokens minted here."""

from __future__ import annotations

import random
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
# What sms's outbox relay holds to deliver its outbound orders, and what reads the shelf.
SMS_PERMISSIONS = ["pms:delivery:write"]
STOCK_READER = ["pms:stock:read", "pms:delivery:read", "pms:trace:read"]
# Far enough ahead that no test's hospital today reaches it.
FAR_EXPIRY = "2099-12-31"
DELIVERIES = "/api/pms/deliveries"


def delivery_line(drug_id: int, quantity: int, **changes: Any) -> dict[str, Any]:
    """A line of a warehouse outbound order: `quantity` of one batch of the drug."""
    line: dict[str, Any] = {
        "drug_id": drug_id,
        "code": f"YP{drug_id:03d}",
        "name": f"药品{drug_id}",
        "spec": "10片/盒",
        "unit": "盒",
        "batch_no": f"P{drug_id}-A",
        "production_date": "2019-06-01",
        "expiry_date": FAR_EXPIRY,
        "supplier_id": 1,
        "purchase_price": "2.50",
        "quantity": quantity,
    }
    line.update(changes)
    return line


def delivery_body(*lines: dict[str, Any], outbound_id: int | None = None, **changes: Any) -> dict[str, Any]:
    """An outbound order (出库单) as sms's outbox sends it to the pharmacy."""
    outbound_id = outbound_id or random.randrange(1, 2**31)
    body: dict[str, Any] = {
        "outbound_id": outbound_id,
        "outbound_number": f"CK20261128-{outbound_id % 100000:05d}",
        "warehouse_id": 1,
        "lines": list(lines),
    }
    body.update(changes)
    return body


def stock_up(client: Any, drug_id: int, quantity: int, headers: dict[str, str] | None = None, **line: Any) -> Any:
    """Puts `quantity` of the drug on the pharmacy's shelf as a delivery from the warehouse would:
    `client.post` is an in-process, direct or gateway client whose token holds `pms:delivery:write`
    (in `headers` or the client's own)."""
    body = delivery_body(delivery_line(drug_id, quantity, **line))
    key = {"Idempotency-Key": f"sms-outbound-{body['outbound_id']}"}
    answer = client.post(DELIVERIES, json=body, headers={**(headers or {}), **key})
    assert answer.status_code == 201, answer.text
    return answer.json()


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
        self.sms_token = signing_key.service_token("sms", SMS_PERMISSIONS)

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

    def deliver(self, body: dict[str, Any], key: str | None, **kwargs: Any) -> httpx.Response:
        """What the sms relay does: POST the outbound order with its Idempotency-Key, as sms."""
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        kwargs.setdefault("token", self.sms_token)
        return self.request("POST", "deliveries", json=body, headers=headers, **kwargs)

    def stock_up(self, drug_id: int, quantity: int, **line: Any) -> Any:
        """`quantity` of the drug delivered to the shelf (one batch: `batch_no`, `expiry_date`...)."""
        body = delivery_body(delivery_line(drug_id, quantity, **line))
        answer = self.deliver(body, f"sms-outbound-{body['outbound_id']}")
        assert answer.status_code == 201, answer.text
        return answer.json()

    def stock_up_for_orders(self, quantity: int = 1000) -> None:
        """Plenty of both drugs `order_body` prescribes, so dispensing is never short."""
        self.stock_up(3, quantity)
        self.stock_up(7, quantity)


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

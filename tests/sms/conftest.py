"""The sms app under test, in process, on SQLite and on MariaDB, next to a real dbs and gateway.

dbs (demo data, its own SQLite file) is the source of drugs, suppliers, warehouses and handlers,
as in tests/dms; the gateway issues sms's service token with the grants of
gateway/auth/service_grants.py, so the master-data lookups run exactly as in production. sms is
called in process with tokens minted by the stack's key, and its tables read directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

import sms.main
from shared.clock import local_today
from shared.migrations import sync_url
from shared.stock import Mismatch, Movement, Taken, stock_audit, take
from sms.db import metadata, stock
from tests.conftest import DatabaseUnderTest
from tests.support.service_api import ServiceApi
from tests.support.stack import Stack

# What a store-keeper (库管员) holds.
KEEPER = [
    "sms:inbound:read",
    "sms:inbound:write",
    "sms:stock:read",
    "sms:alert:read",
    "sms:threshold:read",
    "sms:threshold:write",
]
# The demo's first warehouse, supplier and handler (dbs/demo.py): 西药库, 国药控股, 刘强.
WAREHOUSE, SUPPLIER, HANDLER = 1, 1, 1


def today() -> dt.date:
    """Read when used, never at import: collection runs minutes before the test, maybe before midnight."""
    return local_today("Asia/Shanghai")


def days(n: int) -> str:
    return (today() + dt.timedelta(days=n)).isoformat()


def line(drug_id: int, batch_no: str = "B001", quantity: int = 10, price: str = "12.00", **changes: Any) -> dict:
    body = {
        "drug_id": drug_id,
        "batch_no": batch_no,
        "production_date": days(-100),
        "expiry_date": days(700),
        "purchase_price": price,
        "quantity": quantity,
    }
    return {**body, **changes}


class SmsApi(ServiceApi):
    """Calls sms in process as the store-keeper unless `token=` says otherwise; paths relative to /api/sms."""

    def __init__(self, client: TestClient, stack: Stack, database: DatabaseUnderTest) -> None:
        self.stack = stack
        self.keeper_token = stack.key.token(KEEPER, user_id=7, username="keeper")
        engine = create_engine(sync_url(database.url))
        super().__init__(client, stack.key, engine, database.backend, "sms", metadata, self.keeper_token)
        self.dbs = httpx2.Client(base_url=stack.url("dbs"), headers=stack.bearer(), timeout=30)

    @cache  # noqa: B019  (the demo's drugs do not change under these tests)
    def drug(self, code: str) -> dict[str, Any]:
        """A demo drug as dbs has it (id, name, selling price)."""
        found = self.dbs.get("/api/dbs/drugs", params={"q": code}).json()["items"]
        return next(d for d in found if d["code"] == code)

    def order_body(self, *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
        body = {
            "warehouse_id": WAREHOUSE,
            "supplier_id": SUPPLIER,
            "handler_id": HANDLER,
            "remark": "月度采购",
            "lines": list(lines) or [line(self.drug("YP0001")["id"])],
        }
        return {**body, **changes}

    def draft(self, *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
        return self.create("inbound-orders", self.order_body(*lines, **changes))

    def post_order(self, order_id: int, **kwargs: Any) -> httpx.Response:
        return self.post(f"inbound-orders/{order_id}/post", **kwargs)

    def posted(self, *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
        answer = self.post_order(self.draft(*lines, **changes)["id"])
        assert answer.status_code == 200, answer.text
        return answer.json()

    def reverse(self, order_id: int, reason: str = "供货商发错批号", **kwargs: Any) -> httpx.Response:
        return self.post(f"inbound-orders/{order_id}/reverse", {"reason": reason}, **kwargs)

    def get_ok(self, path: str, **params: Any) -> Any:
        answer = self.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def feed(self) -> list[dict[str, Any]]:
        """The change feed, as statistics (tms) reads it."""
        answer = self.get("feed", token=self.token("sms:feed:read", username="tms"))
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]

    # --- stock, as the app's own database holds it -------------------------------------------
    def _in_app(self, work: Any) -> Any:
        async def run() -> Any:
            async with self.client.app.state.db.transaction() as session:  # type: ignore[attr-defined]
                return await work(session)

        assert self.client.portal is not None
        return self.client.portal.call(run)

    def stock_audit(self) -> list[Mismatch]:
        """Batches whose quantity is not the sum of their ledger (shared.stock.stock_audit)."""
        return self._in_app(lambda session: stock_audit(session, stock))  # type: ignore[no-any-return]

    def take_out(self, drug_id: int, quantity: int, batch_id: int) -> list[Taken]:
        """Stock leaving the warehouse as an outbound order will take it (not written yet)."""
        return self._in_app(  # type: ignore[no-any-return]
            lambda session: take(
                session, stock, store_id=WAREHOUSE, drug_id=drug_id, quantity=quantity, movement=Movement.outbound,
                reference="CK-TEST", person="keeper", today=today(), drug_label="test", batch_id=batch_id,
            )
        )  # fmt: skip

    def batches(self) -> list[dict[str, Any]]:
        return self.rows("stock_batches")

    def movements(self) -> list[dict[str, Any]]:
        return self.rows("stock_movements")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("sms-stack")
    with Stack(var_dir, {"dbs": f"sqlite+aiosqlite:///{var_dir / 'dbs.db'}"}) as running:
        running.start("dbs", demo_data=True)
        running.start("gateway")
        yield running


@pytest.fixture(scope="module")
def api_module(stack: Stack, database: DatabaseUnderTest) -> Iterator[SmsApi]:
    settings = stack.settings("sms", database_url=database.url, check_revocations=False)
    with TestClient(sms.main.create_app(settings), raise_server_exceptions=False) as client:
        api = SmsApi(client, stack, database)
        try:
            yield api
        finally:
            api.dbs.close()
            api.engine.dispose()


@pytest.fixture
def api(api_module: SmsApi) -> Iterator[SmsApi]:
    """The module's app over an empty database (every sms table emptied before a test)."""
    # Wiped, not isolated: the tests read stock through the app's own sessions as well.
    api_module.wipe()
    yield api_module

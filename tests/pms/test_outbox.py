"""The dispensed report to oms, with real components: a real gateway issues pms its service token.

While oms is absent the report waits in pms's outbox, attempts counted; once something answers
on oms's address it is delivered with its key, as pms, holding only what pms was granted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from jose import jwt
from sqlalchemy import Engine, create_engine, inspect, select

from pms.db import metadata, outbox
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.pms.conftest import OMS_PERMISSIONS, PHARMACIST, SMS_PERMISSIONS, order_body, stock_up
from tests.support.servers import ThreadServer
from tests.support.stack import Stack


@pytest.fixture
def engine(database: DatabaseUnderTest) -> Iterator[Engine]:
    """The module's database; emptied after each test, once its stack has stopped (so no relay of
    the next test finds this test's messages)."""
    engine = create_engine(sync_url(database.url))
    yield engine
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if inspect(conn).has_table(table.name):
                conn.execute(table.delete())
    engine.dispose()


def _wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _messages(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def _receive_and_dispense(stack: Stack, order_id: int) -> dict[str, Any]:
    base = f"{stack.url('pms')}/api/pms/dispensing-orders"
    oms = {
        "Authorization": f"Bearer {stack.key.service_token('oms', OMS_PERMISSIONS)}",
        "Idempotency-Key": f"oms-{order_id}",
    }
    received = httpx.post(base, json=order_body(order_id), headers=oms, timeout=30)
    assert received.status_code == 201, received.text
    order_pk = received.json()["id"]
    sms = {"Authorization": f"Bearer {stack.key.service_token('sms', SMS_PERMISSIONS)}"}
    with httpx.Client(base_url=stack.url("pms"), headers=sms, timeout=30) as warehouse:
        for line in order_body(order_id)["lines"]:
            stock_up(warehouse, line["drug_id"], line["quantity"])
    dispensed = httpx.post(f"{base}/{order_pk}/dispense", headers=stack.bearer(PHARMACIST, username="pharmacist"))
    assert dispensed.status_code == 200, dispensed.text
    return dispensed.json()


def test_the_report_waits_while_oms_is_absent(tmp_path: Path, database: DatabaseUnderTest, engine: Engine) -> None:
    with Stack(tmp_path, {"pms": database.url}) as stack:
        stack.start("gateway")
        stack.start("pms")
        order = _receive_and_dispense(stack, 1)
        # The relay is woken after the commit and tries at once; nobody listens on oms's port.
        (message,) = _wait_for(lambda: [m for m in _messages(engine) if m["attempts"] >= 1])
        assert message["key"] == f"pms-dispensed-{order['id']}"
        assert message["status"] == "pending"
        assert message["delivered_at"] is None
        assert message["last_error"]
        assert message["next_attempt_at"] > message["created_at"]
    # Stopped and started again, it is still there to send.
    assert [m["status"] for m in _messages(engine)] == ["pending"]


def _fake_oms(calls: list[dict[str, Any]]) -> FastAPI:
    """Only what pms calls on oms, recording it."""
    app = FastAPI()

    @app.post("/api/oms/orders/{order_id}/dispensed")
    async def dispensed(order_id: int, request: Request) -> dict[str, Any]:
        calls.append(
            {
                "order_id": order_id,
                "key": request.headers.get("idempotency-key"),
                "token": request.headers.get("authorization", "").removeprefix("Bearer "),
                "body": await request.json(),
            }
        )
        return {"id": order_id, "state": "dispensed"}

    return app


def test_the_report_is_delivered_once_with_its_key_as_pms(
    tmp_path: Path, database: DatabaseUnderTest, engine: Engine
) -> None:
    calls: list[dict[str, Any]] = []
    with Stack(tmp_path, {"pms": database.url}) as stack:
        stack.start("gateway")
        stack.start("pms")
        with ThreadServer(_fake_oms(calls), stack.ports["oms"]):
            order = _receive_and_dispense(stack, 2)
            (message,) = _wait_for(lambda: [m for m in _messages(engine) if m["status"] == "delivered"])
    assert message["attempts"] >= 1 and message["delivered_at"] is not None
    (call,) = calls
    assert call["order_id"] == 2
    assert call["key"] == f"pms-dispensed-{order['id']}"
    assert call["body"] == {
        "dispensing_number": order["number"],
        "dispensed_at": order["dispensed_at"],
        "dispensed_by": "pharmacist",
        "line_ids": [line["line_id"] for line in order["lines"]],
    }
    # pms's own token from the gateway: only what pms may do on others.
    claims = jwt.get_unverified_claims(call["token"])
    assert claims["perms"] == [
        "system:revocation:read", "oms:dispensing:write", "hms:dispensing:write", "sms:shortage:write",
        "sms:return:write",
    ]  # fmt: skip

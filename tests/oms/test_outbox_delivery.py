"""A paid prescription reaches the pharmacy exactly once: it waits while pms is absent, is
delivered when pms appears, and is not applied twice when oms dies between sending it and
recording that it was sent. Real oms, pms, dms, dbs and gateway, on SQLite and MariaDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared.clock import utcnow
from shared.outbox import DELIVERED, MAX_BACKOFF_SECONDS
from tests.oms.outpatient_desk import Desk, desk_on


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on(request.param, Path(tmp_path_factory.mktemp("outbox"))) as desk:
        yield desk


def _paid_prescription(desk: Desk, doctor: str) -> dict[str, Any]:
    schedule = desk.schedule(doctor, quota=5)
    visit = desk.register(desk.patient("发药")["id"], schedule["id"]).json()
    drug = desk.drug("YP0006")
    order = desk.ok("POST", f"/api/oms/visits/{visit['id']}/prescriptions", 201,
                    json={"lines": [{"drug_id": drug["id"], "quantity": 3}]})  # fmt: skip
    assert desk.pay(visit["id"], order["id"]).status_code == 201
    return order


def _message(desk: Desk, order: dict[str, Any]) -> dict[str, Any]:
    with desk.engines["oms"].connect() as conn:
        row = conn.execute(text("SELECT * FROM outbox WHERE `key` = :k"), {"k": f"oms-dispense-{order['id']}"})
        return dict(row.mappings().one())


def _at_pharmacy(desk: Desk, order: dict[str, Any]) -> int:
    return desk.scalar("pms", "SELECT COUNT(*) FROM dispensing_orders WHERE order_id = :o", o=order["id"])


def _until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_waits_for_an_absent_pharmacy_then_arrives_once_even_after_a_crash_before_the_acknowledgement(
    desk: Desk,
) -> None:
    order = _paid_prescription(desk, "D009")
    # No pms anywhere: the message is tried, kept, and retried later.
    _until(lambda: _message(desk, order)["attempts"] >= 1)
    waiting = _message(desk, order)
    assert waiting["status"] == "pending" and "pms" in (waiting["last_error"] or "")

    # oms "dies" right after pms accepted the message, before it records the delivery.
    relay = desk.stack.apps["oms"].state.outbox
    real_mark = relay._mark
    crashes: list[str] = []

    async def crash_before_recording(message: dict[str, Any], **values: Any) -> None:
        if values.get("status") == DELIVERED and not crashes:
            crashes.append(message["key"])
            raise RuntimeError("oms stopped between sending and recording")
        await real_mark(message, **values)

    relay._mark = crash_before_recording
    # The relay's clock runs past every back-off, so the retries come at its next passes, not seconds apart.
    relay.clock = lambda: utcnow() + timedelta(seconds=MAX_BACKOFF_SECONDS)
    try:
        desk.stack.start("pms")
        _until(lambda: crashes and _message(desk, order)["status"] == DELIVERED)
    finally:
        relay._mark = real_mark
        relay.clock = utcnow
    delivered = _message(desk, order)
    # Sent at least twice with the same key (once before the crash, once after); applied once.
    assert crashes == [f"oms-dispense-{order['id']}"]
    assert _at_pharmacy(desk, order) == 1
    assert desk.scalar("pms", "SELECT COUNT(*) FROM idempotency_keys WHERE `key` = :k", k=delivered["key"]) == 1
    (received,) = [o for o in desk.ok("GET", "/api/pms/dispensing-orders")["items"] if o["order_id"] == order["id"]]
    assert [(line["code"], line["quantity"]) for line in received["lines"]] == [("YP0006", 3)]


def test_a_message_sent_again_after_delivery_changes_nothing(desk: Desk) -> None:
    if "pms" not in desk.stack.apps:
        desk.stack.start("pms")
    order = _paid_prescription(desk, "D010")
    _until(lambda: _message(desk, order)["status"] == DELIVERED)
    # As if a second oms instance relayed the same row: the pharmacy answers from its record.
    with desk.engines["oms"].begin() as conn:
        conn.execute(
            text("UPDATE outbox SET status = 'pending' WHERE `key` = :k"), {"k": f"oms-dispense-{order['id']}"}
        )
    _until(lambda: _message(desk, order)["status"] == DELIVERED)
    assert _at_pharmacy(desk, order) == 1

"""The demo stock: dbs's demo drugs received into the first warehouse and partly sent on to the
pharmacy, loaded in the background, so that a newcomer's `hamp up` can dispense a prescription."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2

from tests.support.stack import Stack


def _get(stack: Stack, service: str, path: str) -> dict[str, Any]:
    answer = httpx2.get(f"{stack.url(service)}{path}", params={"size": 100}, headers=stack.bearer(), timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_demo_stock_reaches_the_warehouse_and_the_pharmacy(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("pms")
        stack.start("sms", demo_data=True)
        deadline = time.monotonic() + 60
        while not (shelf := _get(stack, "pms", "/api/pms/stock")["items"]) and time.monotonic() < deadline:
            time.sleep(0.3)
        drugs = _get(stack, "dbs", "/api/dbs/drugs")["total"]
        warehouse = _get(stack, "sms", "/api/sms/stock")["items"]
        # Two batches of every drug; the pharmacy's 100 of each left from the first to expire.
        assert len(warehouse) == 2 * drugs
        assert sum(row["quantity"] for row in warehouse) == drugs * (200 + 300 - 100)
        assert len(shelf) == drugs and {row["quantity"] for row in shelf} == {100}
        for service in ("sms", "pms"):
            assert _get(stack, service, f"/api/{service}/stock/audit")["balanced"] is True
        assert len(_get(stack, "sms", "/api/sms/inbound-orders")["items"]) == 1

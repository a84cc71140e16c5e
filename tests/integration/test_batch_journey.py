"""One batch's journey, supplier to patient and back, across the warehouse (sms) and the pharmacy
(pms) running as servers that reach each other through their outboxes: purchase → inbound →
shortage request → outbound → dispensing → patient return (and its refund) → return to the
warehouse → disposal. At every step each batch holds what its ledger says (tests/support/ledger.py),
on SQLite and on MariaDB."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shared.clock import local_today
from tests.support.databases import fresh_databases
from tests.support.ledger import assert_books_balance
from tests.support.stack import Stack

BATCH = "J-2026-001"


class Journey:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        # The one who writes a purchase order is not the one who approves it.
        self.keeper = stack.bearer(["*"], user_id=11, username="keeper")
        self.chief = stack.bearer(["*"], user_id=12, username="chief")
        self.oms = stack.bearer(["pms:dispensing:write"], user_id=0, username="service:oms")

    def call(self, method: str, path: str, status: int, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        service = path.split("/")[2]
        answer = httpx2.request(
            method, f"{self.stack.url(service)}{path}", headers=headers or self.keeper, timeout=30, **kwargs
        )
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, 200, params=params)

    def batch(self, service: str) -> dict[str, Any]:
        (row,) = [r for r in self.get(f"/api/{service}/stock", batch_no=BATCH, include_empty=True)["items"]]
        return row

    def on_shelf(self) -> tuple[int, int]:
        """(warehouse, pharmacy) units of the batch; the books of both checked on the way."""
        assert_books_balance(self.get)
        pharmacy = self.get("/api/pms/stock", batch_no=BATCH, include_empty=True)["items"]
        return self.batch("sms")["quantity"], sum(r["quantity"] for r in pharmacy)


def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture(params=["sqlite", "mariadb"])
def journey(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journey]:
    with fresh_databases(request.param, ["sms", "pms"], tmp_path) as urls, Stack(tmp_path, urls) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("sms")
        stack.start("pms")
        yield Journey(stack)


def test_a_batch_from_the_supplier_to_a_patient_and_back(journey: Journey) -> None:
    j = journey
    drug = j.get("/api/dbs/drugs", q="YP0001")["items"][0]
    first = {kind: j.get(f"/api/dbs/{kind}")["items"][0]["id"] for kind in ("warehouses", "suppliers", "handlers")}
    warehouse = first["warehouses"]
    today = local_today("Asia/Shanghai")

    # 采购 → 审核 (another person) → 到货 → 入库
    purchase = j.call(
        "POST",
        "/api/sms/purchase-orders",
        201,
        json={
            "warehouse_id": warehouse,
            "supplier_id": first["suppliers"],
            "lines": [{"drug_id": drug["id"], "quantity": 50, "price": "12.00"}],
        },
    )
    j.call("POST", f"/api/sms/purchase-orders/{purchase['id']}/approve", 409)  # not by its writer
    j.call("POST", f"/api/sms/purchase-orders/{purchase['id']}/approve", 200, headers=j.chief)
    receipt = {
        "handler_id": first["handlers"],
        "lines": [
            {
                "line_id": purchase["lines"][0]["id"],
                "batch_no": BATCH,
                "production_date": (today - dt.timedelta(days=30)).isoformat(),
                "expiry_date": (today + dt.timedelta(days=700)).isoformat(),
            }
        ],
    }
    received = j.call("POST", f"/api/sms/purchase-orders/{purchase['id']}/receive", 200, json=receipt)
    j.call("POST", f"/api/sms/inbound-orders/{received['inbound_order_id']}/post", 200)
    assert j.on_shelf() == (50, 0)

    # 报缺 at the pharmacy → the warehouse sees it → 出库 fulfils it → 药房入库
    described = {"drug_id": drug["id"], "code": drug["code"], "name": drug["name"], "spec": drug.get("spec") or ""}
    shortage = j.call("POST", "/api/pms/shortage-requests", 201, json={"lines": [{**described, "quantity": 20}]})
    until(lambda: bool(j.get("/api/sms/shortage-requests")["items"]), "the shortage request reaches sms")
    (received_request,) = j.get("/api/sms/shortage-requests")["items"]
    j.call(
        "POST",
        "/api/sms/outbound-orders",
        201,
        headers={**j.keeper, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "warehouse_id": warehouse,
            "shortage_request_id": received_request["id"],
            "lines": [{"drug_id": drug["id"], "quantity": 20}],
        },
    )
    until(lambda: j.on_shelf() == (30, 20), "the delivery reaches the pharmacy")
    until(
        lambda: j.get(f"/api/pms/shortage-requests/{shortage['id']}")["state"] == "fulfilled",
        "the pharmacy's request is fulfilled",
    )

    # 取药: a paid prescription as oms sends it, dispensed from the delivered batch
    order = j.call(
        "POST",
        "/api/pms/dispensing-orders",
        201,
        headers={**j.oms, "Idempotency-Key": "journey-order-1"},
        json={
            "source": "oms",
            "order_id": 501,
            "order_number": "CF20261128-00501",
            "visit_number": "MZ20261128-00501",
            "patient_name": "旅程患者",
            "doctor_name": "李医生",
            "department_name": "内科",
            "lines": [{**described, "line_id": 9001, "unit": "盒", "quantity": 4}],
        },
    )
    dispensed = j.call("POST", f"/api/pms/dispensing-orders/{order['id']}/dispense", 200)
    assert [(b["batch_no"], b["quantity"]) for b in dispensed["lines"][0]["batches"]] == [(BATCH, 4)]
    assert j.on_shelf() == (30, 16)
    recall = j.get("/api/pms/stock/trace", batch_no=BATCH)["items"]
    assert [(r["patient_name"], r["quantity"]) for r in recall] == [("旅程患者", 4)]

    # 退药: the units go back into their batch; then the refund at the desk is accepted, once
    j.call(
        "POST", f"/api/pms/dispensing-orders/{order['id']}/returns", 201, json={"line_ids": [9001], "reason": "过敏"}
    )
    assert j.on_shelf() == (30, 20)
    claim = {"line_ids": [9001], "payment_id": 1, "reason": "患者退药", "cashier": "收费员"}
    claim_key = {**j.oms, "Idempotency-Key": "journey-claim-1"}
    j.call("POST", "/api/pms/dispensing-orders/by-source/oms/501/refund-claims", 201, headers=claim_key, json=claim)

    # 退库 to the warehouse's stock, then 报损 there
    pharmacy_batch = j.get("/api/pms/stock", batch_no=BATCH)["items"][0]["batch_id"]
    j.call(
        "POST",
        "/api/pms/warehouse-returns",
        201,
        json={
            "warehouse_id": warehouse,
            "destination": "stock",
            "lines": [{"batch_id": pharmacy_batch, "quantity": 5, "reason": "近效期退库"}],
        },
    )
    until(lambda: j.on_shelf() == (35, 15), "the return reaches the warehouse")
    sms_batch = j.batch("sms")["batch_id"]
    j.call("POST", "/api/sms/disposals", 201, json={"batch_id": sms_batch, "quantity": 2, "reason": "破损"})
    assert j.on_shelf() == (33, 15)

    # The warehouse's trail of the batch (newest first, read back in order): every unit accounted for.
    trail = reversed(j.get("/api/sms/stock/movements", batch_no=BATCH)["items"])
    assert [(m["movement"], m["quantity"]) for m in trail] == [
        ("inbound", 50),
        ("outbound", -20),
        ("return_in", 5),
        ("disposal", -2),
    ]

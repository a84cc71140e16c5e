"""Inpatient dispensing (住院取药): hms's drug orders take the same path as oms's — received once,
dispensed from stock first expiry first — and the report goes back to hms, which waits in pms's
outbox until the inpatient service runs."""

from __future__ import annotations

import json

from tests.pms.conftest import Api, order_body


def test_an_inpatient_order_is_dispensed_from_stock_and_reported_to_hms(api: Api) -> None:
    api.stock_up(3, 1, batch_no="P3-EARLY", expiry_date="2098-01-01")
    api.stock_up(3, 10, batch_no="P3-LATE")
    api.stock_up(7, 10)
    answer = api.send(order_body(5, source="hms", visit_number="ZY20261128-00003"), "hms-order-5")
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert (order["source"], order["state"]) == ("hms", "pending")
    # The same hms order under another key is the same order: refused, not received twice.
    again = api.send(order_body(5, source="hms"), "hms-order-5-again")
    assert again.status_code == 409 and "住院" in again.json()["detail"]
    # An oms order may carry the same number: the sender tells them apart.
    assert api.send(order_body(5), "oms-order-5").status_code == 201

    done = api.dispense(order["id"])
    assert done.status_code == 200, done.text
    taken = [(b["batch_no"], b["quantity"]) for line in done.json()["lines"] for b in line["batches"]]
    assert taken == [("P3-EARLY", 1), ("P3-LATE", 1), ("P7-A", 1)]

    (report,) = [m for m in api.rows("outbox") if m["path"].startswith("/api/hms/")]
    assert (report["destination"], report["path"], report["key"], report["status"]) == (
        "HMS", "/api/hms/orders/5/dispensed", f"pms-dispensed-{order['id']}", "pending",
    )  # fmt: skip
    assert json.loads(report["body"])["line_ids"] == [51, 52]
    assert not [m for m in api.rows("outbox") if m["path"].startswith("/api/oms/")]
    assert api.get_ok("stock/audit", token=api.token("pms:stock:read"))["balanced"] is True


def test_the_notice_of_an_inpatient_claim_goes_to_hms(api: Api) -> None:
    assert api.send(order_body(6, source="hms", visit_number="ZY20261128-00004"), "hms-order-6").status_code == 201
    body = {"line_ids": [61], "payment_id": 61, "reason": "医嘱调整", "cashier": "nurse1"}
    answer = api.request(
        "POST", "dispensing-orders/by-source/hms/6/refund-claims", json=body,
        headers={"Idempotency-Key": "hms-return-6-a"}, token=api.oms_token,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    (notice,) = [m for m in api.rows("outbox") if m["path"].endswith("/refunds/claimed")]
    assert (notice["destination"], notice["path"], notice["key"]) == (
        "HMS", "/api/hms/refunds/claimed", "pms-claimed-hms-return-6-a",
    )  # fmt: skip
    assert json.loads(notice["body"]) == {"claim": "hms-return-6-a", "order_id": 6, **body}

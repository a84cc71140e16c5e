"""Returns to the warehouse (退库 at pms, 药品回收 at sms): the units leave the pharmacy's batch and
arrive, once, in the warehouse's batch of the same number — into stock, or straight to disposal with
both ledger rows. sms and pms in process, linked by their outbox relays (tests/sms/test_outbound.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.pms.conftest import Api as PmsApi
from tests.sms.conftest import WAREHOUSE, SmsApi, days, line
from tests.sms.test_outbound import Both, both, pms_module  # noqa: F401  (fixtures)
from tests.support.stack import Stack

KEEPER = ["sms:return:read", "sms:stock:read"]


@pytest.fixture
def linked(both: Both, stack: Stack) -> Both:  # noqa: F811
    # pms's token as the gateway gives it: returns too (gateway/auth/service_grants.py).
    both.to_sms.token = stack.key.service_token("pms", ["sms:shortage:write", "sms:return:write"])
    return both


def _on_the_shelf(linked: Both, quantity: int) -> tuple[int, dict[str, Any]]:
    """`quantity` of YP0001 batch B001 received at the warehouse and sent on to the pharmacy; the
    drug id and the pharmacy's batch."""
    drug = linked.sms.drug("YP0001")["id"]
    linked.sms.posted(line(drug, "B001", quantity=10))
    linked.sent_out({"drug_id": drug, "quantity": quantity})
    linked.to_pms.up = True
    linked.relay_sms()
    (batch,) = [b for b in linked.pms.rows("stock_batches") if b["drug_id"] == drug]
    return drug, batch


def _send_back(pms: PmsApi, batch_id: int, quantity: int, destination: str = "stock") -> dict[str, Any]:
    body = {"warehouse_id": WAREHOUSE, "destination": destination,
            "lines": [{"batch_id": batch_id, "quantity": quantity, "reason": "药房盘点多余"}]}  # fmt: skip
    answer = pms.post("warehouse-returns", body, token=pms.token("pms:stock:write", username="pharmacist"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def _warehouse(sms: SmsApi, drug: int) -> dict[str, int]:
    return {b["batch_no"]: b["quantity"] for b in sms.batches() if b["drug_id"] == drug}


def test_a_return_reaches_the_warehouse_batch_once_even_when_the_answer_is_lost(linked: Both) -> None:
    drug, batch = _on_the_shelf(linked, 6)
    assert _warehouse(linked.sms, drug) == {"B001": 4}
    returned = _send_back(linked.pms, batch["id"], 2)
    assert returned["number"].startswith("TK")
    assert linked.pms_shelf(drug) == {"B001": 4}

    linked.relay_pms()  # sms is down: the message waits
    assert _warehouse(linked.sms, drug) == {"B001": 4}
    linked.to_sms.up = True
    linked.to_sms.lose_answers = True  # sms applies it; pms never hears back and sends it again
    linked.relay_pms()
    linked.to_sms.lose_answers = False
    linked.relay_pms()
    assert [a.status_code for a in linked.to_sms.answers] == [201, 201]
    assert linked.to_sms.answers[1].headers["idempotent-replayed"] == "true"
    assert _warehouse(linked.sms, drug) == {"B001": 6}
    (message,) = [m for m in linked.pms.rows("outbox") if m["path"] == "/api/sms/returns"]
    assert (message["key"], message["status"]) == (f"pms-return-{returned['id']}", "delivered")

    keeper = linked.sms.token(*KEEPER, username="keeper")
    (received,) = linked.sms.get("returns", token=keeper).json()["items"]
    assert received["number"].startswith("HS") and received["pms_number"] == returned["number"]
    assert [(li["batch_no"], li["quantity"], li["reason"]) for li in received["lines"]] == [("B001", 2, "药房盘点多余")]
    moved = [(m["movement"], m["quantity"], m["person"]) for m in linked.sms.movements()
             if m["reference"] == received["number"]]  # fmt: skip
    assert moved == [("return_in", 2, "service:pms")]
    pms_moved = [m for m in linked.pms.rows("stock_movements") if m["reference"] == returned["number"]]
    assert [(m["movement"], m["quantity"]) for m in pms_moved] == [("return_out", -2)]
    linked.books_balance()


def test_a_return_to_disposal_goes_in_and_straight_out_again(linked: Both) -> None:
    drug, batch = _on_the_shelf(linked, 5)
    returned = _send_back(linked.pms, batch["id"], 3, destination="disposal")
    linked.to_sms.up = True
    linked.relay_pms()
    assert _warehouse(linked.sms, drug) == {"B001": 5}  # 5 left in the warehouse; the 3 are gone
    (received,) = linked.sms.rows("pharmacy_returns")
    assert (received["destination"], received["pms_number"]) == ("disposal", returned["number"])
    moved = [(m["movement"], m["quantity"], m["reason"]) for m in linked.sms.movements()
             if m["reference"] == received["number"]]  # fmt: skip
    assert moved == [("return_in", 3, "药房盘点多余"), ("disposal", -3, "药房盘点多余")]
    linked.books_balance()


def test_sms_applies_each_return_once_and_refuses_another_key_for_it(linked: Both) -> None:
    drug = linked.sms.drug("YP0002")["id"]
    body = {
        "return_id": 7, "number": "TK20261128-00007", "warehouse_id": WAREHOUSE, "destination": "stock",
        "returned_by": "pharmacist", "returned_at": "2026-11-28T08:00:00Z", "remark": "",
        "lines": [{"drug_id": drug, "code": "YP0002", "name": "药", "spec": "", "unit": "盒", "batch_no": "NEW-1",
                   "production_date": days(-30), "expiry_date": days(300), "supplier_id": 1,
                   "purchase_price": "3.20", "quantity": 4, "reason": "滞销"}],
    }  # fmt: skip
    pms = linked.sms.token("sms:return:write", username="service:pms")

    def send(key: str | None, payload: dict[str, Any] = body) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        return linked.sms.post("returns", payload, token=pms, headers=headers)

    assert send(None).status_code == 422  # a message without its key
    assert send("k-1", {**body, "lines": []}).status_code == 422
    bad_dates = {**body, "lines": [{**body["lines"][0], "expiry_date": days(-40)}]}
    assert send("k-1", bad_dates).status_code == 422
    assert linked.sms.post("returns", body, token=linked.sms.token("sms:return:read")).status_code == 403
    first = send("k-1")
    assert first.status_code == 201, first.text
    again = send("k-1")
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = send("k-2")
    assert other.status_code == 409 and other.json()["code"] == "return_already_received"
    # A batch the warehouse never held is made as the pharmacy described it.
    (made,) = [b for b in linked.sms.batches() if b["batch_no"] == "NEW-1"]
    assert (made["quantity"], str(made["purchase_price"]), made["store_id"]) == (4, "3.20", WAREHOUSE)
    assert linked.sms.count("pharmacy_returns") == 1
    (row,) = [r for r in linked.sms.audit_rows() if r["entity"] == "pharmacy_return"]
    assert (row["action"], row["after"]["number"]) == ("create", first.json()["number"])
    assert linked.sms.stock_audit() == []

"""Patient drug returns (退药) under "Never both" (docs/pharmacy.md): a dispensed line comes back
into the very batches it was handed out from, and only then may its sender refund it — the goods
and the money each come back exactly once. The pms app in process, on SQLite and MariaDB; and the
whole desk (oms, pms, the gateway) for dispense → return → refund at the cashier."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.oms.outpatient_desk import Desk, desk_on
from tests.pms.conftest import Api, stock_up
from tests.pms.test_refund_claims import claim, fates, notices


def give_back(api: Api, order_id: int, line_ids: list[int], **kwargs: Any) -> httpx.Response:
    body = {"line_ids": line_ids, "reason": "患者过敏，未服用"}
    return api.request("POST", f"dispensing-orders/{order_id}/returns", json=body, **kwargs)


def shelf(api: Api) -> dict[str, int]:
    """Quantity by batch number, empty batches included."""
    items = api.get_ok("stock", params={"include_empty": "true", "size": 100}, token=api.token("pms:stock:read"))
    return {row["batch_no"]: row["quantity"] for row in items["items"]}


def balanced(api: Api) -> bool:
    return bool(api.get_ok("stock/audit", token=api.token("pms:stock:read"))["balanced"])


def test_a_returned_line_goes_back_into_its_batches_and_only_then_is_refunded(api: Api) -> None:
    # Line 11 (2 of drug 3) is handed out from two batches: the earlier expiry first.
    api.stock_up(3, 1, batch_no="P3-OLD", expiry_date="2098-01-01")
    api.stock_up(3, 5, batch_no="P3-NEW")
    api.stock_up(7, 10)
    order = api.receive(1)
    assert api.dispense(order["id"]).status_code == 200
    assert shelf(api) == {"P3-OLD": 0, "P3-NEW": 4, "P7-A": 9}

    refused = claim(api, 1, [11], "before-return")
    assert refused.status_code == 409 and refused.json()["code"] == "already_dispensed"

    answer = give_back(api, order["id"], [11])
    assert answer.status_code == 201, answer.text
    returned = answer.json()
    assert returned["number"].startswith("TY") and returned["created_by"] == "pharmacist"
    (line,) = returned["lines"]
    assert (line["line_id"], line["quantity"]) == (11, 2)
    assert sorted((b["batch_no"], b["quantity"]) for b in line["batches"]) == [("P3-NEW", 1), ("P3-OLD", 1)]
    # The very batches it came from, each with a ledger row under the TY number.
    assert shelf(api) == {"P3-OLD": 1, "P3-NEW": 5, "P7-A": 9}
    ledger = api.get_ok("stock/movements", params={"reference": returned["number"]}, token=api.token("pms:stock:read"))
    assert sorted((m["movement"], m["batch_no"], m["quantity"], m["person"]) for m in ledger["items"]) == [
        ("patient_return", "P3-NEW", 1, "pharmacist"),
        ("patient_return", "P3-OLD", 1, "pharmacist"),
    ]
    assert fates(api) == {11: "returned", 12: "dispensed"}
    assert balanced(api)

    again = give_back(api, order["id"], [11])
    assert again.status_code == 409 and again.json()["code"] == "not_returnable"
    assert shelf(api)["P3-OLD"] == 1  # nothing put back twice

    # Now the money: the returned line is claimed, the one still with the patient is not.
    assert claim(api, 1, [12], "other-line").json()["code"] == "already_dispensed"
    refunded = claim(api, 1, [11], "after-return")
    assert refunded.status_code == 201, refunded.text
    assert fates(api) == {11: "refunded", 12: "dispensed"}
    assert [n["line_ids"] for n in notices(api)] == [[11]]
    twice = claim(api, 1, [11], "second-claim")
    assert twice.status_code == 409 and twice.json()["code"] == "already_refunded"
    assert give_back(api, order["id"], [11]).json()["code"] == "not_returnable"

    # The dispensing order is a record of what was handed out: unchanged by the return.
    shown = api.get_ok(f"dispensing-orders/{order['id']}")
    assert shown["state"] == "dispensed" and not any(li["cancelled"] for li in shown["lines"])
    listed = api.get_ok("drug-returns", params={"q": order["number"]})
    assert [r["number"] for r in listed["items"]] == [returned["number"]]
    (row,) = [r for r in api.rows("audit_log") if r["entity"] == "drug_return"]
    assert (row["action"], row["actor"]) == ("create", "pharmacist")
    feed = api.get_ok("feed", token=api.token("pms:feed:read"))["items"]
    assert [e["action"] for e in feed if e["entity"] == "drug_return"] == ["returned"]


def test_only_dispensed_lines_come_back_and_a_refusal_writes_nothing(api: Api) -> None:
    api.stock_up_for_orders()
    pending = api.receive(1)
    not_yet = give_back(api, pending["id"], [11])
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "not_returnable"
    # Line 21 was refunded before the dispense: never handed out, so nothing to give back.
    order = api.receive(2)
    assert claim(api, 2, [21], "early").status_code == 201
    assert api.dispense(order["id"]).status_code == 200
    refunded = give_back(api, order["id"], [22, 21])
    assert refunded.status_code == 409 and refunded.json()["code"] == "not_returnable"
    assert "阿莫西林胶囊" in refunded.json()["detail"]
    unknown = give_back(api, order["id"], [99])
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "line_ids"
    assert give_back(api, order["id"], [22, 22]).status_code == 422
    assert give_back(api, order["id"], []).status_code == 422
    assert give_back(api, 999999, [22]).status_code == 404
    reader = give_back(api, order["id"], [22], token=api.token("pms:dispensing:read"))
    assert reader.status_code == 403
    # Line 22 is still dispensed: the refused return of [22, 21] took back nothing.
    assert fates(api) == {21: "refunded", 22: "dispensed"}
    assert api.count("drug_returns") == 0
    assert not [m for m in api.rows("stock_movements") if m["movement"] == "patient_return"]


def test_returns_racing_refund_claims_never_refund_drugs_still_with_the_patient(api: Api) -> None:
    api.stock_up(3, 1000, batch_no="P3-A")
    api.stock_up(7, 1000, batch_no="P7-A")
    orders = [api.receive(n) for n in range(1, 21)]
    for order in orders:
        assert api.dispense(order["id"]).status_code == 200

    def return_one(order: dict[str, Any]) -> int:
        return give_back(api, order["id"], [10 * order["order_id"] + 1]).status_code

    def claim_one(order: dict[str, Any]) -> int:
        n = order["order_id"]
        return claim(api, n, [10 * n + 1], f"race-{n}").status_code

    # Per line: two pharmacists return it and the cashier claims it, all at once.
    with ThreadPoolExecutor(12) as pool:
        returns = [(pool.submit(return_one, o), pool.submit(return_one, o), pool.submit(claim_one, o)) for o in orders]
        outcomes = [(first.result(), second.result(), claimed.result()) for first, second, claimed in returns]
    table = fates(api)
    for order, (first, second, claimed) in zip(orders, outcomes, strict=True):
        line = 10 * order["order_id"] + 1
        assert sorted([first, second]) == [201, 409]  # returned once
        assert claimed in (201, 409)
        # Refunded only after the return; a claim that came first was refused and left it returned.
        assert table[line] == ("refunded" if claimed == 201 else "returned")
        assert table[line + 1] == "dispensed"
    assert api.count("drug_returns") == 20
    # The goods came back exactly once: 2 units a line, into the batch they left.
    assert shelf(api) == {"P3-A": 1000, "P7-A": 1000 - 20}
    assert balanced(api)

    # The cashier tries again where the claim lost the race: now every line is refunded, once.
    for order, (_, _, claimed) in zip(orders, outcomes, strict=True):
        if claimed != 201:
            n = order["order_id"]
            assert claim(api, n, [10 * n + 1], f"retry-{n}").status_code == 201
    assert set(fates(api).values()) == {"refunded", "dispensed"}
    assert sorted(n["line_ids"][0] for n in notices(api)) == sorted(10 * n + 1 for n in range(1, 21))


# --- the whole desk: dispense, return at the pharmacy, refund at the cashier ----------------------


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on(request.param, Path(tmp_path_factory.mktemp("returns"))) as desk:
        desk.stack.start("pms")
        yield desk


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_cashier_refunds_a_dispensed_drug_once_the_pharmacy_took_it_back(desk: Desk) -> None:
    schedule = desk.schedule("D009", quota=2)
    visit = desk.register(desk.patient("吴十")["id"], schedule["id"]).json()
    first, second = desk.drug("YP0004"), desk.drug("YP0005")
    lines = [{"drug_id": first["id"], "quantity": 2}, {"drug_id": second["id"], "quantity": 1}]
    order = desk.ok("POST", f"/api/oms/visits/{visit['id']}/prescriptions", 201, json={"lines": lines})
    payment = desk.pay(visit["id"], order["id"]).json()
    returned_line, kept_line = order["lines"][0], order["lines"][1]
    for drug in (first, second):
        stock_up(desk.http, drug["id"], 5, code=drug["code"], name=drug["name"], batch_no=f"E2E-{drug['id']}")

    def at_pharmacy() -> list[dict[str, Any]]:
        return [o for o in desk.ok("GET", "/api/pms/dispensing-orders")["items"] if o["order_id"] == order["id"]]

    wait_for(lambda: bool(at_pharmacy()))
    (dispensing,) = at_pharmacy()
    desk.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    wait_for(lambda: desk.ok("GET", f"/api/oms/orders/{order['id']}")["state"] == "dispensed")

    def refund(key: str) -> Any:
        body = {"payment_id": payment["id"], "line_ids": [returned_line["id"]], "reason": "患者过敏"}
        return desk.call("POST", "/api/oms/refunds", json=body, headers={"Idempotency-Key": key})

    # The drugs are with the patient: no money back (the pharmacy says so).
    early = refund("desk-refund-early")
    assert early.status_code == 409 and early.json()["code"] == "not_refundable"
    assert "退药" in early.json()["detail"]

    desk.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/returns", 201,
            json={"line_ids": [returned_line["id"]], "reason": "患者过敏"})  # fmt: skip
    done = refund("desk-refund")
    assert done.status_code == 201, done.text
    assert done.json()["refunded_line_ids"] == [returned_line["id"]]
    assert done.json()["amount"] == f"-{returned_line['amount']}"
    assert refund("desk-refund").json() == done.json()  # the cashier's retry: the same refund
    assert refund("desk-refund-again").json()["code"] == "not_refundable"

    states = [line["state"] for line in desk.ok("GET", f"/api/oms/orders/{order['id']}")["lines"]]
    assert states == ["refunded", "dispensed"]
    other = desk.call("POST", "/api/oms/refunds", json={"payment_id": payment["id"], "line_ids": [kept_line["id"]],
                                                        "reason": "不想要了"})  # fmt: skip
    assert other.status_code == 409 and other.json()["code"] == "not_refundable"

    # The pharmacy's notice of the claim arrives too, and changes nothing: the money went back once.
    def notice_delivered() -> bool:
        sql = "SELECT COUNT(*) FROM outbox WHERE path = '/api/oms/refunds/claimed' AND status = 'delivered'"
        return bool(desk.scalar("pms", sql))

    wait_for(notice_delivered)
    refunds = desk.scalar("oms", "SELECT COUNT(*) FROM payments WHERE refund_of = :p", p=payment["id"])
    total = desk.scalar("oms", "SELECT SUM(amount) FROM payments WHERE refund_of = :p", p=payment["id"])
    assert (refunds, f"{-total:.2f}") == (1, returned_line["amount"])
    # And the goods went back once: onto the shelf, the books balanced.
    shelf = desk.ok("GET", "/api/pms/stock", params={"drug_id": first["id"]})["items"]
    assert [row["quantity"] for row in shelf] == [5]
    assert desk.ok("GET", "/api/pms/stock/audit")["balanced"] is True
    fates_now = desk.scalar("pms", "SELECT fate FROM line_fates WHERE line_id = :l", l=returned_line["id"])
    assert fates_now == "refunded"
    assert desk.ok("GET", "/api/pms/drug-returns")["total"] == 1

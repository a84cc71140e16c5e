"""药品记账: drugs booked to a stay reach the pharmacy, come back dispensed, and are credited only
once the pharmacy has given them up (docs/pharmacy.md, "Never both") — through the real gateway,
dbs, oms, pms and hms."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import hms.main
from tests.hms.ward import Ward, wait_for, ward_on
from tests.pms.conftest import stock_up
from tests.support.servers import free_port

AMOXICILLIN, IBUPROFEN, SALINE = "YP0001", "YP0003", "YP0006"


def book(ward: Ward, stay_id: int, *lines: tuple[str, int]) -> dict[str, Any]:
    body = {"lines": [{"drug_id": ward.drug(code)["id"], "quantity": n, "usage": "口服 一日三次"} for code, n in lines]}
    return ward.ok("POST", f"/api/hms/stays/{stay_id}/drug-orders", 201, json=body)


def give_back(ward: Ward, order_id: int, line_ids: list[int], key: str | None = None) -> Any:
    return ward.call(
        "POST", f"/api/hms/drug-orders/{order_id}/returns", json={"line_ids": line_ids, "reason": "医嘱调整"},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )  # fmt: skip


def at_pharmacy(ward: Ward, order_id: int) -> dict[str, Any]:
    """The pharmacy's dispensing order of an hms drug order, once hms's outbox delivered it."""

    def found() -> Any:
        orders = ward.ok("GET", "/api/pms/dispensing-orders", params={"size": 200})["items"]
        return next((o for o in orders if (o["source"], o["order_id"]) == ("hms", order_id)), None)

    return wait_for(found)


def stock(ward: Ward, code: str, quantity: int) -> None:
    drug = ward.drug(code)
    stock_up(ward.http, drug["id"], quantity, code=drug["code"], name=drug["name"], batch_no=uuid.uuid4().hex[:12])


def on_shelf(ward: Ward, code: str) -> int:
    rows = ward.ok("GET", "/api/pms/stock", params={"drug_id": ward.drug(code)["id"], "size": 200})["items"]
    return sum(row["quantity"] for row in rows)


def order(ward: Ward, order_id: int) -> dict[str, Any]:
    return ward.ok("GET", f"/api/hms/drug-orders/{order_id}")


def charge_total(ward: Ward, stay_id: int) -> Decimal:
    return Decimal(ward.ok("GET", f"/api/hms/stays/{stay_id}")["charge_total"])


def credits_of(ward: Ward, stay_id: int) -> int:
    return ward.scalar("hms", "SELECT COUNT(*) FROM charges WHERE stay_id = :s AND state = 'credit'", s=stay_id)


def claim_notices_delivered(ward: Ward) -> bool:
    sql = "SELECT COUNT(*) FROM outbox WHERE path = '/api/hms/refunds/claimed' AND status <> 'delivered'"
    return ward.scalar("pms", sql) == 0


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def ward(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    with ward_on(request.param, Path(tmp_path_factory.mktemp("drugs"))) as ward:
        yield ward


@pytest.fixture
def stay(ward: Ward) -> dict[str, Any]:
    return ward.admit(ward.new_ward(beds=1)["bed_list"][0]["id"], deposit={"amount": "2000.00", "method": "cash"})


def test_a_booking_reaches_the_pharmacy_and_comes_back_dispensed(ward: Ward, stay: dict[str, Any]) -> None:
    amoxicillin, ibuprofen = ward.drug(AMOXICILLIN), ward.drug(IBUPROFEN)
    booked = book(ward, stay["id"], (AMOXICILLIN, 2), (IBUPROFEN, 1))
    assert booked["number"].startswith("YZ") and booked["state"] == "pending"
    expected = Decimal(amoxicillin["price"]) * 2 + Decimal(ibuprofen["price"])
    assert Decimal(booked["total"]) == expected == charge_total(ward, stay["id"])
    lines = booked["lines"]
    assert [(c["kind"], c["category"], c["state"], c["name"]) for c in lines] == [
        ("drug", "药品费", "booked", amoxicillin["name"]), ("drug", "药品费", "booked", ibuprofen["name"]),
    ]  # fmt: skip
    undispensed = ward.ok("GET", "/api/hms/undispensed", params={"stay_id": stay["id"]})
    assert [(u["id"], u["order_number"], u["stay_number"]) for u in undispensed] == [
        (c["id"], booked["number"], stay["number"]) for c in lines
    ]

    dispensing = at_pharmacy(ward, booked["id"])
    assert (dispensing["order_number"], dispensing["visit_number"], dispensing["patient_name"]) == (
        booked["number"], stay["number"], stay["patient_name"],
    )  # fmt: skip
    assert [(p["line_id"], p["drug_id"], p["quantity"]) for p in dispensing["lines"]] == [
        (lines[0]["id"], amoxicillin["id"], 2), (lines[1]["id"], ibuprofen["id"], 1),
    ]  # fmt: skip
    stock(ward, AMOXICILLIN, 2)
    stock(ward, IBUPROFEN, 1)
    ward.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    done = wait_for(lambda: (o := order(ward, booked["id"]))["state"] == "dispensed" and o)
    assert done["dispensing_number"] == dispensing["number"] and done["dispensed_by"]
    assert [c["state"] for c in done["lines"]] == ["dispensed", "dispensed"]
    assert ward.ok("GET", "/api/hms/undispensed", params={"stay_id": stay["id"]}) == []
    listed = ward.ok("GET", "/api/hms/drug-orders", params={"stay_id": stay["id"], "state": "dispensed"})
    assert [o["number"] for o in listed["items"]] == [booked["number"]] and listed["items"][0]["lines"]

    feed = ward.ok("GET", "/api/hms/feed", params={"after": 0, "limit": 1000})["items"]
    (charged,) = [f for f in feed if f["entity"] == "drug_order" and f["entity_id"] == str(booked["id"])]
    assert charged["action"] == "charged" and Decimal(charged["data"]["amount"]) == expected
    assert stay["patient_name"] not in str(charged)


def test_cancelling_an_undispensed_line_claims_it_first_and_it_is_never_handed_out(
    ward: Ward, stay: dict[str, Any]
) -> None:
    booked = book(ward, stay["id"], (AMOXICILLIN, 3), (IBUPROFEN, 2))
    first, second = booked["lines"]
    dispensing = at_pharmacy(ward, booked["id"])
    stock(ward, AMOXICILLIN, 3)
    stock(ward, IBUPROFEN, 2)
    shelf = on_shelf(ward, AMOXICILLIN)

    keyless = ward.call("POST", f"/api/hms/drug-orders/{booked['id']}/returns",
                        json={"line_ids": [first["id"]], "reason": "医嘱调整"})  # fmt: skip
    assert keyless.status_code == 422 and keyless.json()["code"] == "idempotency_key_required"
    answer = give_back(ward, booked["id"], [first["id"]], key="cancel-1")
    assert answer.status_code == 201, answer.text
    after = answer.json()
    assert [c["state"] for c in after["lines"]] == ["cancelled", "booked"]
    (credit,) = after["credits"]
    assert (credit["reverses_id"], credit["quantity"], credit["amount"]) == (first["id"], -3, f"-{first['amount']}")
    assert after["state"] == "pending" and Decimal(after["credited"]) == -Decimal(first["amount"])
    assert charge_total(ward, stay["id"]) == Decimal(second["amount"])
    again = give_back(ward, booked["id"], [first["id"]], key="cancel-1")
    assert (again.status_code, again.json()) == (201, after) and again.headers["idempotent-replayed"] == "true"

    # The pharmacy struck the line through, and its notice of the claim found the credit written.
    shown = ward.ok("GET", f"/api/pms/dispensing-orders/{dispensing['id']}")
    assert [line["cancelled"] for line in shown["lines"]] == [True, False]
    wait_for(lambda: claim_notices_delivered(ward))
    assert credits_of(ward, stay["id"]) == 1
    ward.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    done = wait_for(lambda: (o := order(ward, booked["id"]))["state"] == "dispensed" and o)
    assert [c["state"] for c in done["lines"]] == ["cancelled", "dispensed"]
    assert on_shelf(ward, AMOXICILLIN) == shelf  # the cancelled line took no stock

    # Every line cancelled: the order is.
    single = book(ward, stay["id"], (SALINE, 1))
    assert give_back(ward, single["id"], [single["lines"][0]["id"]]).status_code == 201
    assert order(ward, single["id"])["state"] == "cancelled"
    assert charge_total(ward, stay["id"]) == Decimal(second["amount"])


def test_a_dispensed_line_is_credited_only_after_it_came_back_to_the_pharmacy(ward: Ward, stay: dict[str, Any]) -> None:
    booked = book(ward, stay["id"], (IBUPROFEN, 2))
    (line,) = booked["lines"]
    dispensing = at_pharmacy(ward, booked["id"])
    stock(ward, IBUPROFEN, 2)
    ward.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    wait_for(lambda: order(ward, booked["id"])["state"] == "dispensed")

    refused = give_back(ward, booked["id"], [line["id"]])
    assert refused.status_code == 409 and refused.json()["code"] == "already_dispensed", refused.text
    assert "请先办理退药" in refused.json()["detail"]
    assert credits_of(ward, stay["id"]) == 0 and charge_total(ward, stay["id"]) == Decimal(booked["total"])

    ward.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/returns", 201,
            json={"line_ids": [line["id"]], "reason": "患者出院带药未用"})  # fmt: skip
    answer = give_back(ward, booked["id"], [line["id"]])
    assert answer.status_code == 201, answer.text
    assert [c["state"] for c in answer.json()["lines"]] == ["returned"]
    assert answer.json()["state"] == "dispensed"
    twice = give_back(ward, booked["id"], [line["id"]])
    assert twice.status_code == 409 and twice.json()["code"] == "already_credited"
    assert credits_of(ward, stay["id"]) == 1 and charge_total(ward, stay["id"]) == Decimal("0.00")


def test_a_claim_whose_answer_hms_never_heard_is_recorded_by_the_pharmacys_notice(
    ward: Ward, stay: dict[str, Any]
) -> None:
    booked = book(ward, stay["id"], (AMOXICILLIN, 1), (IBUPROFEN, 1))
    first = booked["lines"][0]
    # As if hms's request died after the pharmacy said yes: only the claim exists.
    body = {"line_ids": [first["id"]], "payment_id": first["id"], "reason": "医嘱调整", "cashier": "nurse1"}
    ward.ok("POST", f"/api/pms/dispensing-orders/by-source/hms/{booked['id']}/refund-claims", 201, json=body,
            headers={"Idempotency-Key": f"hms-return-{booked['id']}-lost"})  # fmt: skip
    recorded = wait_for(lambda: (o := order(ward, booked["id"]))["credits"] and o)
    assert [c["state"] for c in recorded["lines"]] == ["cancelled", "booked"]
    assert recorded["credits"][0]["created_by"] == "nurse1"
    assert charge_total(ward, stay["id"]) == Decimal(booked["lines"][1]["amount"])
    wait_for(lambda: claim_notices_delivered(ward))
    assert credits_of(ward, stay["id"]) == 1


def test_the_pharmacy_unreachable_answers_503_and_nothing_is_credited(ward: Ward, stay: dict[str, Any]) -> None:
    booked = book(ward, stay["id"], (AMOXICILLIN, 1))
    at_pharmacy(ward, booked["id"])
    stack = ward.stack
    urls = {**stack.settings("hms").service_urls, "PMS": f"http://127.0.0.1:{free_port()}"}
    settings = stack.settings("hms", service_urls=urls, database_url=stack.database_urls["hms"], port=free_port())
    with TestClient(hms.main.create_app(settings)) as alone:
        answer = alone.post(
            f"/api/hms/drug-orders/{booked['id']}/returns", json={"line_ids": [booked["lines"][0]["id"]],
            "reason": "医嘱调整"}, headers={**stack.bearer(), "Idempotency-Key": "no-pharmacy"},
        )  # fmt: skip
    assert answer.status_code == 503 and answer.json()["code"] == "pharmacy_unavailable", answer.text
    assert credits_of(ward, stay["id"]) == 0
    assert charge_total(ward, stay["id"]) == Decimal(booked["total"])
    assert [c["state"] for c in order(ward, booked["id"])["lines"]] == ["booked"]
    assert "no-pharmacy" not in {row["key"] for row in ward.rows("hms", "SELECT * FROM idempotency_keys")}
    assert ward.scalar("hms", "SELECT COUNT(*) FROM drug_returns WHERE order_id = :o", o=booked["id"]) == 0


def test_bad_bookings_are_refused_naming_the_line_and_write_nothing(ward: Ward, stay: dict[str, Any]) -> None:
    known = ward.drug(AMOXICILLIN)["id"]
    path = f"/api/hms/stays/{stay['id']}/drug-orders"
    unknown = ward.call("POST", path, json={"lines": [{"drug_id": known, "quantity": 1},
                                                      {"drug_id": 999999, "quantity": 1}]})  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "lines.1.drug_id", unknown.text
    twice = ward.call("POST", path, json={"lines": [{"drug_id": known, "quantity": 1}] * 2})
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "lines.1.drug_id"
    too_many = ward.call("POST", path, json={"lines": [{"drug_id": known, "quantity": 10000}]})
    assert too_many.status_code == 422
    assert ward.scalar("hms", "SELECT COUNT(*) FROM drug_orders WHERE stay_id = :s", s=stay["id"]) == 0
    assert charge_total(ward, stay["id"]) == Decimal("0.00")
    reader = {"Authorization": f"Bearer {ward.stack.token(['hms:drug:read'])}"}
    assert (
        ward.call("POST", path, json={"lines": [{"drug_id": known, "quantity": 1}]}, headers=reader).status_code == 403
    )


def test_a_settled_stay_takes_no_drugs_and_gives_none_back(ward: Ward, stay: dict[str, Any]) -> None:
    booked = book(ward, stay["id"], (AMOXICILLIN, 1))
    # The settlement itself is another route's: only its effect, the stay's state, matters here.
    with ward.engines["hms"].begin() as conn:
        conn.execute(text("UPDATE stays SET state = 'settled' WHERE id = :s"), {"s": stay["id"]})
    again = ward.call("POST", f"/api/hms/stays/{stay['id']}/drug-orders",
                      json={"lines": [{"drug_id": ward.drug(AMOXICILLIN)["id"], "quantity": 1}]})  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "stay_settled", again.text
    back = give_back(ward, booked["id"], [booked["lines"][0]["id"]])
    assert back.status_code == 409 and back.json()["code"] == "stay_settled"
    assert ward.scalar("hms", "SELECT COUNT(*) FROM drug_orders WHERE stay_id = :s", s=stay["id"]) == 1
    assert charge_total(ward, stay["id"]) == Decimal(booked["total"]) and credits_of(ward, stay["id"]) == 0

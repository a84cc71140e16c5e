"""Pharmacy stock: deliveries from the warehouse are applied once, dispensing takes stock first
expiry first and never an expired batch, a shortage dispenses nothing, stock always equals its
ledger, and every batch can be traced to the patients who received it. The pms app in process,
on SQLite and MariaDB."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pms.db import stock
from shared.clock import local_today
from shared.stock import Mismatch, stock_audit
from tests.conftest import DatabaseUnderTest
from tests.pms.conftest import STOCK_READER, Api, delivery_body, delivery_line


def ledger_mismatches(database: DatabaseUnderTest) -> list[Mismatch]:
    """The shared audit helper: batches whose quantity is not the sum of their ledger."""

    async def run() -> list[Mismatch]:
        engine = create_async_engine(database.url)
        try:
            async with AsyncSession(engine) as session:
                return await stock_audit(session, stock)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def drug_line(line_id: int, drug_id: int, quantity: int, name: str = "阿莫西林胶囊") -> dict[str, Any]:
    return {"line_id": line_id, "drug_id": drug_id, "code": f"YP{drug_id:03d}", "name": name,
            "spec": "0.25g*24粒", "unit": "盒", "quantity": quantity}  # fmt: skip


def _in_days(days: int) -> str:
    """A date `days` after the hospital's today (the default time zone)."""
    return (local_today("Asia/Shanghai") + timedelta(days=days)).isoformat()


def shelf(api: Api, **params: Any) -> Any:
    return api.get_ok("stock", params=params, token=api.token(*STOCK_READER))["items"]


def movements(api: Api, **params: Any) -> Any:
    return api.get_ok("stock/movements", params=params, token=api.token(*STOCK_READER))["items"]


def trace(api: Api, **params: Any) -> Any:
    return api.request("GET", "stock/trace", params=params, token=api.token(*STOCK_READER))


def quantities(api: Api, drug_id: int) -> dict[str, int]:
    return {b["batch_no"]: b["quantity"] for b in shelf(api, drug_id=drug_id, include_empty=True)}


# --- deliveries ----------------------------------------------------------------------------------


def test_a_delivery_is_applied_once_whatever_the_relay_resends(api: Api, database: DatabaseUnderTest) -> None:
    body = delivery_body(delivery_line(3, 40, batch_no="A1"), delivery_line(7, 10, batch_no="B1"), outbound_id=9)
    first = api.deliver(body, "sms-outbound-9")
    assert first.status_code == 201, first.text
    delivery = first.json()
    assert delivery["number"].startswith("YR") and delivery["outbound_number"] == body["outbound_number"]
    assert delivery["received_by"] == "service:sms"
    assert [(line["drug_id"], line["batch_no"], line["quantity"]) for line in delivery["lines"]] == [
        (3, "A1", 40),
        (7, "B1", 10),
    ]
    again = api.deliver(body, "sms-outbound-9")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == delivery
    other_key = api.deliver(body, "sms-outbound-9-again")
    assert other_key.status_code == 409 and other_key.json()["code"] == "delivery_already_received"

    assert quantities(api, 3) == {"A1": 40} and quantities(api, 7) == {"B1": 10}
    ledger = movements(api)
    assert sorted((m["movement"], m["batch_no"], m["quantity"], m["reference"]) for m in ledger) == [
        ("delivery", "A1", 40, body["outbound_number"]),
        ("delivery", "B1", 10, body["outbound_number"]),
    ]
    listed = api.get_ok("deliveries", token=api.token(*STOCK_READER))
    assert listed["total"] == 1 and listed["items"][0] == delivery
    assert [r["action"] for r in api.audit_rows() if r["entity"] == "delivery"] == ["create"]
    assert ledger_mismatches(database) == []


def test_a_later_delivery_of_the_same_batch_adds_to_it(api: Api) -> None:
    api.stock_up(3, 10, batch_no="A1")
    api.stock_up(3, 5, batch_no="A1")
    (batch,) = shelf(api, drug_id=3)
    assert (batch["quantity"], batch["value"]) == (15, "37.50")  # at 2.50 each
    assert (batch["code"], batch["name"], batch["spec"], batch["unit"]) == ("YP003", "药品3", "10片/盒", "盒")


def test_bad_deliveries_are_refused_and_nothing_is_written(api: Api) -> None:
    api.stock_up(3, 10, batch_no="A1", expiry_date="2030-06-30")
    cases = {
        "expiry before production": delivery_line(3, 1, production_date="2030-01-01", expiry_date="2029-01-01"),
        "zero quantity": delivery_line(3, 0),
        "negative price": delivery_line(3, 1, purchase_price="-1.00"),
    }
    for case, line in cases.items():
        answer = api.deliver(delivery_body(line), f"bad-{case}")
        assert answer.status_code == 422, (case, answer.text)
    # The same batch number with another expiry is another batch in truth: the whole order is refused.
    mixed = delivery_body(
        delivery_line(7, 5, batch_no="B1"), delivery_line(3, 1, batch_no="A1", expiry_date="2031-01-01")
    )
    refused = api.deliver(mixed, "mixed")
    assert refused.status_code == 409 and refused.json()["code"] == "batch_mismatch"
    assert quantities(api, 3) == {"A1": 10} and quantities(api, 7) == {}
    assert api.count("deliveries") == 1 and len(movements(api)) == 1
    assert api.deliver(mixed, None).json()["code"] == "idempotency_key_required"


# --- the shelf -----------------------------------------------------------------------------------


def test_the_shelf_shows_value_and_expiry_and_filters(api: Api) -> None:
    api.stock_up(3, 4, batch_no="OLD", expiry_date="2020-01-31", purchase_price="1.25")
    api.stock_up(3, 6, batch_no="SOON", expiry_date=_in_days(30))
    api.stock_up(7, 8, batch_no="LATER", expiry_date="2099-01-01")
    batches = shelf(api)
    assert [b["batch_no"] for b in batches] == ["OLD", "SOON", "LATER"]  # first expiry first
    old, soon, later = batches
    assert (old["value"], old["expired"], old["expiring"]) == ("5.00", True, False)
    assert (soon["expired"], soon["expiring"]) == (False, True)
    assert (later["expired"], later["expiring"]) == (False, False)
    assert [b["batch_no"] for b in shelf(api, drug_id=7)] == ["LATER"]
    assert [b["batch_no"] for b in shelf(api, batch_no="SOON")] == ["SOON"]
    assert [b["batch_no"] for b in shelf(api, q="药品7")] == ["LATER"]
    assert [b["batch_no"] for b in shelf(api, expiring_within_days=60)] == ["OLD", "SOON"]
    assert [b["batch_no"] for b in shelf(api, sort="-quantity")] == ["LATER", "SOON", "OLD"]


# --- dispensing takes stock ----------------------------------------------------------------------


def test_dispensing_takes_the_first_expiring_batches_first(api: Api, database: DatabaseUnderTest) -> None:
    api.stock_up(3, 5, batch_no="MID", expiry_date="2031-06-30")
    api.stock_up(3, 5, batch_no="FIRST", expiry_date="2031-03-31")
    api.stock_up(3, 5, batch_no="LAST", expiry_date="2031-09-30")
    order = api.receive(1, lines=[drug_line(11, 3, 12)])
    answer = api.dispense(order["id"])
    assert answer.status_code == 200, answer.text
    (line,) = answer.json()["lines"]
    assert [(b["batch_no"], b["quantity"]) for b in line["batches"]] == [("FIRST", 5), ("MID", 5), ("LAST", 2)]
    assert api.get_ok(f"dispensing-orders/{order['id']}")["lines"][0]["batches"] == line["batches"]
    assert quantities(api, 3) == {"FIRST": 0, "MID": 0, "LAST": 3}
    taken = movements(api, movement="dispense")
    assert sorted((m["batch_no"], m["quantity"]) for m in taken) == [("FIRST", -5), ("LAST", -2), ("MID", -5)]
    assert {(m["reference"], m["person"]) for m in taken} == {(order["number"], "pharmacist")}
    assert movements(api)[0]["movement"] == "dispense"  # newest first
    assert ledger_mismatches(database) == []


def test_an_expired_batch_is_never_dispensed(api: Api) -> None:
    api.stock_up(3, 50, batch_no="EXPIRED", expiry_date="2020-12-31")
    api.stock_up(3, 1, batch_no="GOOD", expiry_date="2031-12-31")
    short = api.receive(1, lines=[drug_line(11, 3, 2)])
    refused = api.dispense(short["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_stock"
    order = api.receive(2, lines=[drug_line(21, 3, 1)])
    done = api.dispense(order["id"]).json()
    assert [b["batch_no"] for b in done["lines"][0]["batches"]] == ["GOOD"]
    assert quantities(api, 3) == {"EXPIRED": 50, "GOOD": 0}


def test_a_shortage_names_the_drug_and_dispenses_nothing(api: Api, database: DatabaseUnderTest) -> None:
    api.stock_up(3, 10)
    api.stock_up(7, 1)
    order = api.receive(1, lines=[drug_line(11, 3, 4), drug_line(12, 7, 3, name="布洛芬缓释胶囊")])
    refused = api.dispense(order["id"])
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "insufficient_stock"
    assert "布洛芬缓释胶囊" in problem["detail"] and "缺 2" in problem["detail"]
    # Nothing half-dispensed: the first drug's stock is back, no fate, no report, no audit row.
    assert quantities(api, 3) == {"P3-A": 10} and quantities(api, 7) == {"P7-A": 1}
    assert movements(api, movement="dispense") == []
    assert api.count("line_fates") == 0 and api.count("outbox") == 0 and api.count("dispensing_line_batches") == 0
    assert [r["action"] for r in api.audit_rows() if r["entity"] == "dispensing_order"] == ["create"]
    assert api.get_ok(f"dispensing-orders/{order['id']}")["state"] == "pending"
    # Once the warehouse delivers, the same order is dispensed.
    api.stock_up(7, 2, batch_no="P7-B")
    assert api.dispense(order["id"]).status_code == 200
    assert quantities(api, 7) == {"P7-A": 0, "P7-B": 0}
    assert ledger_mismatches(database) == []


def test_a_refunded_line_takes_no_stock(api: Api) -> None:
    api.stock_up_for_orders(quantity=10)
    order = api.receive(1)
    claim = {"line_ids": [11], "payment_id": 5, "reason": "患者不需要", "cashier": "cashier1"}
    answer = api.request("POST", "dispensing-orders/by-source/oms/1/refund-claims", json=claim,
                         headers={"Idempotency-Key": "claim-1"}, token=api.oms_token)  # fmt: skip
    assert answer.status_code == 201, answer.text
    done = api.dispense(order["id"]).json()
    assert [len(line["batches"]) for line in done["lines"]] == [0, 1]
    assert quantities(api, 3) == {"P3-A": 10} and quantities(api, 7) == {"P7-A": 9}


# --- traceability --------------------------------------------------------------------------------


def test_a_batch_traces_to_its_patients_and_a_patient_to_their_batches(api: Api) -> None:
    api.stock_up(3, 3, batch_no="RECALL", expiry_date="2031-01-31")
    api.stock_up(3, 10, batch_no="NEXT", expiry_date="2031-12-31")
    api.stock_up(7, 10, batch_no="IBU")
    first = api.receive(1, patient_name="张三", visit_number="MZ20261128-00001")
    second = api.receive(2, patient_name="李四", visit_number="MZ20261128-00002")
    assert api.dispense(first["id"]).status_code == 200  # 2 of RECALL
    assert api.dispense(second["id"]).status_code == 200  # 1 of RECALL, 1 of NEXT

    recall = trace(api, batch_no="RECALL", drug_id=3)
    assert recall.status_code == 200, recall.text
    rows = recall.json()["items"]
    assert sorted((r["patient_name"], r["visit_number"], r["quantity"]) for r in rows) == [
        ("张三", "MZ20261128-00001", 2),
        ("李四", "MZ20261128-00002", 1),
    ]
    assert all(r["dispensing_number"].startswith("FY") and r["dispensed_at"] for r in rows)

    received = trace(api, visit_number="MZ20261128-00002").json()["items"]
    assert sorted((r["code"], r["batch_no"], r["quantity"]) for r in received) == [
        ("YP003", "NEXT", 1),
        ("YP003", "RECALL", 1),
        ("YP007", "IBU", 1),
    ]
    by_name = trace(api, patient_name="张三").json()["items"]
    assert sorted((r["batch_no"], r["quantity"]) for r in by_name) == [("IBU", 1), ("RECALL", 2)]
    assert trace(api, batch_no="NOBODY").json()["items"] == []
    # Without a filter: every batch handed out, and `q` finds a batch number among them.
    everything = trace(api).json()["items"]
    assert {r["batch_no"] for r in everything} == {"NEXT", "RECALL", "IBU"}
    assert {r["batch_no"] for r in trace(api, q="RECA").json()["items"]} == {"RECALL"}


# --- permissions ---------------------------------------------------------------------------------


def test_each_stock_route_needs_its_permission(api: Api) -> None:
    body = delivery_body(delivery_line(3, 5))
    pharmacist = api.pharmacist_token
    assert api.deliver(body, "k1", token=pharmacist).status_code == 403
    assert api.deliver(body, "k1", token=api.token("pms:delivery:read")).status_code == 403
    assert api.deliver(body, "k1", token=None).status_code == 401
    assert api.count("deliveries") == 0 and api.count("idempotency_keys") == 0
    assert api.deliver(body, "k1", token=api.token("pms:delivery:write")).status_code == 201
    for path, needed in [
        ("deliveries", "pms:delivery:read"),
        ("stock", "pms:stock:read"),
        ("stock/movements", "pms:stock:read"),
        ("stock/trace?batch_no=P3-A", "pms:trace:read"),
    ]:
        others = [p for p in STOCK_READER if p != needed]
        assert api.request("GET", path, token=api.token(*others)).status_code == 403, path
        assert api.request("GET", path, token=None).status_code == 401, path
        assert api.request("GET", path, token=api.token(needed)).status_code == 200, path
    paths = api.client.get("/api/pms/openapi.json").json()["paths"]
    assert paths["/api/pms/deliveries"]["post"]["x-permission"] == "pms:delivery:write"
    assert paths["/api/pms/stock/trace"]["get"]["x-permission"] == "pms:trace:read"

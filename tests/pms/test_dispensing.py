"""Dispensing orders: received once per key and once per oms order, dispensed once, reported to oms."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.auth.tokens import SERVICE_USER_ID
from tests.pms.conftest import Api, order_body

NUMBER = re.compile(r"^FY\d{8}-\d{5}$")


# --- receive -------------------------------------------------------------------------------------


def test_receive_answers_the_pending_order_with_its_lines_and_number(api: Api) -> None:
    answer = api.send(order_body(1), "oms-order-1")
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert NUMBER.match(order["number"]), order["number"]
    assert order["state"] == "pending"
    assert order["dispensed_at"] is None and order["dispensed_by"] is None
    assert (order["source"], order["order_id"], order["patient_name"]) == ("oms", 1, "张三")
    assert [(line["line_id"], line["drug_id"], line["quantity"]) for line in order["lines"]] == [(11, 3, 2), (12, 7, 1)]
    assert order["created_at"].endswith("Z")
    assert "idempotent-replayed" not in answer.headers
    assert api.get_ok(f"dispensing-orders/{order['id']}") == order


def test_numbers_run_on_within_the_day(api: Api) -> None:
    first, second = api.receive(1), api.receive(2)
    assert first["number"][:10] == second["number"][:10]
    assert int(second["number"][-5:]) == int(first["number"][-5:]) + 1


def test_the_same_key_again_answers_the_same_order(api: Api) -> None:
    first = api.send(order_body(1), "key-1")
    again = api.send(order_body(1), "key-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert api.count("dispensing_orders") == 1
    assert api.count("dispensing_lines") == 2
    assert len(api.audit_rows()) == 1
    assert api.count("change_feed") == 1


def test_twenty_concurrent_requests_with_one_key_make_one_order(api: Api) -> None:
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: api.send(order_body(5), "race-key"), range(20)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") != "true" for a in answers) == 1
    assert api.count("dispensing_orders") == 1
    assert api.count("idempotency_keys") == 1
    assert len(api.audit_rows()) == 1


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    assert api.send(order_body(1), "key-1").status_code == 201
    other = api.send(order_body(1, patient_name="李四"), "key-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert api.count("dispensing_orders") == 1


def test_the_same_oms_order_under_another_key_is_a_conflict(api: Api) -> None:
    assert api.send(order_body(1), "key-1").status_code == 201
    again = api.send(order_body(1), "key-2")
    assert again.status_code == 409
    assert again.json()["code"] == "order_already_received"
    assert api.count("dispensing_orders") == 1
    # The refused key was not kept: it is free for a corrected request.
    assert [row["key"] for row in api.rows("idempotency_keys")] == ["key-1"]


def test_a_key_is_required(api: Api) -> None:
    answer = api.send(order_body(1), None)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "idempotency_key_required"
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert api.send(order_body(1), "   ").status_code == 422
    assert api.send(order_body(1), "x" * 101).status_code == 422
    assert api.count("dispensing_orders") == 0


def _without_lines() -> dict:
    return order_body(1, lines=[])


def _zero_quantity() -> dict:
    body = order_body(1)
    body["lines"][1]["quantity"] = 0
    return body


def _fractional_quantity() -> dict:
    body = order_body(1)
    body["lines"][0]["quantity"] = 1.5
    return body


def _repeated_line() -> dict:
    body = order_body(1)
    body["lines"][1]["line_id"] = body["lines"][0]["line_id"]
    return body


BAD_BODIES = {
    "no lines": (_without_lines, "lines"),
    "zero quantity": (_zero_quantity, "lines.1.quantity"),
    "fractional quantity": (_fractional_quantity, "lines.0.quantity"),
    "a line twice": (_repeated_line, "lines"),
    "unknown source": (lambda: order_body(1, source="tms"), "source"),
    "no order id": (lambda: {k: v for k, v in order_body(1).items() if k != "order_id"}, "order_id"),
    "no patient": (lambda: order_body(1, patient_name=" "), "patient_name"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_a_bad_body_is_refused_and_nothing_is_written(api: Api, case: str) -> None:
    build, field = BAD_BODIES[case]
    answer = api.send(build(), f"bad-{case}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_failed"
    assert field in {e["field"] for e in answer.json()["errors"]}
    for table in ("dispensing_orders", "dispensing_lines", "idempotency_keys", "audit_log", "change_feed", "outbox"):
        assert api.count(table) == 0, table


def test_missing_spec_and_unit_are_stored_empty(api: Api) -> None:
    body = order_body(1)
    body["lines"][0].update(spec=None, unit=None)
    order = api.send(body, "k").json()
    assert (order["lines"][0]["spec"], order["lines"][0]["unit"]) == ("", "")


# --- lists ---------------------------------------------------------------------------------------


def test_list_filters_by_state_and_searches(api: Api) -> None:
    first, second, third = api.receive(1), api.receive(2, patient_name="王五"), api.receive(3)
    api.stock_up_for_orders()
    assert api.dispense(second["id"]).status_code == 200
    page = api.get_ok("dispensing-orders")
    assert (page["total"], page["page"], page["size"]) == (3, 1, 20)
    assert [o["id"] for o in page["items"]] == [third["id"], second["id"], first["id"]]  # newest first
    assert all(len(o["lines"]) == 2 for o in page["items"])
    pending = api.get_ok("dispensing-orders", params={"state": "pending"})
    assert [o["id"] for o in pending["items"]] == [third["id"], first["id"]]
    dispensed = api.get_ok("dispensing-orders", params={"state": "dispensed"})
    assert [o["id"] for o in dispensed["items"]] == [second["id"]]
    assert [o["id"] for o in api.get_ok("dispensing-orders", params={"q": "王五"})["items"]] == [second["id"]]
    by_number = api.get_ok("dispensing-orders", params={"q": first["number"]})
    assert [o["id"] for o in by_number["items"]] == [first["id"]]
    assert [o["id"] for o in api.get_ok("dispensing-orders", params={"q": "CF20261122-00003"})["items"]] == [
        third["id"]
    ]
    oldest = api.get_ok("dispensing-orders", params={"sort": "created_at", "size": 1, "page": 2})
    assert [o["id"] for o in oldest["items"]] == [second["id"]]


def test_bad_list_parameters(api: Api) -> None:
    assert api.request("GET", "dispensing-orders", params={"state": "lost"}).status_code == 422
    answer = api.request("GET", "dispensing-orders", params={"sort": "patient_name"})
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_sort")
    assert api.request("GET", "dispensing-orders/987654").status_code == 404


# --- dispense ------------------------------------------------------------------------------------


def test_dispense_records_who_and_when_and_queues_one_report(api: Api) -> None:
    order = api.receive(4)
    api.stock_up_for_orders()
    answer = api.dispense(order["id"])
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert (done["state"], done["dispensed_by"]) == ("dispensed", "pharmacist")
    assert done["dispensed_at"].endswith("Z")
    assert api.get_ok(f"dispensing-orders/{order['id']}") == done

    (message,) = api.rows("outbox")
    assert (message["destination"], message["method"]) == ("OMS", "POST")
    assert message["path"] == "/api/oms/orders/4/dispensed"
    assert message["key"] == f"pms-dispensed-{order['id']}"
    assert json.loads(message["body"]) == {
        "dispensing_number": order["number"],
        "dispensed_at": done["dispensed_at"],
        "dispensed_by": "pharmacist",
        "line_ids": [line["line_id"] for line in order["lines"]],
    }
    # No oms here: the message waits, it is not dropped.
    assert message["status"] == "pending"


def test_dispensing_twice_is_a_conflict_and_queues_nothing_more(api: Api) -> None:
    order = api.receive(1)
    api.stock_up_for_orders()
    assert api.dispense(order["id"]).status_code == 200
    again = api.dispense(order["id"])
    assert again.status_code == 409
    assert again.json()["code"] == "already_dispensed"
    assert api.count("outbox") == 1
    assert [r["action"] for r in api.audit_rows() if r["entity"] == "dispensing_order"] == ["create", "dispense"]


def test_concurrent_dispenses_dispense_once(api: Api) -> None:
    order = api.receive(1)
    api.stock_up_for_orders()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.dispense(order["id"]), range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7, [a.text for a in answers]
    assert api.count("outbox") == 1


def test_dispensing_a_missing_order(api: Api) -> None:
    answer = api.dispense(987654)
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert api.count("outbox") == 0


# --- permissions ---------------------------------------------------------------------------------


def test_each_route_needs_its_permission(api: Api) -> None:
    order = api.receive(1)
    reader = api.token("pms:dispensing:read")
    writer_only = api.token("pms:dispensing:write")
    assert api.send(order_body(2), "k2", token=reader).status_code == 403
    assert api.dispense(order["id"], token=reader).status_code == 403
    assert api.request("GET", "dispensing-orders", token=writer_only).status_code == 403
    assert api.request("GET", f"dispensing-orders/{order['id']}", token=writer_only).status_code == 403
    assert api.request("GET", "dispensing-orders", token=None).status_code == 401
    assert api.send(order_body(2), "k2", token=None).status_code == 401
    # Refused before anything is looked at: no key kept, nothing written.
    assert api.count("dispensing_orders") == 1
    assert api.count("idempotency_keys") == 1
    assert api.get_ok(f"dispensing-orders/{order['id']}", token=reader)["state"] == "pending"


def test_routes_publish_their_permission(api: Api) -> None:
    paths = api.client.get("/api/pms/openapi.json").json()["paths"]
    assert paths["/api/pms/dispensing-orders"]["post"]["x-permission"] == "pms:dispensing:write"
    assert paths["/api/pms/dispensing-orders"]["get"]["x-permission"] == "pms:dispensing:read"
    assert paths["/api/pms/dispensing-orders/{order_id}"]["get"]["x-permission"] == "pms:dispensing:read"
    assert paths["/api/pms/dispensing-orders/{order_id}/dispense"]["post"]["x-permission"] == "pms:dispensing:write"
    assert paths["/api/pms/feed"]["get"]["x-permission"] == "pms:feed:read"


# --- audit and feed ------------------------------------------------------------------------------


def test_every_write_is_audited_with_its_caller(api: Api) -> None:
    answer = api.send(order_body(1), "audit-key", headers={"X-Request-ID": "req-pms-1"})
    order = answer.json()
    api.stock_up_for_orders()
    api.dispense(order["id"], headers={"X-Request-ID": "req-pms-2"})
    created, dispensed = (r for r in api.audit_rows() if r["entity"] == "dispensing_order")
    assert (created["actor"], created["actor_id"], created["action"]) == ("service:oms", SERVICE_USER_ID, "create")
    assert (created["entity"], created["entity_id"]) == ("dispensing_order", str(order["id"]))
    assert created["request_id"] == "req-pms-1"
    assert created["route"] == "POST /api/pms/dispensing-orders"
    assert created["before"] is None and created["after"]["number"] == order["number"]
    assert len(created["after"]["lines"]) == 2
    assert (dispensed["actor"], dispensed["action"], dispensed["request_id"]) == ("pharmacist", "dispense", "req-pms-2")
    assert dispensed["route"] == f"POST /api/pms/dispensing-orders/{order['id']}/dispense"
    assert (dispensed["before"]["state"], dispensed["after"]["state"]) == ("pending", "dispensed")


def test_the_feed_has_receive_and_dispense_without_personal_data(api: Api) -> None:
    order = api.receive(1)
    api.stock_up_for_orders()
    api.dispense(order["id"])
    feed = api.get_ok("feed", token=api.token("pms:feed:read"))
    feed["items"] = [c for c in feed["items"] if c["entity"] == "dispensing_order"]
    assert [(c["action"], c["entity_id"]) for c in feed["items"]] == [
        ("received", str(order["id"])),
        ("dispensed", str(order["id"])),
    ]
    assert feed["next"] == feed["items"][-1]["seq"]
    received, dispensed = (c["data"] for c in feed["items"])
    assert received["lines"] == [
        {"drug_id": 3, "code": "YP003", "quantity": 2},
        {"drug_id": 7, "code": "YP007", "quantity": 1},
    ]
    assert (received["state"], dispensed["state"]) == ("pending", "dispensed")
    text = json.dumps(feed, ensure_ascii=False)
    for personal in ("张三", "李医生", "MZ20261122-00042", "pharmacist"):
        assert personal not in text
    assert api.get_ok("feed", params={"after": feed["next"]}, token=api.token("pms:feed:read"))["items"] == []

"""Inbound orders (入库单): posting creates stock per batch equal to its ledger; bad input and edits
of a posted order write nothing; a posted order is corrected only by a reversing order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sms.conftest import HANDLER, SUPPLIER, WAREHOUSE, SmsApi, days, line

WRITTEN = ("inbound_orders", "inbound_lines", "stock_batches", "stock_movements", "audit_log", "change_feed")


def counts(api: SmsApi) -> dict[str, int]:
    return {table: api.count(table) for table in WRITTEN}


def test_posting_puts_each_line_into_its_batch_and_the_ledger(api: SmsApi) -> None:
    amoxicillin, ibuprofen = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    draft = api.draft(
        line(amoxicillin, "A2611", quantity=40, price="9.80"),
        line(ibuprofen, "I2610", quantity=25, price="7.25"),
    )
    assert draft["state"] == "draft" and draft["number"].startswith("RK")
    assert draft["amount"] == "573.25"
    assert (draft["warehouse_name"], draft["handler_name"]) == ("西药库", "刘强")
    assert api.batches() == [], "a draft moves no stock"

    posted = api.post_order(draft["id"]).json()

    assert posted["state"] == "posted" and posted["posted_by"] == "keeper"
    batches = {(b["drug_id"], b["batch_no"]): b for b in api.batches()}
    assert {key: b["quantity"] for key, b in batches.items()} == {
        (amoxicillin, "A2611"): 40,
        (ibuprofen, "I2610"): 25,
    }
    assert all(b["store_id"] == WAREHOUSE and b["supplier_id"] == SUPPLIER for b in batches.values())
    assert [line["batch_id"] for line in posted["lines"]] == [
        batches[(amoxicillin, "A2611")]["id"],
        batches[(ibuprofen, "I2610")]["id"],
    ]
    ledger = api.movements()
    assert [(m["movement"], m["quantity"], m["reference"], m["person"]) for m in ledger] == [
        ("inbound", 40, draft["number"], "keeper"),
        ("inbound", 25, draft["number"], "keeper"),
    ]
    assert api.stock_audit() == []
    assert [(a["action"], a["entity"]) for a in api.audit_rows()] == [
        ("create", "inbound_order"),
        ("post", "inbound_order"),
    ]
    feed = api.feed()
    assert [(c["action"], c["entity_id"]) for c in feed] == [("posted", str(draft["id"]))]


def test_the_same_batch_received_twice_is_one_batch(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    api.posted(line(drug, "A2611", quantity=40))
    api.posted(line(drug, "A2611", quantity=15))

    assert [(b["batch_no"], b["quantity"]) for b in api.batches()] == [("A2611", 55)]
    assert api.stock_audit() == []


def test_the_same_batch_number_with_other_dates_is_refused_at_posting(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    api.posted(line(drug, "A2611", quantity=40))
    other = api.draft(line(drug, "A2611", quantity=5, expiry_date=days(500)))
    before = counts(api)

    answer = api.post_order(other["id"])

    assert answer.status_code == 409 and answer.json()["code"] == "batch_mismatch"
    assert counts(api) == before
    assert api.get_ok(f"inbound-orders/{other['id']}")["state"] == "draft"


def _bad(api: SmsApi, case: str) -> dict[str, Any]:
    drug = api.drug("YP0001")["id"]
    return {
        "zero quantity": api.order_body(line(drug, quantity=0)),
        "negative quantity": api.order_body(line(drug, quantity=-3)),
        "expiry before production": api.order_body(line(drug, production_date=days(10), expiry_date=days(5))),
        "negative price": api.order_body(line(drug, price="-1.00")),
        "no lines": api.order_body(lines=[]),
        "unknown drug": api.order_body(line(drug), line(99999, "X1")),
        "unknown supplier": api.order_body(supplier_id=99999),
        "unknown warehouse": api.order_body(warehouse_id=99999),
        "unknown handler": api.order_body(handler_id=99999),
    }[case]


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("zero quantity", "lines.0.quantity", ""),
        ("negative quantity", "lines.0.quantity", ""),
        ("expiry before production", "lines.0.expiry_date", "有效期必须晚于生产日期"),
        ("negative price", "lines.0.purchase_price", ""),
        ("no lines", "lines", ""),
        ("unknown drug", "lines.1.drug_id", "所选药品不存在"),
        ("unknown supplier", "supplier_id", "所选供货商不存在"),
        ("unknown warehouse", "warehouse_id", "所选仓库不存在"),
        ("unknown handler", "handler_id", "所选经办人不存在"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    api: SmsApi, case: str, field: str, words: str
) -> None:
    answer = api.post("inbound-orders", _bad(api, case), headers={"Accept-Language": "zh-CN"})

    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert field in [e["field"] for e in errors]
    assert words in " ".join(e["message"] for e in errors)
    assert counts(api) == dict.fromkeys(WRITTEN, 0)


def test_a_draft_is_changed_and_deleted_freely(api: SmsApi) -> None:
    amoxicillin, ibuprofen = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    draft = api.draft(line(amoxicillin, quantity=10))

    changed = api.put(f"inbound-orders/{draft['id']}", api.order_body(line(ibuprofen, "I1", quantity=3), handler_id=2))

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert [(x["drug_id"], x["quantity"]) for x in body["lines"]] == [(ibuprofen, 3)]
    assert (body["number"], body["handler_name"]) == (draft["number"], "马丽")
    assert api.put(f"inbound-orders/{draft['id']}", api.order_body(supplier_id=99999)).status_code == 422
    assert api.get_ok(f"inbound-orders/{draft['id']}")["lines"] == body["lines"]

    assert api.delete(f"inbound-orders/{draft['id']}").status_code == 204
    assert api.get(f"inbound-orders/{draft['id']}").status_code == 404
    assert (api.count("inbound_orders"), api.count("inbound_lines"), api.count("stock_movements")) == (0, 0, 0)
    assert [a["action"] for a in api.audit_rows()] == ["create", "update", "delete"]


def test_a_posted_order_is_never_edited(api: SmsApi) -> None:
    order = api.posted()
    before = counts(api)

    changed = api.put(f"inbound-orders/{order['id']}", api.order_body(line(api.drug("YP0001")["id"], quantity=99)))
    deleted = api.delete(f"inbound-orders/{order['id']}")
    posted_again = api.post_order(order["id"])

    assert (changed.status_code, deleted.status_code, posted_again.status_code) == (409, 409, 409)
    assert changed.json()["code"] == "order_posted" and "冲销" in changed.json()["detail"]
    assert posted_again.json()["code"] == "already_posted"
    assert counts(api) == before
    assert api.get_ok(f"inbound-orders/{order['id']}") == order


def test_a_reversal_takes_the_same_quantities_out_of_the_same_batches(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    api.posted(line(drug, "KEEP", quantity=7))
    order = api.posted(line(drug, "A1", quantity=40), line(drug, "A2", quantity=5))

    answer = api.reverse(order["id"], "到货批号与随货单不符")

    assert answer.status_code == 201, answer.text
    reversal = answer.json()
    assert reversal["reverses_id"] == order["id"] and reversal["state"] == "posted"
    assert reversal["reason"] == "到货批号与随货单不符" and reversal["number"] != order["number"]
    assert [(x["batch_id"], x["quantity"]) for x in reversal["lines"]] == [
        (x["batch_id"], x["quantity"]) for x in order["lines"]
    ]
    original = api.get_ok(f"inbound-orders/{order['id']}")
    assert original["state"] == "reversed" and original["reversed_by_id"] == reversal["id"]
    assert {b["batch_no"]: b["quantity"] for b in api.batches()} == {"KEEP": 7, "A1": 0, "A2": 0}
    reversed_rows = [m for m in api.movements() if m["movement"] == "inbound_reversal"]
    assert [(m["quantity"], m["reference"], m["reason"]) for m in reversed_rows] == [
        (-40, reversal["number"], "到货批号与随货单不符"),
        (-5, reversal["number"], "到货批号与随货单不符"),
    ]
    assert api.stock_audit() == []
    feed = api.feed()
    assert feed[-1]["action"] == "reversal_posted"
    assert [x["quantity"] for x in feed[-1]["data"]["lines"]] == [-40, -5]

    # Once only, and never a reversal of a reversal or of a draft.
    before = counts(api)
    again, of_reversal = api.reverse(order["id"]), api.reverse(reversal["id"])
    draft = api.draft()
    of_draft = api.reverse(draft["id"])
    assert (again.json()["code"], of_reversal.json()["code"], of_draft.json()["code"]) == (
        "already_reversed",
        "is_reversal",
        "not_posted",
    )
    assert {again.status_code, of_reversal.status_code, of_draft.status_code} == {409}
    assert api.reverse(order["id"], "").status_code == 422
    assert api.count("stock_movements") == before["stock_movements"]


def test_a_reversal_is_refused_once_the_stock_has_left(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    order = api.posted(line(drug, "A1", quantity=40))
    api.take_out(drug, 4, order["lines"][0]["batch_id"])
    before = counts(api)

    answer = api.reverse(order["id"])

    assert answer.status_code == 409 and answer.json()["code"] == "insufficient_stock"
    assert counts(api) == before
    assert api.get_ok(f"inbound-orders/{order['id']}")["state"] == "posted"
    assert [b["quantity"] for b in api.batches()] == [36]
    assert api.stock_audit() == []


def test_orders_are_listed_newest_first_and_filtered(api: SmsApi) -> None:
    first = api.posted()
    second = api.draft(supplier_id=2)

    assert [o["id"] for o in api.items("inbound-orders")] == [second["id"], first["id"]]
    assert [o["id"] for o in api.items("inbound-orders", state="posted")] == [first["id"]]
    assert [o["id"] for o in api.items("inbound-orders", supplier_id=2)] == [second["id"]]
    assert [o["id"] for o in api.items("inbound-orders", q=first["number"])] == [first["id"]]
    assert api.get("inbound-orders/999999").status_code == 404
    assert first["handler_id"] == HANDLER

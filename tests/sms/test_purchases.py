"""Purchase orders (采购单): proposed from low stock, approved only by someone other than their writer,
received into a draft inbound order; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sms.conftest import HANDLER, SUPPLIER, WAREHOUSE, SmsApi, days, line

WRITTEN = ("purchase_orders", "purchase_lines", "inbound_orders", "inbound_lines", "audit_log", "change_feed")


def counts(api: SmsApi) -> dict[str, int]:
    return {table: api.count(table) for table in WRITTEN}


def buyer(api: SmsApi) -> str:
    return api.token("sms:purchase:read", "sms:purchase:write", username="buyer", user_id=11)


def chief(api: SmsApi) -> str:
    """The purchasing chief: approves, and may write orders too."""
    return api.token("sms:purchase:read", "sms:purchase:write", "sms:purchase:approve", username="chief", user_id=12)


def order_body(*lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"warehouse_id": WAREHOUSE, "supplier_id": SUPPLIER, "remark": "补货", "lines": list(lines), **changes}


def write(api: SmsApi, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    answer = api.post("purchase-orders", body, token=token or buyer(api))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def read(api: SmsApi, path: str, **params: Any) -> Any:
    answer = api.get(path, params=params, token=buyer(api))
    assert answer.status_code == 200, answer.text
    return answer.json()


def approve(api: SmsApi, order_id: int, token: str | None = None) -> httpx.Response:
    return api.post(f"purchase-orders/{order_id}/approve", token=token or chief(api))


def test_the_proposal_lists_drugs_under_their_threshold_at_their_last_price(api: SmsApi) -> None:
    low, plenty, own = api.drug("YP0001")["id"], api.drug("YP0003")["id"], api.drug("YP0002")["id"]
    api.posted(line(low, "A1", quantity=10, price="9.80"), line(plenty, "P1", quantity=100, price="7.25"))
    # A drug never held here, with a threshold of its own, is short of all of it.
    assert api.put(f"thresholds/{own}", {"threshold": 5}).status_code == 200

    proposal = read(api, "purchase-orders/proposal", warehouse_id=WAREHOUSE)

    # The default threshold (the low_stock_threshold setting) is 30: 10 held, 20 to buy.
    lines = {row["drug_id"]: row for row in proposal["lines"]}
    assert set(lines) == {low, own}
    assert (lines[low]["stock"], lines[low]["threshold"], lines[low]["quantity"], lines[low]["price"]) == (
        10, 30, 20, "9.80",
    )  # fmt: skip
    assert (lines[own]["stock"], lines[own]["quantity"], lines[own]["price"]) == (0, 5, "0.00")
    assert lines[low]["drug_name"] == api.drug("YP0001")["name"]


def shortage_request(api: SmsApi, request_id: int, *asked: tuple[int, int]) -> dict[str, Any]:
    """A shortage request (报缺) as the pharmacy's outbox files it at the warehouse."""
    body = {
        "request_id": request_id,
        "number": f"BQ20261128-{request_id:05d}",
        "requested_by": "pharmacist",
        "requested_at": "2026-11-28T08:00:00+00:00",
        "lines": [
            {"line_id": i + 1, "drug_id": drug_id, "code": f"YP{drug_id}", "name": "药", "quantity": quantity}
            for i, (drug_id, quantity) in enumerate(asked)
        ],
    }
    pms = api.signing_key.service_token("pms", ["sms:shortage:write"])
    answer = api.post("shortage-requests", body, token=pms, headers={"Idempotency-Key": f"pms-bq-{request_id}"})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_proposal_covers_what_the_pharmacy_asked_for(api: SmsApi) -> None:
    low, plenty, none = api.drug("YP0001")["id"], api.drug("YP0003")["id"], api.drug("YP0002")["id"]
    api.posted(line(low, "A1", quantity=10, price="9.80"), line(plenty, "P1", quantity=100, price="7.25"))
    first = shortage_request(api, 1, (low, 15), (plenty, 20))
    second = shortage_request(api, 2, (none, 8))

    lines = {row["drug_id"]: row for row in read(api, "purchase-orders/proposal", warehouse_id=WAREHOUSE)["lines"]}

    # Enough to send what was asked and stay at the threshold (30): 30 + 15 − 10.
    assert (lines[low]["requested"], lines[low]["quantity"], lines[low]["low_stock"]) == (15, 35, True)
    assert lines[low]["shortage_request_ids"] == [first["id"]]
    assert (lines[none]["requested"], lines[none]["quantity"], lines[none]["low_stock"]) == (8, 38, False)
    assert lines[none]["shortage_request_ids"] == [second["id"]]
    assert plenty not in lines, "100 in stock covers 20 asked for and the threshold"


def test_the_proposal_needs_a_known_warehouse(api: SmsApi) -> None:
    answer = api.get("purchase-orders/proposal", params={"warehouse_id": 99999}, token=buyer(api))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "warehouse_id"


def test_an_order_is_approved_by_someone_else_only(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    mine = write(api, order_body({"drug_id": drug, "quantity": 20, "price": "9.80"}), token=chief(api))
    assert mine["number"].startswith("CG") and mine["state"] == "draft" and mine["amount"] == "196.00"

    refused = approve(api, mine["id"])

    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "own_order" and "不能由您审核" in problem["detail"]
    assert read(api, f"purchase-orders/{mine['id']}")["state"] == "draft"

    approved = approve(api, write(api, order_body({"drug_id": drug, "quantity": 20, "price": "9.80"}))["id"])
    assert approved.status_code == 200, approved.text
    assert (approved.json()["state"], approved.json()["approved_by"]) == ("approved", "chief")
    assert approve(api, approved.json()["id"]).status_code == 409, "approved once"


def test_approving_needs_its_own_permission(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    order = write(api, order_body({"drug_id": drug, "quantity": 5, "price": "1.00"}), token=chief(api))
    writer_only = api.token("sms:purchase:write", username="other", user_id=13)

    answer = approve(api, order["id"], token=writer_only)

    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert api.post("purchase-orders", order_body(), token=api.keeper_token).status_code == 403
    assert api.get("purchase-orders", token=None).status_code == 401


def test_receiving_writes_a_draft_inbound_order_with_the_lines(api: SmsApi) -> None:
    a, b = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    order = write(
        api,
        order_body({"drug_id": a, "quantity": 20, "price": "9.80"}, {"drug_id": b, "quantity": 50, "price": "7.25"}),
    )
    approve(api, order["id"])
    line_a, line_b = order["lines"]
    receipt = {
        "handler_id": HANDLER,
        "lines": [
            {"line_id": line_a["id"], "batch_no": "A2611", "production_date": days(-30), "expiry_date": days(700)},
            # Half of b came in another batch: a line may arrive as several batches.
            {"line_id": line_b["id"], "batch_no": "B1", "production_date": days(-30), "expiry_date": days(500),
             "quantity": 25},
            {"line_id": line_b["id"], "batch_no": "B2", "production_date": days(-20), "expiry_date": days(600),
             "quantity": 25},
        ],
    }  # fmt: skip

    received = api.post(f"purchase-orders/{order['id']}/receive", receipt)

    assert received.status_code == 200, received.text
    got = received.json()
    assert (got["state"], got["received_by"]) == ("received", "keeper")
    inbound = api.get_ok(f"inbound-orders/{got['inbound_order_id']}")
    assert inbound["state"] == "draft" and inbound["supplier_id"] == SUPPLIER and inbound["handler_id"] == HANDLER
    assert order["number"] in inbound["remark"]
    assert [(x["drug_id"], x["batch_no"], x["quantity"], x["purchase_price"]) for x in inbound["lines"]] == [
        (a, "A2611", 20, "9.80"),
        (b, "B1", 25, "7.25"),
        (b, "B2", 25, "7.25"),
    ]
    assert api.batches() == [], "received is not yet posted: the store-keeper checks the draft first"
    assert api.post_order(inbound["id"]).status_code == 200
    assert sum(x["quantity"] for x in api.batches()) == 70 and api.stock_audit() == []
    again = api.post(f"purchase-orders/{order['id']}/receive", receipt)
    assert again.status_code == 409 and again.json()["code"] == "wrong_state"


def test_only_an_approved_order_is_received(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    order = write(api, order_body({"drug_id": drug, "quantity": 20, "price": "9.80"}))
    receipt = {
        "handler_id": HANDLER,
        "lines": [{"line_id": order["lines"][0]["id"], "batch_no": "X", "production_date": days(-3),
                   "expiry_date": days(300)}],
    }  # fmt: skip
    before = counts(api)

    answer = api.post(f"purchase-orders/{order['id']}/receive", receipt)

    assert answer.status_code == 409 and "须先审核" in answer.json()["detail"]
    assert counts(api) == before


def test_a_cancelled_order_is_neither_approved_nor_received(api: SmsApi) -> None:
    drug = api.drug("YP0001")["id"]
    order = write(api, order_body({"drug_id": drug, "quantity": 20, "price": "9.80"}))
    cancelled = api.post(f"purchase-orders/{order['id']}/cancel", token=buyer(api))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert approve(api, order["id"]).status_code == 409


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("zero quantity", "lines.0.quantity"),
        ("negative quantity", "lines.0.quantity"),
        ("negative price", "lines.0.price"),
        ("no lines", "lines"),
        ("unknown drug", "lines.0.drug_id"),
        ("unknown supplier", "supplier_id"),
    ],
)
def test_bad_orders_are_refused_and_write_nothing(api: SmsApi, case: str, field: str) -> None:
    drug = api.drug("YP0001")["id"]
    good = {"drug_id": drug, "quantity": 5, "price": "1.00"}
    body = {
        "zero quantity": order_body({**good, "quantity": 0}),
        "negative quantity": order_body({**good, "quantity": -3}),
        "negative price": order_body({**good, "price": "-1.00"}),
        "no lines": order_body(),
        "unknown drug": order_body({**good, "drug_id": 99999}),
        "unknown supplier": order_body(good, supplier_id=99999),
    }[case]
    before = counts(api)

    answer = api.post("purchase-orders", body, token=buyer(api))

    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert counts(api) == before


@pytest.mark.parametrize("case", ["unknown line", "zero quantity", "a line missing", "expiry before production"])
def test_bad_receipts_are_refused_and_write_nothing(api: SmsApi, case: str) -> None:
    a, b = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    order = write(
        api, order_body({"drug_id": a, "quantity": 20, "price": "9.80"}, {"drug_id": b, "quantity": 5, "price": "2.00"})
    )
    approve(api, order["id"])
    got = [
        {"line_id": x["id"], "batch_no": f"R{x['id']}", "production_date": days(-3), "expiry_date": days(300)}
        for x in order["lines"]
    ]
    if case == "unknown line":
        got[0]["line_id"] = 99999
    elif case == "zero quantity":
        got[0]["quantity"] = 0
    elif case == "a line missing":
        got = got[:1]
    else:
        got[0]["expiry_date"] = days(-10)
    before = counts(api)

    answer = api.post(f"purchase-orders/{order['id']}/receive", {"handler_id": HANDLER, "lines": got})

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"]
    assert counts(api) == before
    assert read(api, f"purchase-orders/{order['id']}")["state"] == "approved"

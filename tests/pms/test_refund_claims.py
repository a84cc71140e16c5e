"""The pharmacy decides each line's fate once: a refund claim and a dispense never both take a
line (docs/pharmacy.md, "Never both"). The pms app in process, on SQLite and MariaDB."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.pms.conftest import Api


def claim(api: Api, order_id: int, line_ids: list[int], key: str, payment_id: int = 5) -> httpx.Response:
    body = {"line_ids": line_ids, "payment_id": payment_id, "reason": "患者不需要", "cashier": "cashier1"}
    return api.request(
        "POST", f"dispensing-orders/by-source/oms/{order_id}/refund-claims", json=body,
        headers={"Idempotency-Key": key}, token=api.oms_token,
    )  # fmt: skip


def fates(api: Api) -> dict[int, str]:
    return {row["line_id"]: row["fate"] for row in api.rows("line_fates")}


def notices(api: Api) -> list[dict[str, Any]]:
    return [json.loads(m["body"]) for m in api.rows("outbox") if m["path"] == "/api/oms/refunds/claimed"]


def test_a_claim_takes_the_lines_and_the_rest_is_dispensed(api: Api) -> None:
    order = api.receive(1)
    api.stock_up_for_orders()
    answer = claim(api, 1, [11], "claim-1")
    assert answer.status_code == 201, answer.text
    assert answer.json()["line_ids"] == [11]
    shown = api.get_ok(f"dispensing-orders/{order['id']}")
    assert [(line["line_id"], line["cancelled"]) for line in shown["lines"]] == [(11, True), (12, False)]
    assert shown["state"] == "pending"
    done = api.dispense(order["id"])
    assert done.status_code == 200, done.text
    assert fates(api) == {11: "refunded", 12: "dispensed"}
    report = next(json.loads(m["body"]) for m in api.rows("outbox") if m["path"].endswith("/dispensed"))
    assert report["line_ids"] == [12]


def test_a_dispensed_line_cannot_be_claimed_and_nothing_changes(api: Api) -> None:
    order = api.receive(1)
    api.stock_up_for_orders()
    assert api.dispense(order["id"]).status_code == 200
    refused = claim(api, 1, [12], "claim-late")
    assert refused.status_code == 409 and refused.json()["code"] == "already_dispensed"
    assert fates(api) == {11: "dispensed", 12: "dispensed"}
    assert notices(api) == []
    # Only the order's and the deliveries': a refused claim keeps no key.
    assert api.count("idempotency_keys") == 3


def test_a_claim_before_the_order_arrives_strikes_its_lines_through(api: Api) -> None:
    assert claim(api, 1, [11, 12], "early").status_code == 201
    order = api.receive(1)
    assert order["state"] == "cancelled"
    assert all(line["cancelled"] for line in order["lines"])
    refused = api.dispense(order["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "order_cancelled"
    assert fates(api) == {11: "refunded", 12: "refunded"}


def test_the_same_claim_again_is_answered_the_same_and_another_is_refused(api: Api) -> None:
    api.receive(1)
    first = claim(api, 1, [11], "claim-1")
    again = claim(api, 1, [11], "claim-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    other = claim(api, 1, [11], "claim-2")
    assert other.status_code == 409 and other.json()["code"] == "already_refunded"
    assert len(notices(api)) == 1


def test_a_claim_tells_oms_so_a_lost_answer_is_still_recorded(api: Api) -> None:
    api.receive(1)
    assert claim(api, 1, [11, 12], "claim-9", payment_id=44).status_code == 201
    (notice,) = notices(api)
    assert notice == {"claim": "claim-9", "order_id": 1, "line_ids": [11, 12], "payment_id": 44,
                      "reason": "患者不需要", "cashier": "cashier1"}  # fmt: skip
    (message,) = [m for m in api.rows("outbox") if m["path"] == "/api/oms/refunds/claimed"]
    assert message["key"] == "pms-claimed-claim-9" and message["destination"] == "OMS"


def test_bad_claims_are_refused_naming_the_field(api: Api) -> None:
    api.receive(1)
    unknown = claim(api, 1, [99], "bad-1")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "line_ids"
    twice = claim(api, 1, [11, 11], "bad-2")
    assert twice.status_code == 422
    keyless = api.request("POST", "dispensing-orders/by-source/oms/1/refund-claims", token=api.oms_token,
                          json={"line_ids": [11], "payment_id": 1, "reason": "x", "cashier": "c"})  # fmt: skip
    assert keyless.status_code == 422 and keyless.json()["code"] == "idempotency_key_required"
    assert fates(api) == {}


def test_claims_racing_dispenses_give_every_line_exactly_one_fate(api: Api) -> None:
    orders = [api.receive(n) for n in range(1, 21)]
    api.stock_up_for_orders()

    def claim_one(n: int) -> int:
        return claim(api, n, [10 * n + 1], f"race-{n}").status_code

    def dispense_one(order: dict[str, Any]) -> int:
        return api.dispense(order["id"]).status_code

    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(claim_one, range(1, 21)))
        dispensed = list(pool.map(dispense_one, orders))
    assert set(claimed) <= {201, 409} and set(dispensed) <= {200, 409}
    table = fates(api)
    assert len(table) == 40  # every line of every order has a fate, one row each
    for n, (claim_status, order) in enumerate(zip(claimed, orders, strict=True), start=1):
        first, second = 10 * n + 1, 10 * n + 2
        assert table[first] == ("refunded" if claim_status == 201 else "dispensed")
        assert table[second] == "dispensed"
        shown = api.get_ok(f"dispensing-orders/{order['id']}")
        assert shown["lines"][0]["cancelled"] == (claim_status == 201)

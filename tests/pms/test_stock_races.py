"""Pharmacists at the same shelf: 100 dispensings at once against 60 units hand out exactly 60,
the shelf never goes below zero, and the ledger matches it — on SQLite and on MariaDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.pms.conftest import STOCK_READER, Api, order_body

DRUG = 3


def one_line_order(n: int) -> dict[str, Any]:
    body = order_body(n)
    body["lines"] = [{**body["lines"][0], "quantity": 1}]
    return body


def test_100_dispensings_against_60_units_hand_out_exactly_60(api: Api) -> None:
    # Two batches, so that dispensers also race from the first to expire into the next.
    api.stock_up(DRUG, 25, batch_no="RACE-1", expiry_date="2098-01-31")
    api.stock_up(DRUG, 35, batch_no="RACE-2", expiry_date="2099-06-30")
    orders = []
    for n in range(1, 101):
        answer = api.send(one_line_order(n), f"oms-order-{n}")
        assert answer.status_code == 201, answer.text
        orders.append(answer.json())

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda order: api.dispense(order["id"]), orders))

    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 60 and statuses.count(409) == 40
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"insufficient_stock"}
    # Every dispensed line took exactly one unit, from a named batch; the refused ones took nothing.
    for answer in answers:
        if answer.status_code == 200:
            (line,) = answer.json()["lines"]
            assert sum(b["quantity"] for b in line["batches"]) == 1
    reader = api.token(*STOCK_READER)
    shelf = api.request("GET", "stock", params={"drug_id": DRUG, "include_empty": True}, token=reader).json()
    assert {row["batch_no"]: row["quantity"] for row in shelf["items"]} == {"RACE-1": 0, "RACE-2": 0}
    audit = api.request("GET", "stock/audit", token=reader).json()
    assert audit["balanced"] is True and audit["mismatches"] == []
    fates = [row for row in api.rows("line_fates") if row["fate"] == "dispensed"]
    assert len(fates) == 60  # a refused dispense leaves its line free for a refund

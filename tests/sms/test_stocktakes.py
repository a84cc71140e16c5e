"""Stock-takes (盘点): counted differences posted as adjustments by another person's approval, stock
equal to its ledger after; a batch that moved since the snapshot blocks approval."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sms.conftest import WAREHOUSE, SmsApi, line

WRITTEN = ("stocktakes", "stocktake_lines", "stock_batches", "stock_movements", "audit_log", "change_feed")


def counts(api: SmsApi) -> dict[str, int]:
    return {table: api.count(table) for table in WRITTEN}


def counter(api: SmsApi) -> str:
    return api.token("sms:stocktake:read", "sms:stocktake:write", username="counter", user_id=21)


def chief(api: SmsApi) -> str:
    return api.token("sms:stocktake:read", "sms:stocktake:write", "sms:stocktake:approve", username="chief", user_id=22)


def start(api: SmsApi, token: str | None = None) -> dict[str, Any]:
    answer = api.post("stocktakes", {"warehouse_id": WAREHOUSE, "remark": "月末盘点"}, token=token or counter(api))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def count(api: SmsApi, sheet: dict[str, Any], line_id: int, counted: Any) -> httpx.Response:
    return api.put(f"stocktakes/{sheet['id']}/lines/{line_id}", {"counted_quantity": counted}, token=counter(api))


def submitted(api: SmsApi, found: dict[str, int]) -> dict[str, Any]:
    """A sheet counted as `found` {batch_no: quantity} and submitted."""
    sheet = start(api)
    for row in sheet["lines"]:
        assert count(api, sheet, row["id"], found[row["batch_no"]]).status_code == 200
    answer = api.post(f"stocktakes/{sheet['id']}/submit", token=counter(api))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def approve(api: SmsApi, sheet: dict[str, Any], token: str | None = None) -> httpx.Response:
    return api.post(f"stocktakes/{sheet['id']}/approve", token=token or chief(api))


def quantities(api: SmsApi) -> dict[str, int]:
    return {b["batch_no"]: b["quantity"] for b in api.batches()}


def test_the_sheet_snapshots_every_batch_with_stock(api: SmsApi) -> None:
    a, b = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    api.posted(line(a, "A1", quantity=40), line(b, "B1", quantity=25))

    sheet = start(api)

    assert sheet["number"].startswith("PD") and sheet["state"] == "counting"
    assert sorted((x["batch_no"], x["book_quantity"], x["counted_quantity"]) for x in sheet["lines"]) == [
        ("A1", 40, None),
        ("B1", 25, None),
    ]


def test_surplus_and_loss_are_posted_as_adjustments(api: SmsApi) -> None:
    a, b = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    api.posted(line(a, "A1", quantity=40, price="2.00"), line(b, "B1", quantity=25, price="3.00"))
    sheet = submitted(api, {"A1": 38, "B1": 27})
    assert (sheet["differences"], sheet["difference_value"]) == (2, "2.00")  # -2 × 2.00 + 2 × 3.00

    answer = approve(api, sheet)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["approved_by"]) == ("approved", "chief")
    assert quantities(api) == {"A1": 38, "B1": 27}
    adjustments = [m for m in api.movements() if m["movement"] == "adjustment"]
    assert sorted((m["quantity"], m["reference"], m["person"]) for m in adjustments) == [
        (-2, sheet["number"], "chief"),
        (2, sheet["number"], "chief"),
    ]
    assert all(sheet["number"] in m["reason"] for m in adjustments)
    assert api.stock_audit() == []
    assert ("approved", str(sheet["id"])) in [(c["action"], c["entity_id"]) for c in api.feed()]


def test_only_someone_else_approves(api: SmsApi) -> None:
    api.posted(line(api.drug("YP0001")["id"], "A1", quantity=40))
    sheet = start(api, token=chief(api))
    count(api, sheet, sheet["lines"][0]["id"], 39)
    api.post(f"stocktakes/{sheet['id']}/submit", token=counter(api))
    before = counts(api)

    own = approve(api, sheet)
    no_permission = approve(api, sheet, token=counter(api))

    assert own.status_code == 409 and own.json()["code"] == "own_stocktake" and "不能由您审核" in own.json()["detail"]
    assert no_permission.status_code == 403
    assert counts(api) == before and quantities(api) == {"A1": 40}


def test_approval_is_refused_when_a_batch_moved_since_the_snapshot(api: SmsApi) -> None:
    a, b = api.drug("YP0001")["id"], api.drug("YP0003")["id"]
    api.posted(line(a, "A1", quantity=40), line(b, "B1", quantity=25))
    sheet = submitted(api, {"A1": 38, "B1": 27})
    moved = next(x for x in sheet["lines"] if x["batch_no"] == "A1")
    api.take_out(a, 5, moved["batch_id"])
    before = counts(api)

    answer = approve(api, sheet)

    assert answer.status_code == 409
    problem = answer.json()
    assert problem["code"] == "stock_moved" and "A1" in problem["detail"] and "重新盘点" in problem["detail"]
    assert problem["batch_ids"] == [moved["batch_id"]]
    assert counts(api) == before and quantities(api) == {"A1": 35, "B1": 25}
    assert api.get(f"stocktakes/{sheet['id']}", token=counter(api)).json()["state"] == "submitted"


def test_an_uncounted_batch_cannot_be_submitted(api: SmsApi) -> None:
    api.posted(line(api.drug("YP0001")["id"], "A1", quantity=40), line(api.drug("YP0003")["id"], "B1"))
    sheet = start(api)
    count(api, sheet, sheet["lines"][0]["id"], 40)

    answer = api.post(f"stocktakes/{sheet['id']}/submit", token=counter(api))

    assert answer.status_code == 409 and answer.json()["code"] == "not_counted"


@pytest.mark.parametrize("counted", [-1, "many", None])
def test_a_bad_count_is_refused_and_writes_nothing(api: SmsApi, counted: Any) -> None:
    api.posted(line(api.drug("YP0001")["id"], "A1", quantity=40))
    sheet = start(api)
    before = counts(api)

    answer = count(api, sheet, sheet["lines"][0]["id"], counted)

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"].endswith("counted_quantity")
    assert counts(api) == before


def test_unknown_sheets_lines_and_warehouses(api: SmsApi) -> None:
    api.posted(line(api.drug("YP0001")["id"], "A1", quantity=40))
    sheet = start(api)
    before = counts(api)

    assert count(api, sheet, 99999, 3).status_code == 404
    assert api.put("stocktakes/99999/lines/1", {"counted_quantity": 3}, token=counter(api)).status_code == 404
    unknown = api.post("stocktakes", {"warehouse_id": 99999}, token=counter(api))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "warehouse_id"
    assert counts(api) == before


def test_stocktakes_need_their_permissions(api: SmsApi) -> None:
    assert api.post("stocktakes", {"warehouse_id": WAREHOUSE}).status_code == 403  # the store-keeper
    assert api.get("stocktakes", token=None).status_code == 401
    assert api.get("stocktakes", token=counter(api)).status_code == 200

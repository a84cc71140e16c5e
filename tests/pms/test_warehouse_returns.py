"""Returns to the warehouse (退库) at the pharmacy: units out of one batch each, an expired batch only
to disposal, and the message to sms queued in the same transaction. (Its arrival at sms:
tests/sms/test_returns.py.)"""

from __future__ import annotations

import json
from typing import Any

import httpx

from sms.returns.models import ReturnIn
from tests.pms.conftest import Api

KEEPER = ["pms:stock:read", "pms:stock:write"]


def send_back(api: Api, *lines: dict[str, Any], destination: str = "stock", **kwargs: Any) -> httpx.Response:
    body = {"warehouse_id": 2, "destination": destination, "remark": "月末退库", "lines": list(lines)}
    kwargs.setdefault("token", api.token(*KEEPER, username="keeper"))
    return api.request("POST", "warehouse-returns", json=body, **kwargs)


def batch_ids(api: Api) -> dict[str, int]:
    return {b["batch_no"]: b["id"] for b in api.rows("stock_batches")}


def quantities(api: Api) -> dict[str, int]:
    return {b["batch_no"]: b["quantity"] for b in api.rows("stock_batches")}


def test_units_leave_their_batch_and_the_message_to_the_warehouse_is_queued(api: Api) -> None:
    api.stock_up(3, 10, batch_no="P3-A", supplier_id=4, purchase_price="1.25")
    batch = batch_ids(api)["P3-A"]
    answer = send_back(api, {"batch_id": batch, "quantity": 4, "reason": "滞销"})
    assert answer.status_code == 201, answer.text
    returned = answer.json()
    assert returned["number"].startswith("TK") and returned["created_by"] == "keeper"
    assert quantities(api) == {"P3-A": 6}
    (moved,) = [m for m in api.rows("stock_movements") if m["reference"] == returned["number"]]
    assert (moved["movement"], moved["quantity"], moved["reason"], moved["person"]) == (
        "return_out", -4, "滞销", "keeper",
    )  # fmt: skip

    (message,) = [m for m in api.rows("outbox") if m["path"] == "/api/sms/returns"]
    assert (message["key"], message["destination"]) == (f"pms-return-{returned['id']}", "SMS")
    sent = ReturnIn.model_validate(json.loads(message["body"]))  # exactly what sms accepts
    assert (sent.number, sent.warehouse_id, sent.destination) == (returned["number"], 2, "stock")
    (line,) = sent.lines
    assert (line.drug_id, line.code, line.batch_no, line.supplier_id, str(line.purchase_price), line.quantity) == (
        3, "YP003", "P3-A", 4, "1.25", 4,
    )  # fmt: skip
    assert (str(line.production_date), str(line.expiry_date)) == ("2019-06-01", "2099-12-31")

    listed = api.get_ok("warehouse-returns", token=api.token("pms:stock:read"))
    assert [r["number"] for r in listed["items"]] == [returned["number"]]
    assert (
        api.get_ok("warehouse-returns", params={"destination": "disposal"}, token=api.token("pms:stock:read"))["total"]
        == 0
    )
    (row,) = [r for r in api.audit_rows() if r["entity"] == "warehouse_return"]
    assert (row["action"], row["after"]["number"]) == ("create", returned["number"])
    assert api.get_ok("stock/audit", token=api.token("pms:stock:read"))["balanced"] is True


def test_an_expired_batch_goes_back_only_to_disposal(api: Api) -> None:
    api.stock_up(7, 3, batch_no="OLD", production_date="2018-01-01", expiry_date="2020-01-01")
    old = batch_ids(api)["OLD"]
    refused = send_back(api, {"batch_id": old, "quantity": 3, "reason": "过期"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "destination"
    assert quantities(api) == {"OLD": 3}
    disposed = send_back(api, {"batch_id": old, "quantity": 3, "reason": "过期"}, destination="disposal")
    assert disposed.status_code == 201, disposed.text
    assert quantities(api) == {"OLD": 0}
    (message,) = [m for m in api.rows("outbox") if m["path"] == "/api/sms/returns"]
    assert json.loads(message["body"])["destination"] == "disposal"


def test_bad_returns_are_refused_and_nothing_is_written(api: Api) -> None:
    api.stock_up(3, 5, batch_no="P3-A")
    api.stock_up(7, 5, batch_no="P7-A")
    ids = batch_ids(api)
    good = {"batch_id": ids["P7-A"], "quantity": 1, "reason": "滞销"}
    too_many = send_back(api, good, {"batch_id": ids["P3-A"], "quantity": 6, "reason": "滞销"})
    assert too_many.status_code == 409 and too_many.json()["code"] == "insufficient_stock"
    unknown = send_back(api, good, {"batch_id": 999999, "quantity": 1, "reason": "滞销"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "lines.1.batch_id"
    assert send_back(api, good, good).status_code == 422  # a batch twice
    assert send_back(api, {**good, "quantity": 0}).status_code == 422
    assert send_back(api, {**good, "reason": ""}).status_code == 422
    assert send_back(api).status_code == 422
    assert send_back(api, good, destination="shelf").status_code == 422
    assert send_back(api, good, token=api.token("pms:stock:read")).status_code == 403
    assert quantities(api) == {"P3-A": 5, "P7-A": 5}
    assert api.count("warehouse_returns") == 0
    assert not [m for m in api.rows("outbox") if m["path"] == "/api/sms/returns"]
    assert not [m for m in api.rows("stock_movements") if m["movement"] == "return_out"]

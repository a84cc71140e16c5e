"""Audit scenarios for every write route of sms (the warehouse), in the manner of pms_scenarios.py.

Wired into the security suite by test_audit.py:

    from tests.security.sms_scenarios import sms_api, test_every_sms_write_is_audited  # noqa: F401

Every write route in sms's OpenAPI is walked; a new one without a scenario in SCENARIOS fails.
Each scenario first makes the calls that must be refused (bad input naming the field, no
permission, no token, a state that forbids it), which leave no audit row; then the one that
succeeds: its rows carry the caller, the action, the entity and its id, the request id, the
route, and before and after as the record was and became. sms runs in process next to a real dbs
(demo data: drugs, suppliers, warehouses, handlers) and gateway, as in tests/sms.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import sms.main
from shared.clock import utcnow
from sms.db import audit_log, outbox
from sms.settings import SmsSettings
from tests.conftest import DatabaseUnderTest
from tests.security.conftest import ISOLATED, MISSING_ID, Minter, Route, read_audit, routes_of
from tests.sms.conftest import SUPPLIER, WAREHOUSE, SmsApi, days, line
from tests.support.databases import fresh_databases
from tests.support.stack import Stack
from tests.support.tokens import SigningKey

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ACTOR_ID, ACTOR = 44, "sms-auditor"
# What the scenarios read back through the API besides the route's own permission.
READS = ["sms:inbound:read", "sms:purchase:read", "sms:stocktake:read", "sms:stock:read"]


def sms_routes() -> list[Route]:
    return routes_of(sms.main.create_app(SmsSettings(**ISOLATED)).openapi())


SMS_WRITES = [r for r in sms_routes() if r.method in WRITE_METHODS]

Row = dict[str, Any]
Call = Callable[[], Any]


@dataclass
class Scenario:
    refused: list[tuple[int, Call]]  # (status, call) — each must leave no audit row
    call: Call  # the write that succeeds
    status: int
    action: str
    entity: str
    check: Callable[[Row, Any], None]  # (the row, the answer)
    entity_id: Callable[[Any], str] = lambda answer: str(answer.json()["id"])
    # The same call also changes other records, each with its row: {action: check(row, answer)}.
    also: dict[str, Callable[[Row, Any], None]] = field(default_factory=dict)
    # What the same call answers when made again, writing no second row; None when a repeat is
    # another decision of its own (a second order, a changed count), audited again.
    again: tuple[int, ...] | None = (409,)


_numbers = itertools.count(1000)


def _naming(name: str, call: Call) -> Call:
    """The call, whose 422 must name the field `name`."""

    def checked() -> Any:
        answer = call()
        if answer.status_code == 422:
            named = [e["field"] for e in answer.json().get("errors") or []]
            assert name in named, f"422 names {named}, not {name}: {answer.text}"
        return answer

    return checked


def _coded(code: str, call: Call) -> Call:
    """The call, whose refusal must carry the problem code `code`."""

    def checked() -> Any:
        answer = call()
        if answer.status_code >= 400:
            assert answer.json().get("code") == code, answer.text
        return answer

    return checked


def _drug(api: SmsApi, code: str = "YP0001") -> int:
    return int(api.drug(code)["id"])


def _staff(api: SmsApi, *permissions: str, username: str = "buyer") -> str:
    """Another member of staff (not the audited caller)."""
    return api.token(*permissions, *READS, username=username, user_id=8)


def _own(api: SmsApi, *permissions: str) -> str:
    """The audited caller again, with other permissions (what it wrote, it may not approve)."""
    return api.token(*permissions, *READS, username=ACTOR, user_id=ACTOR_ID)


def _batch_id(api: SmsApi, batch_no: str) -> int:
    (found,) = [b["id"] for b in api.batches() if b["batch_no"] == batch_no]
    return int(found)


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return answer.json()  # type: ignore[no-any-return]


# --- inbound orders (入库单) ------------------------------------------------------------------


def _create_inbound(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    body = api.order_body(line(drug, "AUD-IN-1", quantity=10))

    def create(body: dict[str, Any], token: str | None) -> Any:
        return api.post("inbound-orders", body, token=token)

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["state"], after["created_by"]) == (answer.json()["number"], "draft", ACTOR)
        assert [(li["drug_id"], li["batch_no"], li["quantity"], li["batch_id"]) for li in after["lines"]] == [
            (drug, "AUD-IN-1", 10, None)
        ]

    return Scenario(
        refused=[
            (422, _naming("lines.0.drug_id", lambda: create(api.order_body(line(int(MISSING_ID))), token))),
            (422, _naming("lines", lambda: create({**body, "lines": []}, token))),
            (403, lambda: create(body, api.token("sms:inbound:read"))),
            (401, lambda: create(body, None)),
        ],
        call=lambda: create(body, token),
        status=201,
        action="create",
        entity="inbound_order",
        check=check,
        again=None,  # a second order with the same lines is another order
    )


def _update_inbound(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    draft = api.draft(line(drug, "AUD-IN-2", quantity=10))
    posted = api.posted(line(drug, "AUD-IN-3"))
    body = api.order_body(line(drug, "AUD-IN-2", quantity=25), remark="补录实收数量")

    def update(order_id: Any, body: dict[str, Any], token: str | None) -> Any:
        return api.put(f"inbound-orders/{order_id}", body, token=token)

    def check(row: Row, _: Any) -> None:
        before, after = row["before"], row["after"]
        assert (before["state"], before["remark"], before["lines"][0]["quantity"]) == ("draft", "月度采购", 10)
        assert (after["state"], after["remark"], after["lines"][0]["quantity"]) == ("draft", "补录实收数量", 25)
        assert before["number"] == after["number"] == draft["number"]

    return Scenario(
        refused=[
            (404, lambda: update(MISSING_ID, body, token)),
            (409, _coded("order_posted", lambda: update(posted["id"], body, token))),
            (422, _naming("lines", lambda: update(draft["id"], {**body, "lines": []}, token))),
            (403, lambda: update(draft["id"], body, api.token("sms:inbound:read"))),
            (401, lambda: update(draft["id"], body, None)),
        ],
        call=lambda: update(draft["id"], body, token),
        status=200,
        action="update",
        entity="inbound_order",
        check=check,
        again=None,  # saving the draft again is audited again
    )


def _delete_inbound(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    draft = api.draft(line(drug, "AUD-IN-4"))
    posted = api.posted(line(drug, "AUD-IN-5"))

    def remove(order_id: Any, token: str | None) -> Any:
        return api.delete(f"inbound-orders/{order_id}", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["number"], row["before"]["state"]) == (draft["number"], "draft")
        assert row["after"] is None
        assert api.get(f"inbound-orders/{draft['id']}").status_code == 404

    return Scenario(
        refused=[
            (404, lambda: remove(MISSING_ID, token)),
            (409, _coded("order_posted", lambda: remove(posted["id"], token))),
            (403, lambda: remove(draft["id"], api.token("sms:inbound:read"))),
            (401, lambda: remove(draft["id"], None)),
        ],
        call=lambda: remove(draft["id"], token),
        status=204,
        action="delete",
        entity="inbound_order",
        entity_id=lambda _: str(draft["id"]),
        check=check,
        again=(404,),
    )


def _post_inbound(api: SmsApi, token: str) -> Scenario:
    first, second = _drug(api), _drug(api, "YP0003")
    draft = api.draft(line(first, "AUD-IN-6", quantity=10), line(second, "AUD-IN-7", quantity=4))
    posted = api.posted(line(first, "AUD-IN-8"))
    # The same batch number as one in stock, with another expiry date: refused, nothing written.
    clash = api.draft(line(first, "AUD-IN-8", expiry_date=days(500)))

    def check(row: Row, _: Any) -> None:
        before, after = row["before"], row["after"]
        assert (before["state"], before["posted_at"]) == ("draft", None)
        assert [li["batch_id"] for li in before["lines"]] == [None, None]
        assert (after["state"], after["posted_by"]) == ("posted", ACTOR)
        assert [(li["batch_no"], li["batch_id"]) for li in after["lines"]] == [
            ("AUD-IN-6", _batch_id(api, "AUD-IN-6")),
            ("AUD-IN-7", _batch_id(api, "AUD-IN-7")),
        ]

    return Scenario(
        refused=[
            (404, lambda: api.post_order(int(MISSING_ID), token=token)),
            (409, _coded("already_posted", lambda: api.post_order(posted["id"], token=token))),
            (409, _coded("batch_mismatch", lambda: api.post_order(clash["id"], token=token))),
            (403, lambda: api.post_order(draft["id"], token=api.token("sms:inbound:read"))),
            (401, lambda: api.post_order(draft["id"], token=None)),
        ],
        call=lambda: api.post_order(draft["id"], token=token),
        status=200,
        action="post",
        entity="inbound_order",
        check=check,
        entity_id=lambda _: str(draft["id"]),
    )


def _reverse_inbound(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    posted = api.posted(line(drug, "AUD-IN-9", quantity=6))
    draft = api.draft(line(drug, "AUD-IN-10"))

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        made = answer.json()["number"]
        assert (after["number"], after["state"], after["reverses_id"]) == (made, "posted", posted["id"])
        assert (after["reason"], after["created_by"]) == ("供货商发错批号", ACTOR)
        assert [(li["batch_no"], li["quantity"]) for li in after["lines"]] == [("AUD-IN-9", 6)]

    def check_original(row: Row, answer: Any) -> None:
        assert row["entity_id"] == str(posted["id"])
        assert (row["before"]["state"], row["before"]["reversed_by_id"]) == ("posted", None)
        assert (row["after"]["state"], row["after"]["reversed_by_id"]) == ("reversed", answer.json()["id"])

    return Scenario(
        refused=[
            (404, lambda: api.reverse(int(MISSING_ID), token=token)),
            (409, _coded("not_posted", lambda: api.reverse(draft["id"], token=token))),
            (422, _naming("reason", lambda: api.reverse(posted["id"], "", token=token))),
            (403, lambda: api.reverse(posted["id"], token=api.token("sms:inbound:read"))),
            (401, lambda: api.reverse(posted["id"], token=None)),
        ],
        call=lambda: api.reverse(posted["id"], token=token),
        status=201,
        action="reverse",
        entity="inbound_order",
        check=check,
        also={"reversed": check_original},
    )


# --- thresholds ---------------------------------------------------------------------------------


def _set_threshold(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    default = api.client.app.state.settings.low_stock_threshold  # type: ignore[attr-defined]

    def put(drug_id: Any, body: dict[str, Any], token: str | None) -> Any:
        return api.put(f"thresholds/{drug_id}", body, token=token)

    def check(row: Row, _: Any) -> None:
        assert row["before"] == {"drug_id": drug, "threshold": default, "default": True}
        assert row["after"] == {"drug_id": drug, "threshold": 55, "default": False}

    return Scenario(
        refused=[
            (422, _naming("threshold", lambda: put(drug, {"threshold": -1}, token))),
            (422, _naming("drug_id", lambda: put(MISSING_ID, {"threshold": 55}, token))),
            (403, lambda: put(drug, {"threshold": 55}, api.token("sms:threshold:read"))),
            (401, lambda: put(drug, {"threshold": 55}, None)),
        ],
        call=lambda: put(drug, {"threshold": 55}, token),
        status=200,
        action="update",
        entity="stock_threshold",
        check=check,
        entity_id=lambda _: str(drug),
        again=None,  # setting it again is audited again
    )


# --- purchase orders (采购单) -------------------------------------------------------------------


def _purchase_body(api: SmsApi, *drug_ids: int, **changes: Any) -> dict[str, Any]:
    lines = [{"drug_id": d, "quantity": 100, "price": "11.50"} for d in drug_ids or (_drug(api),)]
    return {"warehouse_id": WAREHOUSE, "supplier_id": SUPPLIER, "remark": "季度采购", "lines": lines, **changes}


def _purchase(api: SmsApi, *drug_ids: int, approved: bool = False) -> dict[str, Any]:
    buyer = _staff(api, "sms:purchase:write")
    order = _ok(api.post("purchase-orders", _purchase_body(api, *drug_ids), token=buyer), 201)
    if approved:
        approver = _staff(api, "sms:purchase:approve", username="approver")
        order = _ok(api.post(f"purchase-orders/{order['id']}/approve", token=approver))
    return order


def _create_purchase(api: SmsApi, token: str) -> Scenario:
    body = _purchase_body(api)

    def create(body: dict[str, Any], token: str | None) -> Any:
        return api.post("purchase-orders", body, token=token)

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["state"], after["created_by"]) == (answer.json()["number"], "draft", ACTOR)
        assert [(li["drug_id"], li["quantity"], li["price"]) for li in after["lines"]] == [(_drug(api), 100, "11.50")]

    return Scenario(
        refused=[
            (422, _naming("supplier_id", lambda: create({**body, "supplier_id": int(MISSING_ID)}, token))),
            (422, _naming("lines", lambda: create({**body, "lines": []}, token))),
            (403, lambda: create(body, api.token("sms:purchase:read"))),
            (401, lambda: create(body, None)),
        ],
        call=lambda: create(body, token),
        status=201,
        action="create",
        entity="purchase_order",
        check=check,
        again=None,
    )


def _update_purchase(api: SmsApi, token: str) -> Scenario:
    draft = _purchase(api)
    approved = _purchase(api, approved=True)
    body = _purchase_body(api, _drug(api), _drug(api, "YP0003"), remark="加订布洛芬")

    def update(order_id: Any, body: dict[str, Any], token: str | None) -> Any:
        return api.put(f"purchase-orders/{order_id}", body, token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["remark"], len(row["before"]["lines"])) == ("季度采购", 1)
        assert (row["after"]["remark"], len(row["after"]["lines"])) == ("加订布洛芬", 2)
        assert row["before"]["state"] == row["after"]["state"] == "draft"

    return Scenario(
        refused=[
            (404, lambda: update(MISSING_ID, body, token)),
            (409, _coded("wrong_state", lambda: update(approved["id"], body, token))),
            (422, _naming("lines", lambda: update(draft["id"], {**body, "lines": []}, token))),
            (403, lambda: update(draft["id"], body, api.token("sms:purchase:read"))),
            (401, lambda: update(draft["id"], body, None)),
        ],
        call=lambda: update(draft["id"], body, token),
        status=200,
        action="update",
        entity="purchase_order",
        check=check,
        again=None,
    )


def _approve_purchase(api: SmsApi, token: str) -> Scenario:
    draft = _purchase(api)
    own = _ok(api.post("purchase-orders", _purchase_body(api), token=_own(api, "sms:purchase:write")), 201)

    def approve(order_id: Any, token: str | None) -> Any:
        return api.post(f"purchase-orders/{order_id}/approve", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["state"], row["before"]["approved_by"]) == ("draft", None)
        assert (row["after"]["state"], row["after"]["approved_by"]) == ("approved", ACTOR)

    return Scenario(
        refused=[
            (404, lambda: approve(MISSING_ID, token)),
            (409, _coded("own_order", lambda: approve(own["id"], token))),  # four eyes
            (403, lambda: approve(draft["id"], api.token("sms:purchase:write"))),
            (401, lambda: approve(draft["id"], None)),
        ],
        call=lambda: approve(draft["id"], token),
        status=200,
        action="approve",
        entity="purchase_order",
        check=check,
    )


def _cancel_purchase(api: SmsApi, token: str) -> Scenario:
    approved = _purchase(api, approved=True)
    cancelled = _purchase(api)
    _ok(api.post(f"purchase-orders/{cancelled['id']}/cancel", token=_staff(api, "sms:purchase:write")))

    def cancel(order_id: Any, token: str | None) -> Any:
        return api.post(f"purchase-orders/{order_id}/cancel", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["state"], row["before"]["cancelled_by"]) == ("approved", None)
        assert (row["after"]["state"], row["after"]["cancelled_by"]) == ("cancelled", ACTOR)

    return Scenario(
        refused=[
            (404, lambda: cancel(MISSING_ID, token)),
            (409, _coded("wrong_state", lambda: cancel(cancelled["id"], token))),
            (403, lambda: cancel(approved["id"], api.token("sms:purchase:read"))),
            (401, lambda: cancel(approved["id"], None)),
        ],
        call=lambda: cancel(approved["id"], token),
        status=200,
        action="cancel",
        entity="purchase_order",
        check=check,
    )


def _receive_purchase(api: SmsApi, token: str) -> Scenario:
    first, second = _drug(api), _drug(api, "YP0003")
    approved = _purchase(api, first, second, approved=True)
    draft = _purchase(api)
    got = [
        {"line_id": li["id"], "batch_no": f"AUD-CG-{i}", "production_date": days(-30), "expiry_date": days(700)}
        for i, li in enumerate(approved["lines"])
    ]
    body = {"handler_id": 1, "lines": got}
    unknown = {**body, "lines": [{**got[0], "line_id": int(MISSING_ID)}, got[1]]}

    def receive(order_id: Any, body: dict[str, Any], token: str | None) -> Any:
        return api.post(f"purchase-orders/{order_id}/receive", body, token=token)

    def check(row: Row, _: Any) -> None:
        before, after = row["before"], row["after"]
        assert (before["state"], before["inbound_order_id"]) == ("approved", None)
        assert (after["state"], after["received_by"]) == ("received", ACTOR)
        assert after["inbound_order_id"] is not None

    def check_inbound(row: Row, answer: Any) -> None:
        assert row["entity"] == "inbound_order"
        assert row["entity_id"] == str(answer.json()["inbound_order_id"])
        assert row["before"] is None
        after = row["after"]
        assert (after["state"], after["remark"]) == ("draft", f"采购单 {approved['number']} 收货")
        assert [(li["batch_no"], li["quantity"], li["purchase_price"]) for li in after["lines"]] == [
            ("AUD-CG-0", 100, "11.50"),
            ("AUD-CG-1", 100, "11.50"),
        ]

    return Scenario(
        refused=[
            (404, lambda: receive(MISSING_ID, body, token)),
            (409, _coded("wrong_state", lambda: receive(draft["id"], body, token))),
            (422, _naming("lines.0.line_id", lambda: receive(approved["id"], unknown, token))),
            (422, _naming("lines", lambda: receive(approved["id"], {**body, "lines": got[:1]}, token))),
            (403, lambda: receive(approved["id"], body, api.token("sms:purchase:write"))),
            (401, lambda: receive(approved["id"], body, None)),
        ],
        call=lambda: receive(approved["id"], body, token),
        status=200,
        action="receive",
        entity="purchase_order",
        check=check,
        also={"create": check_inbound},
    )


# --- stock-takes (盘点) ---------------------------------------------------------------------------


def _stocked(api: SmsApi) -> None:
    """Two batches in the warehouse: AUD-PD-1 (10) and AUD-PD-2 (5)."""
    api.posted(line(_drug(api), "AUD-PD-1", quantity=10), line(_drug(api, "YP0003"), "AUD-PD-2", quantity=5))


def _sheet(api: SmsApi, token: str | None = None, counted: dict[str, int] | None = None, submit: bool = False) -> dict:
    token = token or _staff(api, "sms:stocktake:write", username="counter")
    sheet = _ok(api.post("stocktakes", {"warehouse_id": WAREHOUSE, "remark": "月末盘点"}, token=token), 201)
    for li in sheet["lines"]:
        if counted is not None:
            body = {"counted_quantity": counted.get(li["batch_no"], li["book_quantity"])}
            sheet = _ok(api.put(f"stocktakes/{sheet['id']}/lines/{li['id']}", body, token=token))
    if submit:
        sheet = _ok(api.post(f"stocktakes/{sheet['id']}/submit", token=token))
    return sheet


def _create_stocktake(api: SmsApi, token: str) -> Scenario:
    _stocked(api)
    body = {"warehouse_id": WAREHOUSE, "remark": "月末盘点"}

    def create(body: dict[str, Any], token: str | None) -> Any:
        return api.post("stocktakes", body, token=token)

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["state"], after["created_by"]) == (answer.json()["number"], "counting", ACTOR)
        assert sorted((li["batch_no"], li["book_quantity"], li["counted_quantity"]) for li in after["lines"]) == [
            ("AUD-PD-1", 10, None),
            ("AUD-PD-2", 5, None),
        ]

    return Scenario(
        refused=[
            (422, _naming("warehouse_id", lambda: create({**body, "warehouse_id": int(MISSING_ID)}, token))),
            (403, lambda: create(body, api.token("sms:stocktake:read"))),
            (401, lambda: create(body, None)),
        ],
        call=lambda: create(body, token),
        status=201,
        action="create",
        entity="stocktake",
        check=check,
        again=None,  # another sheet
    )


def _count_line(api: SmsApi, token: str) -> Scenario:
    _stocked(api)
    sheet = _sheet(api)
    (first,) = [li for li in sheet["lines"] if li["batch_no"] == "AUD-PD-1"]
    cancelled = _sheet(api)
    _ok(api.post(f"stocktakes/{cancelled['id']}/cancel", token=_staff(api, "sms:stocktake:write")))

    def count(sheet_id: Any, line_id: Any, counted: int, token: str | None) -> Any:
        return api.put(f"stocktakes/{sheet_id}/lines/{line_id}", {"counted_quantity": counted}, token=token)

    def check(row: Row, _: Any) -> None:
        def mine(side: Row) -> tuple[Any, Any]:
            (found,) = [li for li in side["lines"] if li["id"] == first["id"]]
            return found["counted_quantity"], found["difference"]

        assert (mine(row["before"]), mine(row["after"])) == ((None, None), (8, -2))
        assert (row["before"]["counted"], row["after"]["counted"]) == (0, 1)

    return Scenario(
        refused=[
            (422, _naming("counted_quantity", lambda: count(sheet["id"], first["id"], -1, token))),
            (404, lambda: count(sheet["id"], MISSING_ID, 8, token)),
            (409, _coded("wrong_state", lambda: count(cancelled["id"], cancelled["lines"][0]["id"], 8, token))),
            (403, lambda: count(sheet["id"], first["id"], 8, api.token("sms:stocktake:read"))),
            (401, lambda: count(sheet["id"], first["id"], 8, None)),
        ],
        call=lambda: count(sheet["id"], first["id"], 8, token),
        status=200,
        action="count",
        entity="stocktake",
        check=check,
        entity_id=lambda _: str(sheet["id"]),
        again=None,  # counting again is audited again
    )


def _submit_stocktake(api: SmsApi, token: str) -> Scenario:
    _stocked(api)
    sheet = _sheet(api, counted={"AUD-PD-1": 9})
    uncounted = _sheet(api)

    def submit(sheet_id: Any, token: str | None) -> Any:
        return api.post(f"stocktakes/{sheet_id}/submit", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["state"], row["before"]["submitted_by"]) == ("counting", None)
        assert (row["after"]["state"], row["after"]["submitted_by"]) == ("submitted", ACTOR)
        assert (row["after"]["counted"], row["after"]["differences"]) == (2, 1)

    return Scenario(
        refused=[
            (404, lambda: submit(MISSING_ID, token)),
            (409, _coded("not_counted", lambda: submit(uncounted["id"], token))),
            (403, lambda: submit(sheet["id"], api.token("sms:stocktake:read"))),
            (401, lambda: submit(sheet["id"], None)),
        ],
        call=lambda: submit(sheet["id"], token),
        status=200,
        action="submit",
        entity="stocktake",
        check=check,
    )


def _approve_stocktake(api: SmsApi, token: str) -> Scenario:
    _stocked(api)
    # Counted, then a unit of AUD-PD-2 disposed of: the book quantity is stale.
    stale = _sheet(api, counted={}, submit=True)
    gone = {"batch_id": _batch_id(api, "AUD-PD-2"), "quantity": 1, "reason": "破损"}
    _ok(api.post("disposals", gone, token=_staff(api, "sms:disposal:write")), 201)
    sheet = _sheet(api, counted={"AUD-PD-1": 8}, submit=True)
    own = _sheet(api, _own(api, "sms:stocktake:write"), counted={}, submit=True)

    def approve(sheet_id: Any, token: str | None) -> Any:
        return api.post(f"stocktakes/{sheet_id}/approve", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["state"], row["before"]["approved_by"]) == ("submitted", None)
        assert (row["after"]["state"], row["after"]["approved_by"]) == ("approved", ACTOR)
        assert row["after"]["difference_value"] == "-24.00"  # two units lost at 12.00
        assert {b["batch_no"]: b["quantity"] for b in api.batches()} == {"AUD-PD-1": 8, "AUD-PD-2": 4}

    return Scenario(
        refused=[
            (404, lambda: approve(MISSING_ID, token)),
            (409, _coded("own_stocktake", lambda: approve(own["id"], token))),  # four eyes
            (409, _coded("stock_moved", lambda: approve(stale["id"], token))),
            (403, lambda: approve(sheet["id"], api.token("sms:stocktake:write"))),
            (401, lambda: approve(sheet["id"], None)),
        ],
        call=lambda: approve(sheet["id"], token),
        status=200,
        action="approve",
        entity="stocktake",
        check=check,
    )


def _cancel_stocktake(api: SmsApi, token: str) -> Scenario:
    _stocked(api)
    sheet = _sheet(api)
    cancelled = _sheet(api)
    _ok(api.post(f"stocktakes/{cancelled['id']}/cancel", token=_staff(api, "sms:stocktake:write")))

    def cancel(sheet_id: Any, token: str | None) -> Any:
        return api.post(f"stocktakes/{sheet_id}/cancel", token=token)

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["state"], row["before"]["cancelled_by"]) == ("counting", None)
        assert (row["after"]["state"], row["after"]["cancelled_by"]) == ("cancelled", ACTOR)

    return Scenario(
        refused=[
            (404, lambda: cancel(MISSING_ID, token)),
            (409, _coded("wrong_state", lambda: cancel(cancelled["id"], token))),
            (403, lambda: cancel(sheet["id"], api.token("sms:stocktake:read"))),
            (401, lambda: cancel(sheet["id"], None)),
        ],
        call=lambda: cancel(sheet["id"], token),
        status=200,
        action="cancel",
        entity="stocktake",
        check=check,
    )


# --- disposals (报损销毁) -------------------------------------------------------------------------


def _dispose(api: SmsApi, token: str) -> Scenario:
    api.posted(line(_drug(api), "AUD-XH-1", quantity=5))
    batch = _batch_id(api, "AUD-XH-1")
    body = {"batch_id": batch, "quantity": 2, "reason": "包装破损"}

    def dispose(body: dict[str, Any], token: str | None) -> Any:
        return api.post("disposals", body, token=token)

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["created_by"]) == (answer.json()["number"], ACTOR)
        assert (after["batch_id"], after["batch_no"], after["quantity"], after["reason"], after["expired"]) == (
            batch, "AUD-XH-1", 2, "包装破损", False
        )  # fmt: skip

    return Scenario(
        refused=[
            (422, _naming("quantity", lambda: dispose({**body, "quantity": 0}, token))),
            (422, _naming("batch_id", lambda: dispose({**body, "batch_id": int(MISSING_ID)}, token))),
            (409, _coded("insufficient_stock", lambda: dispose({**body, "quantity": 6}, token))),
            (403, lambda: dispose(body, api.token("sms:disposal:read"))),
            (401, lambda: dispose(body, None)),
        ],
        call=lambda: dispose(body, token),
        status=201,
        action="create",
        entity="disposal",
        check=check,
        again=None,  # another two units disposed of
    )


# --- messages from the pharmacy (pms's outbox): shortage requests and returns --------------------


def _pms(api: SmsApi) -> str:
    """pms's service token, as the gateway issues it."""
    return api.stack.key.service_token("pms", ["sms:shortage:write", "sms:return:write"])


def _shortage_body(api: SmsApi, request_id: int, quantity: int = 10) -> dict[str, Any]:
    drug = api.drug("YP0001")
    return {
        "request_id": request_id,
        "number": f"BQ-AUDIT-{request_id}",
        "requested_by": "pharmacist",
        "requested_at": utcnow().isoformat(),
        "lines": [{"line_id": 1, "drug_id": drug["id"], "code": drug["code"], "name": drug["name"],
                   "quantity": quantity}],
    }  # fmt: skip


def _keyed(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}


def _receive_shortage(api: SmsApi, token: str) -> Scenario:
    earlier = next(_numbers)
    first = _shortage_body(api, earlier)
    _ok(api.post("shortage-requests", first, token=_pms(api), headers=_keyed(f"k-{earlier}")), 201)
    # What pms's outbox delivers is recorded as pms's act, not as anyone's at the warehouse.
    (received,) = read_audit(api.engine, audit_log)
    assert (received["actor"], received["action"]) == ("service:pms", "create")
    request_id = next(_numbers)
    body = _shortage_body(api, request_id)
    key = f"pms-shortage-{request_id}"

    def send(body: dict[str, Any], key: str | None, token: str | None) -> Any:
        return api.post("shortage-requests", body, token=token, headers=_keyed(key))

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["id"], after["pms_request_id"], after["number"], after["state"]) == (
            answer.json()["id"], request_id, body["number"], "open"
        )  # fmt: skip
        assert [(li["drug_id"], li["quantity"], li["sent"]) for li in after["lines"]] == [(_drug(api), 10, 0)]

    return Scenario(
        refused=[
            (422, lambda: send(body, None, token)),  # no Idempotency-Key
            (422, _naming("lines", lambda: send({**body, "lines": []}, key, token))),
            (409, _coded("shortage_already_received", lambda: send(first, key, token))),
            (403, lambda: send(body, key, api.token("sms:shortage:read"))),
            (401, lambda: send(body, key, None)),
        ],
        call=lambda: send(body, key, token),
        status=201,
        action="create",
        entity="shortage_request",
        check=check,
        again=(201,),  # the same key: answered again, applied once
    )


def _return_body(api: SmsApi, return_id: int, **changes: Any) -> dict[str, Any]:
    drug = api.drug("YP0001")
    item = {
        "drug_id": drug["id"], "code": drug["code"], "name": drug["name"], "batch_no": "AUD-HS-1",
        "production_date": days(-100), "expiry_date": days(700), "supplier_id": SUPPLIER,
        "purchase_price": "12.00", "quantity": 3, "reason": "药房盘点多余",
    }  # fmt: skip
    return {
        "return_id": return_id,
        "number": f"TK-AUDIT-{return_id}",
        "warehouse_id": WAREHOUSE,
        "destination": "stock",
        "returned_by": "pharmacist",
        "returned_at": utcnow().isoformat(),
        "lines": [{**item, **changes}],
    }


def _receive_return(api: SmsApi, token: str) -> Scenario:
    api.posted(line(_drug(api), "AUD-HS-1", quantity=10))
    batch = _batch_id(api, "AUD-HS-1")
    return_id = next(_numbers)
    body = _return_body(api, return_id)
    key = f"pms-return-{return_id}"
    clash = _return_body(api, return_id, expiry_date=days(600))

    def send(body: dict[str, Any], key: str | None, token: str | None) -> Any:
        return api.post("returns", body, token=token, headers=_keyed(key))

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["pms_return_id"], after["destination"]) == (
            answer.json()["number"], return_id, "stock"
        )  # fmt: skip
        assert [(li["batch_id"], li["batch_no"], li["quantity"]) for li in after["lines"]] == [(batch, "AUD-HS-1", 3)]
        assert {b["batch_no"]: b["quantity"] for b in api.batches()} == {"AUD-HS-1": 13}

    return Scenario(
        refused=[
            (422, lambda: send(body, None, token)),  # no Idempotency-Key
            (422, _naming("lines", lambda: send({**body, "lines": []}, key, token))),
            # The warehouse holds that batch number with other dates: nothing is written.
            (409, _coded("batch_mismatch", lambda: send(clash, key, token))),
            (403, lambda: send(body, key, api.token("sms:return:read"))),
            (401, lambda: send(body, key, None)),
        ],
        call=lambda: send(body, key, token),
        status=201,
        action="create",
        entity="pharmacy_return",
        check=check,
        again=(201,),
    )


# --- outbound orders (出库单) ----------------------------------------------------------------------


def _send_out(api: SmsApi, token: str) -> Scenario:
    drug = _drug(api)
    api.posted(line(drug, "AUD-CK-1", quantity=10))
    pms_id = next(_numbers)
    request = _ok(
        api.post("shortage-requests", _shortage_body(api, pms_id), token=_pms(api), headers=_keyed(f"k-{pms_id}")), 201
    )
    body = {"warehouse_id": WAREHOUSE, "shortage_request_id": request["id"], "remark": "按报缺发药",
            "lines": [{"drug_id": drug, "quantity": 4}]}  # fmt: skip
    key = f"audit-outbound-{pms_id}"
    unknown = {**body, "shortage_request_id": int(MISSING_ID)}

    def send(body: dict[str, Any], token: str | None) -> Any:
        return api.post("outbound-orders", body, token=token, headers=_keyed(key))

    def changed(**line_changes: Any) -> dict[str, Any]:
        return {**body, "lines": [{**body["lines"][0], **line_changes}]}

    def check(row: Row, answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["created_by"], after["shortage_request_id"]) == (
            answer.json()["number"], ACTOR, request["id"]
        )  # fmt: skip
        assert [(b["batch_no"], b["quantity"]) for li in after["lines"] for b in li["batches"]] == [("AUD-CK-1", 4)]

    def check_request(row: Row, _: Any) -> None:
        assert (row["entity"], row["entity_id"]) == ("shortage_request", str(request["id"]))
        assert (row["before"]["state"], row["before"]["lines"][0]["sent"]) == ("open", 0)
        assert (row["after"]["state"], row["after"]["lines"][0]["sent"]) == ("partly_fulfilled", 4)

    return Scenario(
        refused=[
            (422, _naming("lines.0.reason", lambda: send(changed(batch_id=_batch_id(api, "AUD-CK-1")), token))),
            (422, _naming("shortage_request_id", lambda: send(unknown, token))),
            (409, _coded("insufficient_stock", lambda: send(changed(quantity=11), token))),
            (403, lambda: send(body, api.token("sms:outbound:read"))),
            (401, lambda: send(body, None)),
        ],
        call=lambda: send(body, token),
        status=201,
        action="create",
        entity="outbound_order",
        check=check,
        also={"outbound": check_request},
        again=(201,),  # the same Idempotency-Key: the first answer, replayed
    )


# --- the outbox (消息队列) -------------------------------------------------------------------------


def _message(api: SmsApi, status: str) -> tuple[int, str]:
    key = f"audit-outbox-{next(_numbers)}"
    now = utcnow()
    row = {"key": key, "destination": "PMS", "method": "POST", "path": "/api/pms/deliveries", "body": "{}",
           "status": status, "attempts": 1, "created_at": now, "next_attempt_at": now + timedelta(hours=1),
           "last_error": '409 {"code": "batch_mismatch"}'}  # fmt: skip
    with api.engine.begin() as conn:
        return conn.execute(outbox.insert().values(**row)).inserted_primary_key[0], key


def _retry(api: SmsApi, token: str) -> Scenario:
    message_id, key = _message(api, "rejected")
    delivered, _ = _message(api, "delivered")

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["status"], row["after"]["status"]) == ("rejected", "pending")

    return Scenario(
        refused=[
            (404, lambda: api.post(f"outbox/{MISSING_ID}/retry", token=token)),
            (409, lambda: api.post(f"outbox/{delivered}/retry", token=token)),
            (403, lambda: api.post(f"outbox/{message_id}/retry", token=api.token("sms:outbox:read"))),
            (401, lambda: api.post(f"outbox/{message_id}/retry", token=None)),
        ],
        call=lambda: api.post(f"outbox/{message_id}/retry", token=token),
        status=204,
        action="retry",
        entity="outbox",
        check=check,
        entity_id=lambda _: key,
        again=None,  # sending it again twice is two operator decisions
    )


def _resolve(api: SmsApi, token: str) -> Scenario:
    message_id, key = _message(api, "rejected")
    note = {"note": "已与药房核对，手工处理"}

    def check(row: Row, _: Any) -> None:
        assert (row["before"]["status"], row["after"]["status"]) == ("rejected", "resolved")
        assert row["after"]["resolution_note"] == note["note"]

    return Scenario(
        refused=[
            (422, _naming("note", lambda: api.post(f"outbox/{message_id}/resolve", {"note": ""}, token=token))),
            (404, lambda: api.post(f"outbox/{MISSING_ID}/resolve", note, token=token)),
            (403, lambda: api.post(f"outbox/{message_id}/resolve", note, token=api.token("sms:outbox:read"))),
            (401, lambda: api.post(f"outbox/{message_id}/resolve", note, token=None)),
        ],
        call=lambda: api.post(f"outbox/{message_id}/resolve", note, token=token),
        status=204,
        action="resolve",
        entity="outbox",
        check=check,
        entity_id=lambda _: key,
    )


SCENARIOS: dict[str, Callable[[SmsApi, str], Scenario]] = {
    "POST /api/sms/inbound-orders": _create_inbound,
    "PUT /api/sms/inbound-orders/{order_id}": _update_inbound,
    "DELETE /api/sms/inbound-orders/{order_id}": _delete_inbound,
    "POST /api/sms/inbound-orders/{order_id}/post": _post_inbound,
    "POST /api/sms/inbound-orders/{order_id}/reverse": _reverse_inbound,
    "PUT /api/sms/thresholds/{drug_id}": _set_threshold,
    "POST /api/sms/purchase-orders": _create_purchase,
    "PUT /api/sms/purchase-orders/{order_id}": _update_purchase,
    "POST /api/sms/purchase-orders/{order_id}/approve": _approve_purchase,
    "POST /api/sms/purchase-orders/{order_id}/cancel": _cancel_purchase,
    "POST /api/sms/purchase-orders/{order_id}/receive": _receive_purchase,
    "POST /api/sms/stocktakes": _create_stocktake,
    "PUT /api/sms/stocktakes/{stocktake_id}/lines/{line_id}": _count_line,
    "POST /api/sms/stocktakes/{stocktake_id}/submit": _submit_stocktake,
    "POST /api/sms/stocktakes/{stocktake_id}/approve": _approve_stocktake,
    "POST /api/sms/stocktakes/{stocktake_id}/cancel": _cancel_stocktake,
    "POST /api/sms/disposals": _dispose,
    "POST /api/sms/outbound-orders": _send_out,
    "POST /api/sms/shortage-requests": _receive_shortage,
    "POST /api/sms/returns": _receive_return,
    "POST /api/sms/outbox/{message_id}/retry": _retry,
    "POST /api/sms/outbox/{message_id}/resolve": _resolve,
}


@pytest.fixture(scope="module")
def sms_api(
    database: DatabaseUnderTest, signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsApi]:
    """sms on a database of its own (of the same backend), next to a dbs with the demo's master data
    and a gateway issuing sms's service token (tests/sms/conftest.py's stack)."""
    directory = Path(tmp_path_factory.mktemp("sms"))
    with (
        fresh_databases(database.backend, ["sms"], directory) as urls,
        Stack(directory, {"dbs": f"sqlite+aiosqlite:///{directory / 'dbs.db'}"}, key=signing_key) as stack,
    ):
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        settings = stack.settings("sms", database_url=urls["sms"], check_revocations=False)
        with TestClient(sms.main.create_app(settings), raise_server_exceptions=False) as client:
            api = SmsApi(client, stack, DatabaseUnderTest(database.backend, urls["sms"]))
            try:
                yield api
            finally:
                api.dbs.close()
                api.engine.dispose()


@pytest.mark.parametrize("route", SMS_WRITES, ids=str)
def test_every_sms_write_is_audited(sms_api: SmsApi, mint: Minter, route: Route) -> None:
    make = SCENARIOS.get(str(route))
    assert make is not None, f"no audit scenario for {route}: add one to tests/security/sms_scenarios.py"
    sms_api.wipe()  # each scenario on an empty warehouse: a stock-take snapshots all of it
    token = mint([route.permission or "", *READS], user_id=ACTOR_ID, username=ACTOR)
    scenario = make(sms_api, token)

    def last_id() -> int:
        rows = read_audit(sms_api.engine, audit_log)
        return rows[-1]["id"] if rows else 0

    last = last_id()
    for status, refused in scenario.refused:
        answer = refused()
        assert answer.status_code == status, answer.text
    assert read_audit(sms_api.engine, audit_log, last) == []

    answer = scenario.call()
    assert answer.status_code == scenario.status, answer.text
    rows = read_audit(sms_api.engine, audit_log, last)
    assert sorted(r["action"] for r in rows) == sorted([scenario.action, *scenario.also]), rows
    for row in rows:
        assert (row["actor"], row["actor_id"]) == (ACTOR, ACTOR_ID)
        assert row["request_id"] == answer.headers["x-request-id"]
        assert row["route"] == f"{answer.request.method} {answer.request.url.path}"
    (row,) = [r for r in rows if r["action"] == scenario.action]
    assert (row["entity"], row["entity_id"]) == (scenario.entity, scenario.entity_id(answer))
    scenario.check(row, answer)
    for action, check in scenario.also.items():
        (other,) = [r for r in rows if r["action"] == action]
        check(other, answer)

    # The rows are chained: an edit or a deletion of any of them would show here.
    chain = _ok(sms_api.get("audit-log/chain", token=sms_api.token("sms:audit:read")))
    assert (chain["status"], chain["rows"]) == ("intact", len(read_audit(sms_api.engine, audit_log))), chain

    if scenario.again is None:
        return
    # Repeating the write changes nothing and writes no second row (a replay, a 409 or a 404).
    again = scenario.call()
    assert again.status_code in scenario.again, again.text
    assert len(read_audit(sms_api.engine, audit_log, last)) == len(rows)

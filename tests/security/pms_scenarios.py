"""Audit scenarios for every write route of pms, in the manner of test_audit.py's dbs walk.

Not collected by itself (no test_ prefix): the lead wires it into the security suite, e.g. in
test_audit.py:

    from tests.security.pms_scenarios import pms_api, test_every_pms_write_is_audited  # noqa: F401

Every write route in pms's OpenAPI is walked; a new one without a scenario in SCENARIOS fails.
Each scenario first makes the calls that must be refused (and leave no row), then the one that
succeeds (exactly one row: actor, action, entity, request id, route, before and after).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

import pms.main
from pms.db import audit_log, outbox
from pms.settings import PmsSettings
from shared.clock import utcnow
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.pms.conftest import Api, delivery_body, delivery_line, order_body
from tests.security.conftest import ISOLATED, MISSING_ID, Minter, Route, read_audit, routes_of
from tests.support.databases import fresh_databases
from tests.support.tokens import SigningKey

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ACTOR_ID, ACTOR = 43, "pms-auditor"
ENTITY = "dispensing_order"


def pms_routes() -> list[Route]:
    return routes_of(pms.main.create_app(PmsSettings(**ISOLATED)).openapi())


PMS_WRITES = [r for r in pms_routes() if r.method in WRITE_METHODS]


@dataclass
class Scenario:
    refused: list[tuple[int, Callable[[], Any]]]  # (status, call) — each must leave no audit row
    call: Callable[[], Any]  # the write that succeeds
    status: int
    action: str
    check: Callable[[dict[str, Any], Any], None]  # (the row, the answer)
    entity: str = ENTITY
    entity_id: Callable[[Any], str] = lambda answer: str(answer.json()["id"])
    # Sending a message again twice is two operator decisions, each audited.
    repeatable: bool = False


_orders = iter(range(1000, 10**6))


def _receive(api: Api, token: str) -> Scenario:
    order_id = next(_orders)
    body = order_body(order_id)
    key = f"audit-{order_id}"

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["before"] is None
        after = row["after"]
        assert (after["number"], after["state"], after["order_id"]) == (answer.json()["number"], "pending", order_id)
        assert [line["line_id"] for line in after["lines"]] == [line["line_id"] for line in body["lines"]]

    return Scenario(
        refused=[
            (422, lambda: api.send(body, None, token=token)),  # no Idempotency-Key
            (422, lambda: api.send({**body, "lines": []}, key, token=token)),
            (403, lambda: api.send(body, key, token=api.token("pms:dispensing:read"))),
            (401, lambda: api.send(body, key, token=None)),
        ],
        call=lambda: api.send(body, key, token=token),
        status=201,
        action="create",
        check=check,
    )


def _dispense(api: Api, token: str) -> Scenario:
    order = api.receive(next(_orders))
    api.stock_up_for_orders()
    # A drug the pharmacy never received: refused, nothing written.
    unstocked = {**order_body(0)["lines"][0], "drug_id": 999999}
    short = api.receive(next(_orders), lines=[unstocked])

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["state"], row["after"]["state"]) == ("pending", "dispensed")
        assert row["after"]["dispensed_by"] == ACTOR
        assert row["before"]["number"] == row["after"]["number"] == order["number"]

    return Scenario(
        refused=[
            (404, lambda: api.dispense(int(MISSING_ID), token=token)),
            (409, lambda: api.dispense(short["id"], token=token)),
            (403, lambda: api.dispense(order["id"], token=api.token("pms:dispensing:read"))),
            (401, lambda: api.dispense(order["id"], token=None)),
        ],
        call=lambda: api.dispense(order["id"], token=token),
        status=200,
        action="dispense",
        check=check,
    )


def _claim(api: Api, token: str) -> Scenario:
    order = api.receive(next(_orders))
    first_line = order["lines"][0]["line_id"]
    handed_out = api.receive(next(_orders))
    api.stock_up_for_orders()
    assert api.dispense(handed_out["id"]).status_code == 200
    key = f"oms-refund-{order['order_id']}"

    def claim(body: dict[str, Any], token: str | None, order_id: int = order["order_id"]) -> Any:
        headers = {"Idempotency-Key": key} if token else {}
        return api.request("POST", f"dispensing-orders/by-source/oms/{order_id}/refund-claims", json=body,
                           token=token, headers=headers)  # fmt: skip

    body = {"line_ids": [first_line], "payment_id": 1, "reason": "患者不需要", "cashier": "cashier1"}
    dispensed = {**body, "line_ids": [handed_out["lines"][0]["line_id"]]}

    def check(row: dict[str, Any], _: Any) -> None:
        cancelled = [line["cancelled"] for line in row["after"]["lines"]]
        assert [line["cancelled"] for line in row["before"]["lines"]] == [False] * len(cancelled)
        assert cancelled[0] is True

    return Scenario(
        refused=[
            (409, lambda: claim(dispensed, token, handed_out["order_id"])),
            (422, lambda: claim({**body, "line_ids": [987654]}, token)),
            (403, lambda: claim(body, api.token("pms:dispensing:read"))),
            (401, lambda: claim(body, None)),
        ],
        call=lambda: claim(body, token),
        status=201,
        action="refund_claim",
        check=check,
        entity_id=lambda _: str(order["id"]),  # the claim changes the dispensing order's lines
    )


def _deliver(api: Api, token: str) -> Scenario:
    body = delivery_body(delivery_line(5, 40, batch_no=f"AUDIT-{next(_orders)}"))
    key = f"audit-delivery-{body['outbound_id']}"
    earlier = delivery_body(delivery_line(5, 1))
    assert api.deliver(earlier, f"audit-delivery-{earlier['outbound_id']}").status_code == 201

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["before"] is None
        assert (row["after"]["number"], row["after"]["outbound_id"]) == (answer.json()["number"], body["outbound_id"])
        assert [(line["batch_no"], line["quantity"]) for line in row["after"]["lines"]] == [
            (line["batch_no"], line["quantity"]) for line in body["lines"]
        ]

    return Scenario(
        refused=[
            (422, lambda: api.deliver(body, None, token=token)),  # no Idempotency-Key
            (422, lambda: api.deliver({**body, "lines": []}, key, token=token)),
            (409, lambda: api.deliver({**body, "outbound_id": earlier["outbound_id"]}, key, token=token)),
            (403, lambda: api.deliver(body, key, token=api.token("pms:delivery:read"))),
            (401, lambda: api.deliver(body, key, token=None)),
        ],
        call=lambda: api.deliver(body, key, token=token),
        status=201,
        action="create",
        check=check,
        entity="delivery",
    )


def _return_drugs(api: Api, token: str) -> Scenario:
    api.stock_up_for_orders()
    order = api.receive(next(_orders))
    assert api.dispense(order["id"]).status_code == 200
    pending = api.receive(next(_orders))
    body = {"line_ids": [order["lines"][0]["line_id"]], "reason": "患者过敏"}

    def give_back(order_id: int, body: dict[str, Any], token: str | None) -> Any:
        return api.request("POST", f"dispensing-orders/{order_id}/returns", json=body, token=token)

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["before"] is None
        assert (row["after"]["number"], row["after"]["created_by"]) == (answer.json()["number"], ACTOR)
        assert [line["line_id"] for line in row["after"]["lines"]] == body["line_ids"]

    not_dispensed = {**body, "line_ids": [pending["lines"][0]["line_id"]]}
    return Scenario(
        refused=[
            (404, lambda: give_back(int(MISSING_ID), body, token)),
            (409, lambda: give_back(pending["id"], not_dispensed, token)),
            (422, lambda: give_back(order["id"], {**body, "line_ids": []}, token)),
            (403, lambda: give_back(order["id"], body, api.token("pms:dispensing:read"))),
            (401, lambda: give_back(order["id"], body, None)),
        ],
        call=lambda: give_back(order["id"], body, token),
        status=201,
        action="create",
        check=check,
        entity="drug_return",
    )


def _return_to_warehouse(api: Api, token: str) -> Scenario:
    batch_no = f"AUDIT-TK-{next(_orders)}"
    api.stock_up(5, 2, batch_no=batch_no)
    (batch_id,) = [b["id"] for b in api.rows("stock_batches") if b["batch_no"] == batch_no]
    line = {"batch_id": batch_id, "quantity": 2, "reason": "滞销"}
    body = {"warehouse_id": 1, "destination": "stock", "lines": [line]}

    def send_back(body: dict[str, Any], token: str | None) -> Any:
        return api.request("POST", "warehouse-returns", json=body, token=token)

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["before"] is None
        assert (row["after"]["number"], row["after"]["created_by"]) == (answer.json()["number"], ACTOR)
        assert [(li["batch_no"], li["quantity"]) for li in row["after"]["lines"]] == [(batch_no, 2)]

    return Scenario(
        refused=[
            (422, lambda: send_back({**body, "lines": []}, token)),
            (409, lambda: send_back({**body, "lines": [{**line, "quantity": 3}]}, token)),  # more than the batch
            (403, lambda: send_back(body, api.token("pms:stock:read"))),
            (401, lambda: send_back(body, None)),
        ],
        # Again: the batch is empty now, so 409 and no second row.
        call=lambda: send_back(body, token),
        status=201,
        action="create",
        check=check,
        entity="warehouse_return",
    )


def _message(api: Api, status: str) -> tuple[int, str]:
    key = f"audit-outbox-{next(_orders)}"
    now = utcnow()
    row = {"key": key, "destination": "OMS", "method": "POST", "path": "/api/oms/orders/1/dispensed", "body": "{}",
           "status": status, "attempts": 1, "created_at": now, "next_attempt_at": now + timedelta(hours=1),
           "last_error": '409 {"detail": "已取消"}'}  # fmt: skip
    with api.engine.begin() as conn:
        return conn.execute(outbox.insert().values(**row)).inserted_primary_key[0], key


def _retry(api: Api, token: str) -> Scenario:
    message_id, key = _message(api, "rejected")
    delivered, _ = _message(api, "delivered")

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["status"], row["after"]["status"]) == ("rejected", "pending")

    return Scenario(
        refused=[
            (404, lambda: api.post(f"outbox/{MISSING_ID}/retry", token=token)),
            (409, lambda: api.post(f"outbox/{delivered}/retry", token=token)),
            (403, lambda: api.post(f"outbox/{message_id}/retry", token=api.token("pms:outbox:read"))),
            (401, lambda: api.post(f"outbox/{message_id}/retry", token=None)),
        ],
        call=lambda: api.post(f"outbox/{message_id}/retry", token=token),
        status=204,
        action="retry",
        check=check,
        entity="outbox",
        entity_id=lambda _: key,
        repeatable=True,
    )


def _resolve(api: Api, token: str) -> Scenario:
    message_id, key = _message(api, "rejected")
    note = {"note": "已在门诊手工处理"}

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["status"], row["after"]["status"]) == ("rejected", "resolved")
        assert row["after"]["resolution_note"] == note["note"]

    return Scenario(
        refused=[
            (422, lambda: api.post(f"outbox/{message_id}/resolve", {"note": ""}, token=token)),
            (404, lambda: api.post(f"outbox/{MISSING_ID}/resolve", note, token=token)),
            (403, lambda: api.post(f"outbox/{message_id}/resolve", note, token=api.token("pms:outbox:read"))),
            (401, lambda: api.post(f"outbox/{message_id}/resolve", note, token=None)),
        ],
        call=lambda: api.post(f"outbox/{message_id}/resolve", note, token=token),
        status=204,
        action="resolve",
        check=check,
        entity="outbox",
        entity_id=lambda _: key,
    )


def _shortage_body() -> dict[str, Any]:
    return {"lines": [{"drug_id": 3, "code": "YP003", "name": "阿莫西林胶囊", "quantity": 20}]}


def _file_shortage(api: Api, token: str) -> Scenario:
    body = _shortage_body()

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["before"] is None
        assert (row["after"]["number"], row["after"]["state"]) == (answer.json()["number"], "open")
        assert row["after"]["created_by"] == ACTOR

    return Scenario(
        refused=[
            (422, lambda: api.post("shortage-requests", {"lines": []}, token=token)),
            (403, lambda: api.post("shortage-requests", body, token=api.token("pms:shortage:read"))),
            (401, lambda: api.post("shortage-requests", body, token=None)),
        ],
        call=lambda: api.post("shortage-requests", body, token=token),
        status=201,
        action="create",
        check=check,
        entity="shortage_request",
        # Filing again is another request: the pharmacist asked twice.
        repeatable=True,
    )


def _cancel_shortage(api: Api, token: str) -> Scenario:
    writer = api.token("pms:shortage:write")
    request = api.post("shortage-requests", _shortage_body(), token=writer).json()
    gone = api.post("shortage-requests", _shortage_body(), token=writer).json()
    with api.engine.begin() as conn:  # the relay delivered this one to the warehouse
        conn.execute(outbox.update().where(outbox.c.key == f"pms-shortage-{gone['id']}").values(status="delivered"))

    def cancel(request_id: int, token: str | None) -> Any:
        return api.post(f"shortage-requests/{request_id}/cancel", token=token)

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["state"], row["after"]["state"]) == ("open", "cancelled")
        assert row["after"]["cancelled_by"] == ACTOR

    return Scenario(
        refused=[
            (404, lambda: cancel(int(MISSING_ID), token)),
            (409, lambda: cancel(gone["id"], token)),
            (403, lambda: cancel(request["id"], api.token("pms:shortage:read"))),
            (401, lambda: cancel(request["id"], None)),
        ],
        call=lambda: cancel(request["id"], token),
        status=200,
        action="cancel",
        check=check,
        entity="shortage_request",
    )


SCENARIOS: dict[str, Callable[[Api, str], Scenario]] = {
    "POST /api/pms/outbox/{message_id}/retry": _retry,
    "POST /api/pms/outbox/{message_id}/resolve": _resolve,
    "POST /api/pms/dispensing-orders": _receive,
    "POST /api/pms/dispensing-orders/{order_id}/dispense": _dispense,
    "POST /api/pms/dispensing-orders/by-source/{source}/{order_id}/refund-claims": _claim,
    "POST /api/pms/deliveries": _deliver,
    "POST /api/pms/dispensing-orders/{order_id}/returns": _return_drugs,
    "POST /api/pms/warehouse-returns": _return_to_warehouse,
    "POST /api/pms/shortage-requests": _file_shortage,
    "POST /api/pms/shortage-requests/{request_id}/cancel": _cancel_shortage,
}


@pytest.fixture(scope="module")
def pms_api(
    database: DatabaseUnderTest, signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """pms on a database of its own (of the same backend): test_audit.py's dbs uses `database`."""
    directory = Path(tmp_path_factory.mktemp("pms"))
    with fresh_databases(database.backend, ["pms"], directory) as urls:
        settings = PmsSettings(
            **{**ISOLATED, "database_url": urls["pms"]},
            var_dir=directory,
            jwks=signing_key.jwks_json,
            check_revocations=False,
        )
        engine = create_engine(sync_url(urls["pms"]))
        try:
            with TestClient(pms.main.create_app(settings), raise_server_exceptions=False) as client:
                yield Api(client, signing_key, engine, database.backend)
        finally:
            engine.dispose()


@pytest.mark.parametrize("route", PMS_WRITES, ids=str)
def test_every_pms_write_is_audited(pms_api: Api, mint: Minter, route: Route) -> None:
    make = SCENARIOS.get(str(route))
    assert make is not None, f"no audit scenario for {route}: add one to tests/security/pms_scenarios.py"
    token = mint([route.permission or "", "pms:dispensing:read"], user_id=ACTOR_ID, username=ACTOR)
    scenario = make(pms_api, token)
    audit = audit_log

    def last_id() -> int:
        rows = read_audit(pms_api.engine, audit)
        return rows[-1]["id"] if rows else 0

    last = last_id()
    for status, refused in scenario.refused:
        answer = refused()
        assert answer.status_code == status, answer.text
    assert read_audit(pms_api.engine, audit, last) == []

    answer = scenario.call()
    assert answer.status_code == scenario.status, answer.text
    (row,) = read_audit(pms_api.engine, audit, last)
    assert (row["actor"], row["actor_id"], row["action"]) == (ACTOR, ACTOR_ID, scenario.action)
    assert (row["entity"], row["entity_id"]) == (scenario.entity, scenario.entity_id(answer))
    assert row["request_id"] == answer.headers["x-request-id"]
    assert row["route"] == f"{answer.request.method} {answer.request.url.path}"
    scenario.check(row, answer)

    if scenario.repeatable:
        return
    # Repeating the write changes nothing and writes no second row (a replay, or a 409).
    again = scenario.call()
    assert again.status_code in (scenario.status, 409), again.text
    assert len(read_audit(pms_api.engine, audit, last)) == 1

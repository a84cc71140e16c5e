"""Shortage requests (报缺) at the pharmacy: filed with their message to the warehouse in the same
transaction, cancelled only while that message has not gone, fulfilled by the deliveries naming
them. (Their way through sms and back: tests/sms/test_outbound.py.)"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pms.db import outbox
from shared.clock import utcnow
from tests.pms.conftest import Api, delivery_body, delivery_line

PHARMACIST = ["pms:shortage:read", "pms:shortage:write"]
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _line(drug_id: int, quantity: int, **changes: Any) -> dict[str, Any]:
    line = {"drug_id": drug_id, "code": f"YP{drug_id:03d}", "name": f"药品{drug_id}", "spec": "10片/盒",
            "unit": "盒", "quantity": quantity, "remark": "库存告急"}  # fmt: skip
    return {**line, **changes}


def _file(api: Api, *lines: dict[str, Any], **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("token", api.token(*PHARMACIST, username="pharmacist"))
    return api.post("shortage-requests", {"remark": "周末备药", "lines": list(lines)}, **kwargs)


def _filed(api: Api, *lines: dict[str, Any]) -> dict[str, Any]:
    answer = _file(api, *lines)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _get(api: Api, request_id: int) -> dict[str, Any]:
    answer = api.get(f"shortage-requests/{request_id}", token=api.token(*PHARMACIST))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _states(api: Api, state: str) -> list[str]:
    answer = api.get("shortage-requests", params={"state": state}, token=api.token(*PHARMACIST))
    assert answer.status_code == 200, answer.text
    return [r["number"] for r in answer.json()["items"]]


class Receiver:
    """Stands in for sms behind the relay: records what it was sent."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def request(self, destination: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.keys.append(kwargs["headers"]["Idempotency-Key"])
        return httpx.Response(201, json={})


@pytest.fixture
def receiver(api: Api, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """The relay sends to the stand-in, and only when the test passes it (`_relay`)."""
    receiver = Receiver()
    relay = api.client.app.state.outbox
    monkeypatch.setattr(relay, "client", receiver)
    monkeypatch.setattr(relay, "clock", lambda: LONG_AGO)
    return receiver


def _relay(api: Api) -> None:
    relay = api.client.app.state.outbox
    relay.clock = utcnow
    try:
        assert api.client.portal is not None
        api.client.portal.call(relay.deliver_due)
    finally:
        relay.clock = lambda: LONG_AGO


def test_a_filed_request_queues_its_message_to_the_warehouse(api: Api) -> None:
    request = _filed(api, _line(3, 20), _line(7, 5, spec=None, remark=None))
    assert request["number"].startswith("BQ") and request["state"] == "open"
    assert request["created_by"] == "pharmacist"
    assert [(li["drug_id"], li["quantity"], li["delivered"], li["spec"]) for li in request["lines"]] == [
        (3, 20, 0, "10片/盒"),
        (7, 5, 0, ""),
    ]
    (message,) = api.rows("outbox")
    assert (message["key"], message["destination"], message["path"]) == (
        f"pms-shortage-{request['id']}", "SMS", "/api/sms/shortage-requests",
    )  # fmt: skip
    body = json.loads(message["body"])
    assert (body["request_id"], body["number"]) == (request["id"], request["number"])
    assert body["requested_by"] == "pharmacist"
    assert [(li["line_id"], li["drug_id"], li["code"], li["quantity"], li["remark"]) for li in body["lines"]] == [
        (request["lines"][0]["id"], 3, "YP003", 20, "库存告急"),
        (request["lines"][1]["id"], 7, "YP007", 5, ""),
    ]
    (entry,) = [a for a in api.audit_rows() if a["entity"] == "shortage_request"]
    assert entry["action"] == "create" and entry["after"]["number"] == request["number"]
    assert _states(api, "open") == [request["number"]] and _states(api, "sent") == []


def test_a_request_needs_lines_each_drug_once_and_the_permission(api: Api) -> None:
    assert _file(api).status_code == 422
    twice = _file(api, _line(3, 1), _line(3, 2))
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"].startswith("lines")
    assert _file(api, _line(3, 0)).status_code == 422
    assert _file(api, _line(3, 1), token=api.token("pms:shortage:read")).status_code == 403
    assert api.get("shortage-requests", token=api.token("pms:stock:read")).status_code == 403
    assert api.rows("shortage_requests") == [] and api.rows("outbox") == []


def test_cancelled_while_open_its_message_never_goes(api: Api, receiver: Receiver) -> None:
    request = _filed(api, _line(3, 20))
    cancel = api.post(f"shortage-requests/{request['id']}/cancel", token=api.token(*PHARMACIST, username="wang"))
    assert cancel.status_code == 200, cancel.text
    assert (cancel.json()["state"], cancel.json()["cancelled_by"]) == ("cancelled", "wang")
    (message,) = api.rows("outbox")
    assert message["status"] == "resolved"
    _relay(api)
    assert receiver.keys == []
    again = api.post(f"shortage-requests/{request['id']}/cancel", token=api.token(*PHARMACIST))
    assert again.status_code == 409 and again.json()["code"] == "already_sent"
    assert [a["action"] for a in api.audit_rows() if a["entity"] == "shortage_request"] == ["create", "cancel"]


def test_once_the_warehouse_has_it_it_is_sent_and_cannot_be_cancelled(api: Api, receiver: Receiver) -> None:
    request = _filed(api, _line(3, 20))
    _relay(api)
    assert receiver.keys == [f"pms-shortage-{request['id']}"]
    assert _get(api, request["id"])["state"] == "sent"
    assert _states(api, "sent") == [request["number"]] and _states(api, "open") == []
    refused = api.post(f"shortage-requests/{request['id']}/cancel", token=api.token(*PHARMACIST))
    assert refused.status_code == 409 and refused.json()["code"] == "already_sent"


def test_deliveries_naming_the_request_fulfil_it(api: Api) -> None:
    request = _filed(api, _line(3, 20), _line(7, 5))
    with api.engine.begin() as conn:  # the relay delivered it
        conn.execute(update(outbox).values(status="delivered"))
    first = delivery_body(
        delivery_line(3, 12, batch_no="A1"), delivery_line(3, 8, batch_no="A2"), shortage_request_id=request["id"]
    )
    assert api.deliver(first, f"sms-outbound-{first['outbound_id']}").status_code == 201
    partly = _get(api, request["id"])
    assert partly["state"] == "partly_fulfilled" and partly["fulfilled_at"] is None
    assert [li["delivered"] for li in partly["lines"]] == [20, 0]

    # More than asked, and a drug not asked for: the goods are on the shelf all the same.
    second = delivery_body(delivery_line(7, 6), delivery_line(9, 1), shortage_request_id=request["id"])
    assert api.deliver(second, f"sms-outbound-{second['outbound_id']}").status_code == 201
    done = _get(api, request["id"])
    assert done["state"] == "fulfilled" and done["fulfilled_at"] is not None
    assert [li["delivered"] for li in done["lines"]] == [20, 6]
    assert _states(api, "fulfilled") == [request["number"]]
    # A request pms does not know (or no longer has) never keeps a delivery out.
    stray = delivery_body(delivery_line(3, 1, batch_no="A3"), shortage_request_id=999999)
    assert api.deliver(stray, f"sms-outbound-{stray['outbound_id']}").status_code == 201
    assert len(api.rows("deliveries")) == 3

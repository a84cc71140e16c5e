"""Outbound orders (出库单) and shortage requests (报缺) between the warehouse and the pharmacy.

sms (tests/sms/conftest.py: in process, next to a real dbs and gateway) and pms (in process, its
own database) are linked by their outbox relays, driven pass by pass here: each relay sends
through a `Link` that can be down, or lose the answer after the receiver applied the message
(a crash between sending and marking it delivered), as the real service client would.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

import pms.main
from pms.db import stock as pms_stock
from shared.clock import utcnow
from shared.errors import Unavailable
from shared.i18n import Text
from shared.migrations import sync_url
from shared.outbox import OutboxRelay
from shared.stock import stock_audit
from tests.conftest import DatabaseUnderTest
from tests.pms.conftest import Api as PmsApi
from tests.pms.conftest import pms_settings
from tests.sms.conftest import WAREHOUSE, SmsApi, days, line
from tests.support.databases import fresh_databases
from tests.support.stack import Stack

OUTBOUND = ["sms:outbound:read", "sms:outbound:write", "sms:shortage:read", "sms:stock:read", "sms:inbound:write"]
PHARMACIST = ["pms:shortage:read", "pms:shortage:write", "pms:stock:read", "pms:delivery:read"]
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class Link:
    """What a relay's service client reaches: the other app in process, called as the sending
    service; down while `up` is false; with `lose_answers`, the receiver applies the message but the
    sender never hears back."""

    def __init__(self, receiver: TestClient, token: str) -> None:
        self.receiver = receiver
        self.token = token
        self.up = False
        self.lose_answers = False
        self.answers: list[httpx.Response] = []

    async def request(
        self, destination: str, method: str, path: str, *, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        if not self.up:
            raise Unavailable(Text("服务暂时无法访问", f"{destination} is not running"))
        answer = self.receiver.request(
            method, path, json=kwargs["json"], headers={**headers, "Authorization": f"Bearer {self.token}"}
        )
        self.answers.append(answer)
        if self.lose_answers:
            raise Unavailable(Text("连接中断", "the connection dropped before the answer"))
        return answer


def _relay(app: Any, link: Link) -> OutboxRelay:
    """A relay over the app's outbox that finds every pending message due at each pass (its clock
    runs an hour ahead per pass, past any back-off)."""
    hours = itertools.count(1)
    return OutboxRelay(
        app.state.db, app.state.outbox.table, link, clock=lambda: utcnow() + dt.timedelta(hours=next(hours))
    )


class Both:
    def __init__(self, sms: SmsApi, pms: PmsApi, to_pms: Link, to_sms: Link) -> None:
        self.sms, self.pms, self.to_pms, self.to_sms = sms, pms, to_pms, to_sms
        self.sms_relay = _relay(sms.client.app, to_pms)
        self.pms_relay = _relay(pms.client.app, to_sms)
        self.keeper = sms.token(*OUTBOUND, username="keeper")
        self.pharmacist = pms.token(*PHARMACIST, username="pharmacist")

    def relay_sms(self) -> None:
        assert self.sms.client.portal is not None
        self.sms.client.portal.call(self.sms_relay.deliver_due)

    def relay_pms(self) -> None:
        assert self.pms.client.portal is not None
        self.pms.client.portal.call(self.pms_relay.deliver_due)

    def send_out(self, *lines: dict[str, Any], key: str | None = None, **changes: Any) -> httpx.Response:
        body = {"warehouse_id": WAREHOUSE, "lines": list(lines), **changes}
        headers = {"Idempotency-Key": key} if key else None
        return self.sms.post("outbound-orders", body, token=self.keeper, headers=headers)

    def sent_out(self, *lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
        answer = self.send_out(*lines, **changes)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def sms_messages(self) -> list[dict[str, Any]]:
        return self.sms.rows("outbox")

    def pms_shelf(self, drug_id: int) -> dict[str, int]:
        """batch_no → quantity on the pharmacy's shelf."""
        return {b["batch_no"]: b["quantity"] for b in self.pms.rows("stock_batches") if b["drug_id"] == drug_id}

    def books_balance(self) -> None:
        """Stock equals its ledger, batch by batch, in both services."""
        assert self.sms.stock_audit() == []

        async def audit_pms() -> Any:
            async with self.pms.client.app.state.db.transaction() as session:
                return await stock_audit(session, pms_stock)

        assert self.pms.client.portal is not None
        assert self.pms.client.portal.call(audit_pms) == []


@pytest.fixture(scope="module")
def pms_module(stack: Stack, database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PmsApi]:
    var_dir: Path = tmp_path_factory.mktemp("pms")
    with fresh_databases(database.backend, ["pms"], var_dir) as urls:
        settings = pms_settings(urls["pms"], var_dir, stack.key)
        engine = create_engine(sync_url(urls["pms"]))
        try:
            with TestClient(pms.main.create_app(settings), raise_server_exceptions=False) as client:
                yield PmsApi(client, stack.key, engine, database.backend)
        finally:
            engine.dispose()


@pytest.fixture
def both(api: SmsApi, pms_module: PmsApi, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Both:
    pms_module.wipe()
    # The apps' own relays find nothing due: the test drives each pass itself.
    for app in (api.client.app, pms_module.client.app):
        monkeypatch.setattr(app.state.outbox, "clock", lambda: LONG_AGO)
    to_pms = Link(pms_module.client, stack.key.service_token("sms", ["pms:delivery:write"]))
    to_sms = Link(api.client, stack.key.service_token("pms", ["sms:shortage:write"]))
    return Both(api, pms_module, to_pms, to_sms)


def _three_batches(api: SmsApi, code: str = "YP0001") -> tuple[int, dict[str, int]]:
    """10 each of three batches of the drug, expiring in 100, 300 and 500 days (posted out of
    order); the drug's id and batch_no → batch id."""
    drug = api.drug(code)["id"]
    api.posted(
        line(drug, "LATE", quantity=10, expiry_date=days(500)),
        line(drug, "EARLY", quantity=10, expiry_date=days(100)),
        line(drug, "MIDDLE", quantity=10, expiry_date=days(300)),
    )
    return drug, {b["batch_no"]: b["id"] for b in api.batches() if b["drug_id"] == drug}


def _taken(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [(b["batch_no"], b["quantity"]) for li in order["lines"] for b in li["batches"]]


def _left(api: SmsApi) -> dict[str, int]:
    return {b["batch_no"]: b["quantity"] for b in api.batches()}


def test_stock_leaves_first_expiry_first_unless_a_batch_is_chosen_with_a_reason(both: Both) -> None:
    drug, _ = _three_batches(both.sms)
    order = both.sent_out({"drug_id": drug, "quantity": 25})
    assert order["number"].startswith("CK")
    assert _taken(order) == [("EARLY", 10), ("MIDDLE", 10), ("LATE", 5)]
    assert _left(both.sms) == {"EARLY": 0, "MIDDLE": 0, "LATE": 5}

    # Choosing a batch overrides the order of expiry, but only with a reason on record.
    drug2, ids2 = _three_batches(both.sms, "YP0002")
    chosen = {"drug_id": drug2, "quantity": 4, "batch_id": ids2["LATE"]}
    refused = both.send_out(chosen)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.0.reason"]
    order = both.sent_out({**chosen, "reason": "近效期批次已封存待检"})
    assert _taken(order) == [("LATE", 4)]
    assert order["lines"][0]["chosen_batch_id"] == ids2["LATE"]
    assert order["lines"][0]["reason"] == "近效期批次已封存待检"
    moved = [m for m in both.sms.movements() if m["reference"] == order["number"]]
    assert [(m["batch_id"], m["quantity"], m["movement"], m["reason"], m["person"]) for m in moved] == [
        (ids2["LATE"], -4, "outbound", "近效期批次已封存待检", "keeper")
    ]
    # Listed with the batches they took; filtered by drug.
    listed = both.sms.get("outbound-orders", params={"drug_id": drug2}, token=both.keeper).json()
    assert [o["number"] for o in listed["items"]] == [order["number"]]
    assert listed["items"][0]["lines"][0]["batches"][0]["batch_no"] == "LATE"
    assert both.sms.get(f"outbound-orders/{order['id']}", token=both.keeper).json() == order
    both.books_balance()


def test_an_expired_batch_never_leaves(both: Both) -> None:
    drug = both.sms.drug("YP0003")["id"]
    both.sms.posted(
        line(drug, "OLD", quantity=50, production_date=days(-800), expiry_date=days(-1)),
        line(drug, "GOOD", quantity=5, expiry_date=days(200)),
    )
    old = next(b["id"] for b in both.sms.batches() if b["batch_no"] == "OLD")
    assert _taken(both.sent_out({"drug_id": drug, "quantity": 5})) == [("GOOD", 5)]
    # Fifty expired units on the shelf are not stock that can go out, chosen or not.
    short = both.send_out({"drug_id": drug, "quantity": 1})
    assert short.status_code == 409 and short.json()["code"] == "insufficient_stock"
    chosen = both.send_out({"drug_id": drug, "quantity": 1, "batch_id": old, "reason": "药房急需"})
    assert chosen.status_code == 409 and chosen.json()["code"] == "batch_expired"
    assert _left(both.sms) == {"OLD": 50, "GOOD": 0}
    assert len(both.sms_messages()) == 1


def test_more_than_in_stock_is_409_naming_the_drug_and_writes_nothing(both: Both) -> None:
    plenty, _ = _three_batches(both.sms)
    scarce = both.sms.drug("YP0002")
    both.sms.posted(line(scarce["id"], "S1", quantity=7))
    before = {table: both.sms.rows(table) for table in ("stock_batches", "stock_movements", "audit_log", "outbox")}

    answer = both.send_out({"drug_id": plenty, "quantity": 12}, {"drug_id": scarce["id"], "quantity": 10})
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "insufficient_stock"
    assert scarce["name"] in problem["detail"] and "缺 3" in problem["detail"]
    # The first line's stock came back with the rollback: nothing written anywhere.
    assert both.sms.rows("outbound_orders") == [] and both.sms.rows("outbound_batches") == []
    assert {table: both.sms.rows(table) for table in before} == before
    both.books_balance()


def test_the_delivery_waits_while_pms_is_down_and_then_arrives(both: Both) -> None:
    drug, _ = _three_batches(both.sms)
    order = both.sent_out({"drug_id": drug, "quantity": 15})
    both.relay_sms()
    (message,) = both.sms_messages()
    assert (message["key"], message["status"], message["attempts"]) == (f"sms-outbound-{order['id']}", "pending", 1)
    assert message["last_error"]
    assert both.pms.rows("deliveries") == []

    both.to_pms.up = True
    both.relay_sms()
    (message,) = both.sms_messages()
    assert message["status"] == "delivered"
    drugs = both.sms.drug("YP0001")
    (delivery,) = both.pms.get("deliveries", token=both.pharmacist).json()["items"]
    assert (delivery["outbound_id"], delivery["outbound_number"], delivery["warehouse_id"]) == (
        order["id"], order["number"], WAREHOUSE,
    )  # fmt: skip
    assert [(li["code"], li["name"], li["batch_no"], li["quantity"]) for li in delivery["lines"]] == [
        (drugs["code"], drugs["name"], "EARLY", 10),
        (drugs["code"], drugs["name"], "MIDDLE", 5),
    ]
    assert delivery["lines"][0]["expiry_date"] == days(100)
    assert both.pms_shelf(drug) == {"EARLY": 10, "MIDDLE": 5}
    both.books_balance()


def test_a_delivery_sent_again_after_a_lost_answer_is_applied_once(both: Both) -> None:
    drug, _ = _three_batches(both.sms)
    # A repeat of the store-keeper's request (same Idempotency-Key) is the same order, not a second one.
    first = both.send_out({"drug_id": drug, "quantity": 8}, key="keeper-req-1")
    again = both.send_out({"drug_id": drug, "quantity": 8}, key="keeper-req-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(both.sms.rows("outbound_orders")) == 1

    both.to_pms.up = True
    both.to_pms.lose_answers = True  # pms applies it; sms dies before marking it delivered
    both.relay_sms()
    assert both.pms_shelf(drug) == {"EARLY": 8}
    assert [m["status"] for m in both.sms_messages()] == ["pending"]

    both.to_pms.lose_answers = False
    both.relay_sms()  # sent again with the same key: pms answers from its record
    assert [m["status"] for m in both.sms_messages()] == ["delivered"]
    replay = both.to_pms.answers[-1]
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == both.to_pms.answers[0].json()
    assert both.pms_shelf(drug) == {"EARLY": 8}
    assert len(both.pms.rows("deliveries")) == 1
    assert _left(both.sms) == {"EARLY": 2, "MIDDLE": 10, "LATE": 10}
    both.books_balance()


def test_a_shortage_request_reaches_sms_once_and_is_fulfilled_by_the_deliveries(both: Both) -> None:
    a, b = both.sms.drug("YP0001"), both.sms.drug("YP0002")
    both.sms.posted(line(a["id"], "A1", quantity=30), line(b["id"], "B1", quantity=4))
    asked = [
        {"drug_id": d["id"], "code": d["code"], "name": d["name"], "spec": d.get("spec") or "", "unit": "盒",
         "quantity": q, "remark": "门诊用量大"}
        for d, q in ((a, 20), (b, 6))
    ]  # fmt: skip
    filed = both.pms.post("shortage-requests", {"lines": asked}, token=both.pharmacist)
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["number"].startswith("BQ") and request["state"] == "open"

    # Received by sms, then the answer lost: sent again, kept once.
    both.to_sms.up = both.to_sms.lose_answers = True
    both.relay_pms()
    both.to_sms.lose_answers = False
    both.relay_pms()
    assert both.to_sms.answers[-1].headers["Idempotent-Replayed"] == "true"
    (received,) = both.sms.get("shortage-requests", params={"state": "open"}, token=both.keeper).json()["items"]
    assert (received["pms_request_id"], received["number"], received["requested_by"]) == (
        request["id"], request["number"], "pharmacist",
    )  # fmt: skip
    assert [(li["drug_id"], li["quantity"], li["in_stock"]) for li in received["lines"]] == [
        (a["id"], 20, 30),
        (b["id"], 6, 4),
    ]
    assert both.pms.get(f"shortage-requests/{request['id']}", token=both.pharmacist).json()["state"] == "sent"

    # What the warehouse has goes now; the rest later.
    both.sent_out({"drug_id": a["id"], "quantity": 20}, {"drug_id": b["id"], "quantity": 4},
                  shortage_request_id=received["id"])  # fmt: skip
    partly = both.sms.get(f"shortage-requests/{received['id']}", token=both.keeper).json()
    assert partly["state"] == "partly_fulfilled"
    assert [li["sent"] for li in partly["lines"]] == [20, 4]
    both.to_pms.up = True
    both.relay_sms()
    at_pms = both.pms.get(f"shortage-requests/{request['id']}", token=both.pharmacist).json()
    assert at_pms["state"] == "partly_fulfilled"
    assert [li["delivered"] for li in at_pms["lines"]] == [20, 4]

    both.sms.posted(line(b["id"], "B2", quantity=2))
    both.sent_out({"drug_id": b["id"], "quantity": 2}, shortage_request_id=received["id"])
    both.relay_sms()
    assert both.sms.get(f"shortage-requests/{received['id']}", token=both.keeper).json()["state"] == "fulfilled"
    assert both.sms.get("shortage-requests", params={"state": "fulfilled"}, token=both.keeper).json()["total"] == 1
    done = both.pms.get(f"shortage-requests/{request['id']}", token=both.pharmacist).json()
    assert done["state"] == "fulfilled" and done["fulfilled_at"] is not None
    assert [li["delivered"] for li in done["lines"]] == [20, 6]
    assert both.pms_shelf(b["id"]) == {"B1": 4, "B2": 2}
    # A fulfilled request takes no more outbound orders.
    again = both.send_out({"drug_id": a["id"], "quantity": 1}, shortage_request_id=received["id"])
    assert again.status_code == 409 and again.json()["code"] == "shortage_fulfilled"
    both.books_balance()


def test_without_the_permissions_nothing_goes_out(both: Both) -> None:
    drug, _ = _three_batches(both.sms)
    body = {"warehouse_id": WAREHOUSE, "lines": [{"drug_id": drug, "quantity": 1}]}
    assert both.sms.post("outbound-orders", body, token=both.sms.token("sms:outbound:read")).status_code == 403
    assert both.sms.get("outbound-orders", token=both.sms.token("sms:stock:read")).status_code == 403
    # Only pms's outbox files shortage requests at the warehouse.
    assert both.sms.post("shortage-requests", {}, token=both.keeper).status_code == 403
    assert both.sms.rows("outbound_orders") == []


def test_concurrent_outbound_orders_against_one_batch_never_take_more_than_it_holds(both: Both) -> None:
    """Twenty store-keepers each sending 3 of a batch that holds 30 (and nothing else of the
    drug): exactly ten orders go out, the rest are refused whole, and the books balance."""
    drug = both.sms.drug("YP0004")["id"]
    both.sms.posted(line(drug, "ONLY", quantity=30, expiry_date=days(300)))
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: both.send_out({"drug_id": drug, "quantity": 3}), range(20)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 10 and statuses.count(409) == 10, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"insufficient_stock"}
    assert _left(both.sms) == {"ONLY": 0}
    assert len([m for m in both.sms.movements() if m["movement"] == "outbound"]) == 10
    # The ten deliveries reach the pharmacy once each.
    both.to_pms.up = True
    both.relay_sms()
    assert both.pms_shelf(drug) == {"ONLY": 30}
    both.books_balance()

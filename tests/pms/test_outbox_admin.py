"""消息队列 at a service: a refused message listed with the receiver's answer; sent again and
delivered once the receiver accepts; set aside for good with a note; both audited; stuck
messages in /health/ready and /metrics. pms in process, its relay sending to a stand-in oms."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pms.db import audit_log, outbox
from shared.clock import utcnow
from tests.pms.conftest import Api

READ, WRITE = "pms:outbox:read", "pms:outbox:write"
REFUSAL = {"status": 409, "code": "conflict", "detail": "处方已取消，不能发药"}


class Receiver:
    """What the relay's service client would reach: answers in turn, the last one repeated."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    async def request(self, destination: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.calls.append({"destination": destination, "path": path, "key": kwargs["headers"]["Idempotency-Key"]})
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(status, json=body)


@pytest.fixture
def receiver(api: Api, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    receiver = Receiver((409, REFUSAL), (200, {"state": "dispensed"}))
    monkeypatch.setattr(api.client.app.state.outbox, "client", receiver)
    return receiver


def _queue(api: Api, key: str = "pms-dispensed-1", **values: Any) -> int:
    now = utcnow()
    row = {
        "key": key,
        "destination": "OMS",
        "method": "POST",
        "path": "/api/oms/orders/1/dispensed",
        "body": '{"dispensing_number": "FY1"}',
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        **values,
    }
    with api.engine.begin() as conn:
        return conn.execute(outbox.insert().values(**row)).inserted_primary_key[0]


def _message(api: Api, message_id: int) -> dict[str, Any]:
    with api.engine.connect() as conn:
        return dict(conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().one())


def _until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def _audit(api: Api) -> list[dict[str, Any]]:
    with api.engine.connect() as conn:
        query = select(audit_log).where(audit_log.c.entity == "outbox").order_by(audit_log.c.id)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [{**r, "before": json.loads(r["before"]), "after": json.loads(r["after"])} for r in rows]


def _refused(api: Api) -> int:
    message_id = _queue(api)
    _until(lambda: _message(api, message_id)["status"] == "rejected")
    return message_id


def test_a_refused_message_is_listed_with_the_receivers_answer(api: Api, receiver: Receiver) -> None:
    message_id = _refused(api)
    listed = api.get("outbox", params={"status": "rejected"}, token=api.token(READ)).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["id"] == message_id and item["module"] == "pms" and item["destination"] == "oms"
    assert item["kind"] == {"zh": "发药完成回报门诊", "en": "Dispensed, reported to outpatients"}
    assert (item["answer_status"], item["answer"], item["attempts"]) == (409, "处方已取消，不能发药", 1)
    assert "body" not in item  # the payload may name a patient; the operator needs the answer
    assert api.get("outbox", params={"status": "pending"}, token=api.token(READ)).json()["total"] == 0


def test_retry_sends_it_again_and_it_is_delivered_once_the_receiver_accepts(api: Api, receiver: Receiver) -> None:
    message_id = _refused(api)
    answer = api.post(f"outbox/{message_id}/retry", token=api.token(WRITE, username="ops"))
    assert answer.status_code == 204, answer.text
    delivered = _until(lambda: (m := _message(api, message_id))["status"] == "delivered" and m)
    assert delivered["attempts"] == 2  # the refused try is still counted
    assert [c["key"] for c in receiver.calls] == ["pms-dispensed-1", "pms-dispensed-1"]
    (entry,) = _audit(api)
    assert (entry["action"], entry["actor"], entry["entity_id"]) == ("retry", "ops", "pms-dispensed-1")
    assert entry["before"]["status"] == "rejected" and entry["after"]["status"] == "pending"
    # Delivered: nothing left to send again.
    assert api.post(f"outbox/{message_id}/retry", token=api.token(WRITE)).status_code == 409


def test_resolve_sets_it_aside_for_good_with_the_note(api: Api, receiver: Receiver) -> None:
    message_id = _refused(api)
    answer = api.post(
        f"outbox/{message_id}/resolve", {"note": "门诊已手工登记发药"}, token=api.token(WRITE, username="ops")
    )
    assert answer.status_code == 204, answer.text
    message = _message(api, message_id)
    assert (message["status"], message["resolved_by"], message["resolution_note"]) == (
        "resolved",
        "ops",
        "门诊已手工登记发药",
    )
    assert message["resolved_at"] is not None
    (entry,) = _audit(api)
    assert entry["action"] == "resolve" and entry["after"]["resolution_note"] == "门诊已手工登记发药"
    (item,) = api.get("outbox", params={"status": "resolved"}, token=api.token(READ)).json()["items"]
    assert item["resolved_by"] == "ops"
    # Never sent again, and not to be revived here.
    api.client.portal.call(api.client.app.state.outbox.deliver_due)
    assert len(receiver.calls) == 1
    assert api.post(f"outbox/{message_id}/retry", token=api.token(WRITE)).status_code == 409
    assert api.post(f"outbox/{message_id}/resolve", {"note": "x"}, token=api.token(WRITE)).status_code == 409


def test_resolve_needs_a_note_and_a_refused_message(api: Api) -> None:
    message_id = _queue(api, next_attempt_at=utcnow() + timedelta(hours=1))
    missing = api.post(f"outbox/{message_id}/resolve", {"note": ""}, token=api.token(WRITE))
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["note"]
    # Pending: the relay may be sending it this moment; only a refused one is set aside.
    assert api.post(f"outbox/{message_id}/resolve", {"note": "x"}, token=api.token(WRITE)).status_code == 409
    assert api.post("outbox/999999/retry", token=api.token(WRITE)).status_code == 404
    assert _audit(api) == []


def test_without_the_permissions_nothing_is_shown_or_done(api: Api) -> None:
    message_id = _queue(api, status="rejected", last_error="409 {}")
    assert api.get("outbox", token=api.token("pms:dispensing:read")).status_code == 403
    assert api.post(f"outbox/{message_id}/retry", token=api.token(READ)).status_code == 403
    assert api.post(f"outbox/{message_id}/resolve", {"note": "x"}, token=api.token(READ)).status_code == 403
    assert _message(api, message_id)["status"] == "rejected"


def test_stuck_and_refused_messages_show_in_ready_and_metrics_without_failing_readiness(api: Api) -> None:
    later = utcnow() + timedelta(hours=1)  # out of the relay's way
    _queue(api, "fresh", next_attempt_at=later)
    ready = api.client.get("/health/ready").json()
    assert ready["checks"]["outbox"] == "UP" and "warnings" not in ready

    _queue(api, "stuck", created_at=utcnow() - timedelta(minutes=16), next_attempt_at=later)
    _queue(api, "refused", status="rejected", last_error="422 {}")
    answer = api.client.get("/health/ready")
    assert answer.status_code == 200 and answer.json()["status"] == "UP"
    assert answer.json()["checks"]["outbox"] == "WARN"
    assert answer.json()["warnings"]["outbox"] == {"pending": 2, "rejected": 1, "stuck": 1}

    metrics = api.client.get("/metrics").text
    assert 'hamp_outbox_stuck_messages{component="pms"} 1.0' in metrics
    assert 'hamp_outbox_messages{component="pms",status="pending"} 2.0' in metrics
    assert 'hamp_outbox_messages{component="pms",status="rejected"} 1.0' in metrics

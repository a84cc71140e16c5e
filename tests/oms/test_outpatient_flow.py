"""The outpatient desk through the real gateway: dbs, dms, oms (and pms when it is there) as real
servers sharing a real gateway's service tokens, on SQLite and on MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

import oms.main
from oms.settings import OmsSettings
from tests.oms.outpatient_desk import Desk, a_week_later, desk_on
from tests.pms.conftest import stock_up
from tests.security.conftest import ISOLATED, routes_of
from tests.support.outpatient_flow import Flow, registration_to_dispensed_drugs, wait_for


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on(
        request.param,
        Path(tmp_path_factory.mktemp("outpatient")),
        dms={"database_pool_size": 30},
        oms={"database_pool_size": 30},
    ) as desk:
        yield desk


def test_a_patient_goes_from_registration_to_dispensed_drugs(desk: Desk) -> None:
    def at(step: str, flow: Flow) -> None:
        if step == "examined":
            # pms is not running: the dispensing order waits in the outbox until it starts.
            outbox = "SELECT status FROM outbox WHERE `key` = :k"
            assert desk.scalar("oms", outbox, k=flow.dispensing_key) == "pending"
            desk.stack.start("pms")
            wait_for(lambda: desk.scalar("oms", outbox, k=flow.dispensing_key) == "delivered")

    clerk = {"Authorization": f"Bearer {desk.stack.token(['oms:visit:read'])}"}
    registration_to_dispensed_drugs(desk, clerk=clerk, at=at)


def test_fifty_concurrent_registrations_on_ten_places(desk: Desk) -> None:
    schedule = desk.schedule("D002", quota=10)
    patients = [desk.patient(f"并发{i}") for i in range(50)]
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda p: desk.register(p["id"], schedule["id"], None), patients))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 10 and codes.count(409) == 40, codes
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {r["code"] for r in refused} == {"slot_full"}
    assert all(r["detail"] for r in refused)
    assert desk.ok("GET", f"/api/dms/schedules/{schedule['id']}")["booked"] == 10
    assert desk.scalar("oms", "SELECT COUNT(*) FROM visits WHERE schedule_id = :s", s=schedule["id"]) == 10
    queue_numbers = sorted(a.json()["queue_no"] for a in answers if a.status_code == 201)
    assert queue_numbers == list(range(1, 11))


def test_the_same_registration_sent_twice_is_one_visit(desk: Desk) -> None:
    schedule = desk.schedule("D003", quota=3)
    patient = desk.patient("王五")
    key = uuid.uuid4().hex
    first = desk.register(patient["id"], schedule["id"], "cash", key=key)
    again = desk.register(patient["id"], schedule["id"], "cash", key=key)
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert desk.ok("GET", f"/api/dms/schedules/{schedule['id']}")["booked"] == 1
    assert desk.scalar("oms", "SELECT COUNT(*) FROM payments WHERE visit_id = :v", v=first.json()["id"]) == 1


def test_paying_twice_is_one_payment(desk: Desk) -> None:
    schedule = desk.schedule("D004", quota=3)
    visit = desk.register(desk.patient("赵六")["id"], schedule["id"], None).json()
    order = desk.ok(
        "POST",
        f"/api/oms/visits/{visit['id']}/prescriptions",
        201,
        json={"lines": [{"drug_id": desk.drug("YP0002")["id"], "quantity": 1}]},
    )
    key = uuid.uuid4().hex
    first, replay = desk.pay(visit["id"], order["id"], key=key), desk.pay(visit["id"], order["id"], key=key)
    # A repeat answers as the first time did, marked as a repeat (shared/idempotency.py `answered`).
    assert (first.status_code, replay.status_code) == (201, 201) and first.json() == replay.json()
    assert "idempotent-replayed" not in first.headers and replay.headers["idempotent-replayed"] == "true"
    with ThreadPoolExecutor(8) as pool:
        others = list(pool.map(lambda _: desk.pay(visit["id"], order["id"]), range(8)))
    assert {a.status_code for a in others} == {409}
    assert {a.json()["code"] for a in others} == {"already_paid"}
    assert desk.scalar("oms", "SELECT COUNT(*) FROM payments WHERE order_id = :o", o=order["id"]) == 1
    # The registration fee, paid concurrently with several keys, is also paid once.
    with ThreadPoolExecutor(6) as pool:
        fees = list(pool.map(lambda _: desk.pay(visit["id"], None), range(6)))
    assert sorted(a.status_code for a in fees) == [201] + [409] * 5
    assert (
        desk.scalar("oms", "SELECT COUNT(*) FROM payments WHERE visit_id = :v AND kind = 'registration'", v=visit["id"])
        == 1
    )


def test_bad_prescriptions_are_refused_and_write_nothing(desk: Desk) -> None:
    schedule = desk.schedule("D005", quota=3)
    visit = desk.register(desk.patient("钱七")["id"], schedule["id"]).json()
    drug = desk.drug("YP0003")
    orders_before = desk.scalar("oms", "SELECT COUNT(*) FROM orders")
    lines_before = desk.scalar("oms", "SELECT COUNT(*) FROM order_lines")
    cases = [
        ({"drug_id": drug["id"], "quantity": 0}, "lines.0.quantity"),
        ({"drug_id": drug["id"], "quantity": -3}, "lines.0.quantity"),
        ({"drug_id": drug["id"], "quantity": 1.5}, "lines.0.quantity"),
        ({"drug_id": 999999, "quantity": 1}, "lines.0.drug_id"),
    ]
    for line, field in cases:
        answer = desk.call("POST", f"/api/oms/visits/{visit['id']}/prescriptions", json={"lines": [line]})
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in problem["errors"]], problem
    empty = desk.call("POST", f"/api/oms/visits/{visit['id']}/prescriptions", json={"lines": []})
    assert empty.status_code == 422
    assert desk.scalar("oms", "SELECT COUNT(*) FROM orders") == orders_before
    assert desk.scalar("oms", "SELECT COUNT(*) FROM order_lines") == lines_before


def test_a_full_or_future_slot_registers_nobody(desk: Desk) -> None:
    full = desk.schedule("D006", quota=1)
    assert desk.register(desk.patient("甲")["id"], full["id"]).status_code == 201
    visits_before = desk.scalar("oms", "SELECT COUNT(*) FROM visits")
    refused = desk.register(desk.patient("乙")["id"], full["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "slot_full"
    later = desk.schedule("D006", quota=5, day=a_week_later())
    not_today = desk.register(desk.patient("丙")["id"], later["id"])
    assert not_today.status_code == 422 and not_today.json()["code"] == "not_today"
    assert desk.scalar("oms", "SELECT COUNT(*) FROM visits") == visits_before
    assert desk.ok("GET", f"/api/dms/schedules/{later['id']}")["booked"] == 0


def test_cancelling_and_refunding_reverse_without_rewriting(desk: Desk) -> None:
    schedule = desk.schedule("D007", quota=2)
    unpaid = desk.register(desk.patient("退号")["id"], schedule["id"], None).json()
    desk.ok("POST", f"/api/oms/visits/{unpaid['id']}/cancel", json={"reason": "患者离开"})
    # The place comes back through the outbox.
    wait_for(lambda: desk.ok("GET", f"/api/dms/schedules/{schedule['id']}")["booked"] == 0)

    paid = desk.register(desk.patient("退费")["id"], schedule["id"], "cash").json()
    cancel = desk.call("POST", f"/api/oms/visits/{paid['id']}/cancel", json={"reason": "x"})
    assert cancel.status_code == 409 and cancel.json()["code"] == "refund_required"
    fee_payment = desk.ok("GET", "/api/oms/payments", params={"visit_id": paid["id"]})["items"][0]
    refund = desk.ok("POST", "/api/oms/refunds", 201, json={"payment_id": fee_payment["id"], "reason": "临时有事"})
    assert refund["kind"] == "refund" and refund["amount"] == f"-{fee_payment['amount']}"
    assert refund["refund_of"] == fee_payment["id"]
    # The paid record is untouched; the visit is cancelled and its place freed.
    assert desk.ok("GET", f"/api/oms/payments/{fee_payment['id']}") == fee_payment
    assert desk.ok("GET", f"/api/oms/visits/{paid['id']}")["visit"]["state"] == "cancelled"
    wait_for(lambda: desk.ok("GET", f"/api/dms/schedules/{schedule['id']}")["booked"] == 0)
    again = desk.call("POST", "/api/oms/refunds", json={"payment_id": fee_payment["id"], "reason": "再退"})
    assert again.status_code == 409


def test_a_repeated_refund_or_dispensing_report_answers_the_first_answer(desk: Desk) -> None:
    schedule = desk.schedule("D012", quota=3)
    visit = desk.register(desk.patient("重发")["id"], schedule["id"], "cash").json()
    fee = desk.ok("GET", "/api/oms/payments", params={"visit_id": visit["id"]})["items"][0]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"payment_id": fee["id"], "reason": "重复提交"}
    first, replay = (desk.call("POST", "/api/oms/refunds", json=body, headers=key) for _ in range(2))
    assert (first.status_code, replay.status_code) == (201, 201) and first.json() == replay.json()
    assert "idempotent-replayed" not in first.headers and replay.headers["idempotent-replayed"] == "true"
    assert len(desk.ok("GET", "/api/oms/payments", params={"visit_id": visit["id"], "kind": "refund"})["items"]) == 1

    other = desk.register(desk.patient("重报")["id"], schedule["id"], "cash").json()
    lines = [{"drug_id": desk.drug("YP0001")["id"], "quantity": 1}]
    order = desk.ok("POST", f"/api/oms/visits/{other['id']}/prescriptions", 201, json={"lines": lines})
    assert desk.pay(other["id"], order["id"]).status_code == 201
    path, key = f"/api/oms/orders/{order['id']}/dispensed", {"Idempotency-Key": uuid.uuid4().hex}
    first, replay = (desk.call("POST", path, json={}, headers=key) for _ in range(2))
    assert (first.status_code, replay.status_code) == (200, 200) and first.json() == replay.json()
    assert first.json()["state"] == "dispensed"
    assert "idempotent-replayed" not in first.headers and replay.headers["idempotent-replayed"] == "true"


def test_refunds_need_their_own_permission(desk: Desk) -> None:
    clerk = {"Authorization": f"Bearer {desk.stack.token(['oms:payment:write', 'oms:payment:read'])}"}
    answer = desk.call("POST", "/api/oms/refunds", json={"payment_id": 1, "reason": "x"}, headers=clerk)
    assert answer.status_code == 403


def test_an_unpaid_order_is_cancelled_a_paid_one_refunded(desk: Desk) -> None:
    schedule = desk.schedule("D008", quota=2)
    visit = desk.register(desk.patient("孙八")["id"], schedule["id"]).json()
    drug = desk.drug("YP0004")
    unpaid = desk.ok("POST", f"/api/oms/visits/{visit['id']}/prescriptions", 201,
                     json={"lines": [{"drug_id": drug["id"], "quantity": 1}]})  # fmt: skip
    cancelled = desk.ok("POST", f"/api/oms/orders/{unpaid['id']}/cancel")
    assert cancelled["state"] == "cancelled" and {line["state"] for line in cancelled["lines"]} == {"cancelled"}
    assert desk.pay(visit["id"], unpaid["id"]).json()["code"] == "not_payable"

    paid = desk.ok("POST", f"/api/oms/visits/{visit['id']}/prescriptions", 201,
                   json={"lines": [{"drug_id": drug["id"], "quantity": 2}, {"drug_id": desk.drug("YP0005")["id"],
                                                                              "quantity": 1}]})  # fmt: skip
    payment = desk.pay(visit["id"], paid["id"]).json()
    assert desk.call("POST", f"/api/oms/orders/{paid['id']}/cancel").json()["code"] == "refund_required"
    first_line = paid["lines"][0]["id"]
    if "pms" not in desk.stack.apps:
        desk.stack.start("pms")  # a drug refund is claimed at the pharmacy first (docs/pharmacy.md)
    refund = desk.ok("POST", "/api/oms/refunds", 201,
                     json={"payment_id": payment["id"], "line_ids": [first_line], "reason": "开错药"})  # fmt: skip
    assert refund["amount"] == f"-{paid['lines'][0]['amount']}" and refund["refunded_line_ids"] == [first_line]
    twice = desk.call("POST", "/api/oms/refunds", json={"payment_id": payment["id"], "line_ids": [first_line],
                                                          "reason": "再退"})  # fmt: skip
    assert twice.status_code == 409 and twice.json()["code"] == "not_refundable"
    after = desk.ok("GET", f"/api/oms/orders/{paid['id']}")
    assert [line["state"] for line in after["lines"]] == ["refunded", "paid"] and after["state"] == "paid"
    assert after["total"] == paid["total"]  # the paid record keeps its figures; the refund reverses them
    receipt = desk.call("GET", f"/api/oms/payments/{refund['id']}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")

    # The pharmacy does not hand out the refunded line; the rest is dispensed and reported back.
    def at_pharmacy() -> list[dict]:
        return [o for o in desk.ok("GET", "/api/pms/dispensing-orders")["items"] if o["order_id"] == paid["id"]]

    wait_for(lambda: bool(at_pharmacy()) and any(line["cancelled"] for line in at_pharmacy()[0]["lines"]))
    (dispensing,) = at_pharmacy()
    assert [line["cancelled"] for line in dispensing["lines"]] == [True, False]
    handed = desk.drug("YP0005")
    stock_up(desk.http, handed["id"], 1, code=handed["code"], name=handed["name"])
    desk.ok("POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    wait_for(lambda: desk.ok("GET", f"/api/oms/orders/{paid['id']}")["state"] == "dispensed")
    lines = desk.ok("GET", f"/api/oms/orders/{paid['id']}")["lines"]
    assert [line["state"] for line in lines] == ["refunded", "dispensed"]
    late = desk.call("POST", "/api/oms/refunds", json={"payment_id": payment["id"], "reason": "发药后"})
    assert late.status_code == 409 and late.json()["code"] == "not_refundable"


def test_a_clerk_registers_only_in_their_departments(desk: Desk) -> None:
    schedule = desk.schedule("D011", quota=2)
    patient = desk.patient("范围")
    elsewhere = schedule["department_id"] + 1000
    clerk = {"Authorization": f"Bearer {desk.stack.token(['oms:visit:write', 'oms:visit:read'], dept=[elsewhere])}"}
    body = {"patient_id": patient["id"], "schedule_id": schedule["id"]}
    refused = desk.call("POST", "/api/oms/visits", json=body, headers=clerk)
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    assert desk.ok("GET", f"/api/dms/schedules/{schedule['id']}")["booked"] == 0
    offered = desk.ok("GET", "/api/oms/registration/departments", headers=clerk)
    assert schedule["department_id"] not in [d["id"] for d in offered]


def test_every_oms_write_of_this_module_left_its_audit_row(desk: Desk) -> None:
    """Runs last in this module: every write route the desk used above wrote an audit row with
    the caller and the request id (patients' own writes are covered in test_patients.py)."""
    writes = {str(r) for r in routes_of(oms.main.create_app(OmsSettings(**ISOLATED)).openapi()) if r.method != "GET"}
    writes -= {w for w in writes if w.startswith(("PUT /api/oms/patients", "DELETE /api/oms/patients"))}
    writes -= {"POST /api/oms/patients/{patient_id}/disable", "POST /api/oms/patients/{patient_id}/enable"}
    # The 消息队列 routes are shared/outbox_admin.py's, walked in tests/security/pms_scenarios.py.
    writes -= {"POST /api/oms/outbox/{message_id}/retry", "POST /api/oms/outbox/{message_id}/resolve"}
    # The inpatient service's admission, audited in test_registration_rules.py.
    writes -= {"POST /api/oms/admission-requests/{request_id}/admit"}
    # Closing a cashier's period, audited in test_cashier_day.py.
    writes -= {"POST /api/oms/cashier-settlements"}
    # The pharmacy's notice of a refund claim, audited in test_never_both.py (it needs a crash).
    writes -= {"POST /api/oms/refunds/claimed"}
    with desk.engines["oms"].connect() as conn:
        rows = conn.execute(text("SELECT route, actor, request_id FROM audit_log")).all()
    seen = {_template(route, writes) for route, _, _ in rows}
    assert writes - seen == set()
    assert all(actor and request_id for _, actor, request_id in rows)


def _template(route: str, templates: set[str]) -> str:
    method, path = route.split(" ", 1)
    for template in templates:
        t_method, t_path = template.split(" ", 1)
        parts, t_parts = path.split("/"), t_path.split("/")
        if t_method == method and len(parts) == len(t_parts):
            if all(t.startswith("{") or t == p for t, p in zip(t_parts, parts, strict=True)):
                return template
    return route

"""Registration rules at the desk, through the real gateway on SQLite and MariaDB (issue 9): one
active registration per patient, doctor and shift (even two at once); no registration for a shift
that has ended (the doctor's hours in dbs); 接诊 only with the fee paid; 转住院 a pending admission
that the inpatient service takes up once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from oms.visits.service import shift_end, shift_over
from tests.oms.outpatient_desk import HOSPITAL_TZ, Desk, desk_on


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with desk_on(
        request.param,
        Path(tmp_path_factory.mktemp("registration-rules")),
        # dms reads doctors' hours afresh: these tests end a shift in dbs and register at once.
        dms={"database_pool_size": 30, "masterdata_ttl_seconds": 0},
        oms={"database_pool_size": 30},
    ) as desk:
        yield desk


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def booked(desk: Desk, schedule_id: int) -> int:
    return desk.ok("GET", f"/api/dms/schedules/{schedule_id}")["booked"]


def at_once(count: int, call: Any) -> list[Any]:
    """`count` calls of `call`, let go together."""
    barrier = threading.Barrier(count)

    def one() -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code, body
    return body


# --- one active registration per patient, doctor, date and shift -------------------------------


def test_a_second_registration_with_the_same_doctor_and_shift_is_refused(desk: Desk) -> None:
    morning = desk.schedule("D002", quota=10)
    afternoon = desk.schedule("D002", quota=10, shift="afternoon")
    patient = desk.patient("重复挂号")
    first = desk.register(patient["id"], morning["id"])
    assert first.status_code == 201, first.text
    number = first.json()["number"]

    again = problem(desk.register(patient["id"], morning["id"]), 409, "already_registered")
    # The clerk is told which visit already holds the registration.
    assert number in again["detail"] and "重复挂号" in again["detail"]
    assert booked(desk, morning["id"]) == 1  # refused before a place was booked
    # The same doctor's other shift, and another patient in this one, are no duplicates.
    assert desk.register(patient["id"], afternoon["id"]).status_code == 201
    assert desk.register(desk.patient("另一位")["id"], morning["id"]).status_code == 201


def test_the_same_request_again_is_answered_as_the_first_time(desk: Desk) -> None:
    schedule = desk.schedule("D004", quota=10)
    patient = desk.patient("重试")
    first = desk.register(patient["id"], schedule["id"], key="retry-once")
    assert first.status_code == 201, first.text
    replay = desk.register(patient["id"], schedule["id"], key="retry-once")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert booked(desk, schedule["id"]) == 1


@pytest.mark.parametrize("gives_up", ["cancel", "no_show"])
def test_a_registration_given_up_lets_the_patient_register_again(desk: Desk, gives_up: str) -> None:
    schedule = desk.schedule("D005" if gives_up == "cancel" else "D006", quota=10)
    patient = desk.patient(f"放弃{gives_up}")
    visit = desk.register(patient["id"], schedule["id"], method=None).json()
    if gives_up == "cancel":
        desk.ok("POST", f"/api/oms/visits/{visit['id']}/cancel", json={"reason": "患者改约"})
    else:
        desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "no_show"})
    again = desk.register(patient["id"], schedule["id"])
    assert again.status_code == 201, again.text
    # A visit that is over but was seen still holds its registration: paid, called in, then again.
    desk.ok("POST", f"/api/oms/visits/{again.json()['id']}/state", json={"to": "in_consultation"})
    problem(desk.register(patient["id"], schedule["id"]), 409, "already_registered")


def test_two_registrations_at_once_one_wins_and_no_place_stays_booked(desk: Desk) -> None:
    """Both requests pass the first look (nothing registered yet) and book a place at dms; the
    unique key refuses the second visit and its place is released through the outbox."""
    schedule = desk.schedule("D007", quota=50)
    raced = 0
    for round_no in range(4):
        patient = desk.patient(f"并发{round_no}")
        answers = at_once(2, lambda patient_id=patient["id"]: desk.register(patient_id, schedule["id"]))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        winner = next(a for a in answers if a.status_code == 201)
        assert loser.json()["code"] == "already_registered", loser.text
        assert winner.json()["number"] in loser.json()["detail"]
        count = desk.scalar("oms", "SELECT COUNT(*) FROM visits WHERE patient_id = :p", p=patient["id"])
        assert count == 1
        bookings = desk.ok("GET", "/api/dms/bookings", params={"schedule_id": schedule["id"], "size": 200})["items"]
        raced += sum(1 for b in bookings if b["status"] == "released")
    # Every place but the winners' is free again (released through the outbox).
    wait_for(lambda: booked(desk, schedule["id"]) == 4)
    assert raced >= 1, "no round raced past the first look; the unique key was not exercised"


# --- a shift that has ended takes no registrations ---------------------------------------------


def test_a_shift_that_has_ended_is_not_offered_and_cannot_be_registered(desk: Desk) -> None:
    morning = desk.schedule("D003", quota=5)
    afternoon = desk.schedule("D003", quota=5, shift="afternoon")
    # The morning ended at 00:01 (a test running in the day's first minute would see it open).
    desk.set_hours(desk.doctor("D003"), am_start="00:00", am_end="00:01", pm_start="00:01", pm_end="23:59")

    offered = desk.ok("GET", "/api/oms/registration/doctors", params={"department_id": morning["department_id"]})
    assert morning["id"] not in [d["schedule_id"] for d in offered]
    assert afternoon["id"] in [d["schedule_id"] for d in offered]

    patient = desk.patient("迟到")
    refused = problem(desk.register(patient["id"], morning["id"]), 409, "shift_over")
    assert "00:01" in refused["detail"] and "上午" in refused["detail"]
    assert booked(desk, morning["id"]) == 0
    assert desk.register(patient["id"], afternoon["id"]).status_code == 201


def test_the_end_of_a_shift_is_the_doctors_hour_at_the_hospital() -> None:
    hours = {"am_start": "08:00", "am_end": "12:00", "pm_start": "14:00", "pm_end": "18:00"}
    day = date(2026, 11, 23)
    # 12:00 in Shanghai is 04:00 UTC.
    assert shift_end(day, "morning", hours, HOSPITAL_TZ) == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)

    def at(hour: int, minute: int) -> Any:
        return lambda: datetime(2026, 11, 23, hour, minute, tzinfo=UTC)

    assert not shift_over(day, "morning", hours, HOSPITAL_TZ, at(3, 59))
    assert shift_over(day, "morning", hours, HOSPITAL_TZ, at(4, 0))
    assert not shift_over(day, "afternoon", hours, HOSPITAL_TZ, at(9, 59))
    assert shift_over(day, "afternoon", hours, HOSPITAL_TZ, at(10, 0))
    # The server's own zone plays no part: 23:00 UTC on the 22nd is already the 23rd's morning.
    assert not shift_over(day, "morning", hours, HOSPITAL_TZ, lambda: datetime(2026, 11, 22, 23, 0, tzinfo=UTC))


# --- 接诊 only with the fee paid ---------------------------------------------------------------


def test_calling_in_with_the_fee_unpaid_is_refused_until_it_is_paid(desk: Desk) -> None:
    schedule = desk.schedule("D008", quota=5)
    visit = desk.register(desk.patient("未缴费")["id"], schedule["id"], method=None).json()
    assert visit["fee_paid"] is False
    refused = problem(
        desk.call("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"}), 409, "fee_unpaid"
    )
    assert "请先收取挂号费" in refused["detail"]
    assert desk.ok("GET", f"/api/oms/visits/{visit['id']}")["visit"]["state"] == "registered"

    paid = desk.pay(visit["id"], None)
    assert paid.status_code == 201, paid.text
    called = desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    assert called["state"] == "in_consultation"


# --- 转住院 is a pending admission -------------------------------------------------------------


def test_a_transfer_is_a_pending_admission_that_is_admitted_once(desk: Desk) -> None:
    schedule = desk.schedule("D009", quota=5)
    patient = desk.patient("转住院", phone="13812345678")
    visit = desk.register(patient["id"], schedule["id"]).json()
    desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    audit_before = desk.scalar("oms", "SELECT COUNT(*) FROM audit_log WHERE entity = 'admission'")

    moved = desk.ok(
        "POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "transferred", "reason": "社区获得性肺炎"}
    )
    # The answer says the admission is pending, not that it happened.
    assert moved["state"] == "transferred"
    admission = moved["admission"]
    assert admission["state"] == "pending" and admission["admission_number"] is None
    assert (admission["visit_id"], admission["visit_number"], admission["note"]) == (
        visit["id"],
        visit["number"],
        "社区获得性肺炎",
    )
    assert (admission["patient_id"], admission["doctor_id"]) == (patient["id"], schedule["doctor_id"])
    assert desk.ok("GET", f"/api/oms/visits/{visit['id']}")["admission"]["id"] == admission["id"]

    clerk = {"Authorization": f"Bearer {desk.stack.token(['oms:visit:read'])}"}
    pending = desk.ok("GET", "/api/oms/admission-requests", params={"state": "pending"}, headers=clerk)
    assert admission["id"] in [r["id"] for r in pending["items"]] and pending["total"] >= 1
    # A desk clerk cannot admit; the inpatient service (oms:admission:write) can, once.
    path = f"/api/oms/admission-requests/{admission['id']}/admit"
    assert desk.call("POST", path, json={"admission_number": "ZY001"}, headers=clerk).status_code == 403
    inpatient = {"Authorization": f"Bearer {desk.stack.token(['oms:admission:write'])}"}
    admitted = desk.ok("POST", path, json={"admission_number": " ZY20261128-001 "}, headers=inpatient)
    assert admitted["state"] == "admitted" and admitted["admission_number"] == "ZY20261128-001"
    assert admitted["admitted_at"] is not None
    again = problem(desk.call("POST", path, json={"admission_number": "ZY2"}, headers=inpatient), 409, "not_pending")
    assert "ZY20261128-001" in again["detail"]
    problem(desk.call("POST", path, json={"admission_number": ""}, headers=inpatient), 422, "validation_failed")

    admitted_list = desk.ok("GET", "/api/oms/admission-requests", params={"state": "admitted"})["items"]
    assert admission["id"] in [r["id"] for r in admitted_list]
    assert admission["id"] not in [
        r["id"] for r in desk.ok("GET", "/api/oms/admission-requests", params={"state": "pending"})["items"]
    ]
    # The request and its admission are in the audit trail.
    audit_after = desk.scalar("oms", "SELECT COUNT(*) FROM audit_log WHERE entity = 'admission'")
    assert audit_after - audit_before == 2


def test_admissions_of_another_department_are_neither_listed_nor_admitted(desk: Desk) -> None:
    schedule = desk.schedule("D010", quota=5)
    visit = desk.register(desk.patient("别科转住院")["id"], schedule["id"]).json()
    desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    moved = desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "transferred", "reason": "观察"})
    admission = moved["admission"]
    permissions = ["oms:visit:read", "oms:admission:write"]
    elsewhere = desk.stack.bearer(permissions, dept=[schedule["department_id"] + 1000])
    mine = desk.stack.bearer(permissions, dept=[schedule["department_id"]])

    def listed(headers: dict[str, str]) -> list[int]:
        found = desk.ok("GET", "/api/oms/admission-requests", params={"state": "pending", "size": 200}, headers=headers)
        return [r["id"] for r in found["items"]]

    assert admission["id"] not in listed(elsewhere) and admission["id"] in listed(mine)
    path = f"/api/oms/admission-requests/{admission['id']}/admit"
    problem(desk.call("POST", path, json={"admission_number": "ZY-ELSEWHERE"}, headers=elsewhere), 403, "out_of_scope")
    assert desk.ok("GET", f"/api/oms/visits/{visit['id']}")["admission"]["state"] == "pending"
    admitted = desk.ok("POST", path, json={"admission_number": "ZY-MINE"}, headers=mine)
    assert admitted["state"] == "admitted"


def test_the_admission_permission_is_in_the_role_tree(desk: Desk) -> None:
    tree = desk.ok("GET", "/api/system/permissions")
    oms_module = next(m for m in tree if m["module"] == "oms")
    resource = next(r for r in oms_module["resources"] if r["key"] == "oms:admission")
    assert resource["name"]["zh"] == "入院办理"
    assert [p["key"] for p in resource["permissions"]] == ["oms:admission:write"]

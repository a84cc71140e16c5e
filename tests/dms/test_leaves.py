"""Leave closes the doctor's schedules in its range and names the bookings to call; cancel reopens."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.dms.conftest import Dms


def test_leave_closes_its_range_and_lists_affected_bookings(dms: Dms) -> None:
    monday = dms.fresh_monday()
    tue, wed, thu = (monday + dt.timedelta(days=n) for n in (1, 2, 3))
    before = dms.schedule(doctor_id=11, day=tue, shift="morning")  # before the start (afternoon)
    first = dms.schedule(doctor_id=11, day=tue, shift="afternoon")
    middle = dms.schedule(doctor_id=11, day=wed, shift="afternoon")
    last_in = dms.schedule(doctor_id=11, day=thu, shift="morning")
    after = dms.schedule(doctor_id=11, day=thu, shift="afternoon")  # after the end (morning)
    other_doctor = dms.schedule(doctor_id=10, day=wed)
    key = f"leave-{uuid.uuid4().hex[:8]}"
    assert dms.book(middle["id"], key, visit_number="MZ1").status_code == 201
    audit_from = dms.last_audit_id()

    body = {
        "doctor_id": 11,
        "start_date": str(tue),
        "start_shift": "afternoon",
        "end_date": str(thu),
        "end_shift": "morning",
        "reason": "外出进修",
    }
    answer = dms.post("leaves", body)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    leave = result["leave"]
    assert (leave["doctor_name"], leave["status"], leave["closed_schedules"]) == ("孙丽", "active", 3)
    assert [s["id"] for s in result["closed"]] == [first["id"], middle["id"], last_in["id"]]
    assert {s["status"] for s in result["closed"]} == {"closed"}
    assert {s["leave_id"] for s in result["closed"]} == {leave["id"]}
    (affected,) = result["affected_bookings"]
    assert (affected["key"], affected["date"], affected["shift"], affected["status"]) == (
        key,
        str(wed),
        "afternoon",
        "booked",
    )
    for untouched in (before, after, other_doctor):
        assert dms.get(f"schedules/{untouched['id']}").json()["status"] == "open"
    # The booking stays (the patient must be called); no new one lands on a closed shift.
    assert dms.get(f"schedules/{middle['id']}").json()["booked"] == 1
    closed = dms.book(middle["id"], f"late-{uuid.uuid4().hex[:8]}")
    assert closed.status_code == 409 and closed.json()["code"] == "slot_closed"
    assert dms.get("leaves/" + str(leave["id"])).json() == result
    assert dms.get("available", params={"date": str(wed)}).json()["items"] == [
        dms.get(f"schedules/{other_doctor['id']}").json()
    ]
    (row,) = dms.audit_rows(audit_from)
    assert (row["action"], row["entity"], row["after"]["closed_schedules"]) == ("create", "leave", 3)

    # A schedule added inside an active leave starts closed.
    late = dms.schedule(doctor_id=11, day=wed, shift="morning")
    assert (late["status"], late["leave_id"]) == ("closed", leave["id"])

    overlap = dms.post("leaves", {**body, "start_date": str(wed), "end_date": str(wed), "end_shift": "afternoon"})
    assert overlap.status_code == 409 and overlap.json()["code"] == "leave_overlaps"

    listed = dms.get("leaves", params={"doctor_id": 11, "status": "active"}).json()
    assert [item["id"] for item in listed["items"]] == [leave["id"]]

    audit_from = dms.last_audit_id()
    cancelled = dms.post(f"leaves/{leave['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["leave"]["status"] == "cancelled"
    for reopened in (first, middle, last_in, late):
        now = dms.get(f"schedules/{reopened['id']}").json()
        assert (now["status"], now["leave_id"]) == ("open", None)
    assert dms.book(middle["id"], f"back-{uuid.uuid4().hex[:8]}").status_code == 201
    assert dms.post(f"leaves/{leave['id']}/cancel").status_code == 200  # again: unchanged
    assert [r["action"] for r in dms.audit_rows(audit_from) if r["entity"] == "leave"] == ["cancel"]


def test_leave_input_is_checked(dms: Dms) -> None:
    day = dms.fresh_day()
    base = {"doctor_id": 12, "start_date": str(day), "start_shift": "afternoon", "reason": "病假"}
    last = dms.last_audit_id()
    backwards = dms.post("leaves", {**base, "end_date": str(day), "end_shift": "morning"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "end_date"
    unknown = dms.post("leaves", {**base, "doctor_id": 99999, "end_date": str(day), "end_shift": "afternoon"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "doctor_id"
    no_reason = dms.post("leaves", {**base, "reason": "", "end_date": str(day), "end_shift": "afternoon"})
    assert no_reason.status_code == 422
    assert dms.audit_rows(last) == []
    assert dms.get("leaves/999999").status_code == 404
    assert dms.post("leaves/999999/cancel").status_code == 404


def test_visit_records_count_open_shifts_and_live_bookings(dms: Dms) -> None:
    monday = dms.fresh_monday()
    day = monday + dt.timedelta(days=2)
    morning = dms.schedule(doctor_id=12, day=day, shift="morning", quota=4)
    afternoon = dms.schedule(doctor_id=12, day=day, shift="afternoon", quota=6)
    next_day = dms.schedule(doctor_id=12, day=day + dt.timedelta(days=1), quota=5)
    keys = [f"vr-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for key, schedule in zip(keys, (morning, morning, afternoon, next_day), strict=True):
        assert dms.book(schedule["id"], key).status_code == 201
    assert dms.post(f"bookings/{keys[1]}/release").status_code == 200
    leave = {
        "doctor_id": 12,
        "start_date": str(next_day["date"]),
        "start_shift": "morning",
        "end_date": str(next_day["date"]),
        "end_shift": "afternoon",
        "reason": "会议",
    }
    assert dms.post("leaves", leave).status_code == 201  # a shift on leave was not sat
    answer = dms.get(
        "visit-records",
        params={"date_from": str(monday), "date_to": str(monday + dt.timedelta(days=6)), "doctor_id": 12},
    )
    assert answer.status_code == 200, answer.text
    (record,) = answer.json()["items"]
    assert record == {
        "date": str(day),
        "doctor_id": 12,
        "doctor_name": "郑海",
        "department_id": 1,
        "department_name": "内科",
        "shifts": ["morning", "afternoon"],
        "quota": 10,
        "booked": 2,
    }
    by_department = dms.get(
        "visit-records", params={"date_from": str(day), "date_to": str(day), "department_id": 2}
    ).json()
    assert by_department["items"] == []

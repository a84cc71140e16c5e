"""The roster: schedules checked against dbs, one per doctor/date/shift, quota rules, copy-week."""

from __future__ import annotations

import datetime as dt

from tests.dms.conftest import Dms


def test_create_freezes_master_data_and_audits(dms: Dms) -> None:
    last = dms.last_audit_id()
    day = dms.fresh_day()
    created = dms.schedule(doctor_id=1, day=day, shift="afternoon", registration_type_id=2, quota=15)
    assert created["doctor_name"] == "王建国"
    assert created["department_id"] == 1 and created["department_name"] == "内科"
    assert created["registration_type_name"] == "专家号"
    assert (created["quota"], created["booked"], created["free"], created["status"]) == (15, 0, 15, "open")
    assert created["date"] == str(day) and created["leave_id"] is None
    assert dms.get(f"schedules/{created['id']}").json() == created
    (row,) = dms.audit_rows(last)
    assert (row["action"], row["entity"], row["entity_id"]) == ("create", "schedule", str(created["id"]))
    assert row["after"]["quota"] == 15 and row["before"] is None


def test_bad_input_is_422_naming_the_field_and_writes_nothing(dms: Dms) -> None:
    last = dms.last_audit_id()
    day = str(dms.fresh_day())
    base = {"doctor_id": 1, "date": day, "shift": "morning", "registration_type_id": 1, "quota": 10}
    cases = {
        "doctor_id": {**base, "doctor_id": 99999},
        "registration_type_id": {**base, "registration_type_id": 99999},
        "quota": {**base, "quota": 0},
        "shift": {**base, "shift": "night"},
        "date": {**base, "date": str(dms.today - dt.timedelta(days=1))},
    }
    for field, body in cases.items():
        answer = dms.post("schedules", body)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in answer.json()["errors"]], answer.json()
    assert dms.post("schedules", {**base, "quota": 501}).status_code == 422
    assert dms.audit_rows(last) == []
    assert dms.get("schedules", params={"date_from": day, "date_to": day}).json()["items"] == []


def test_one_schedule_per_doctor_date_and_shift(dms: Dms) -> None:
    day = dms.fresh_day()
    dms.schedule(doctor_id=2, day=day)
    again = dms.post(
        "schedules", {"doctor_id": 2, "date": str(day), "shift": "morning", "registration_type_id": 1, "quota": 5}
    )
    assert again.status_code == 409 and again.json()["code"] == "schedule_exists"
    dms.schedule(doctor_id=2, day=day, shift="afternoon")  # the other shift is free


def test_update_and_quota_below_booked(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=3, quota=5)
    for n in range(3):
        assert dms.book(schedule["id"], f"upd-{schedule['id']}-{n}").status_code == 201
    last = dms.last_audit_id()
    below = dms.put(f"schedules/{schedule['id']}", {"registration_type_id": 1, "quota": 2})
    assert below.status_code == 409 and below.json()["code"] == "quota_below_booked"
    assert dms.audit_rows(last) == []
    changed = dms.put(f"schedules/{schedule['id']}", {"registration_type_id": 2, "quota": 3})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["quota"], changed.json()["free"], changed.json()["registration_type_name"]) == (
        3,
        0,
        "专家号",
    )
    (row,) = dms.audit_rows(last)
    assert (row["action"], row["before"]["quota"], row["after"]["quota"]) == ("update", 5, 3)
    unknown_type = dms.put(f"schedules/{schedule['id']}", {"registration_type_id": 99999, "quota": 3})
    assert unknown_type.status_code == 422
    assert dms.put("schedules/999999", {"registration_type_id": 1, "quota": 3}).status_code == 404


def test_delete_only_without_bookings(dms: Dms) -> None:
    empty = dms.schedule(doctor_id=4)
    last = dms.last_audit_id()
    assert dms.delete(f"schedules/{empty['id']}").status_code == 204
    assert dms.get(f"schedules/{empty['id']}").status_code == 404
    (row,) = dms.audit_rows(last)
    assert (row["action"], row["after"], row["before"]["id"]) == ("delete", None, empty["id"])

    taken = dms.schedule(doctor_id=4)
    assert dms.book(taken["id"], f"del-{taken['id']}").status_code == 201
    refused = dms.delete(f"schedules/{taken['id']}")
    assert refused.status_code == 409 and refused.json()["code"] == "schedule_has_bookings"
    # A released booking is history: the schedule still stays.
    assert dms.post(f"bookings/del-{taken['id']}/release").status_code == 200
    assert dms.delete(f"schedules/{taken['id']}").json()["code"] == "schedule_has_bookings"


def test_roster_of_a_week_in_day_order(dms: Dms) -> None:
    monday = dms.fresh_monday()
    made = [
        dms.schedule(doctor_id=5, day=monday + dt.timedelta(days=1), shift="afternoon"),
        dms.schedule(doctor_id=5, day=monday + dt.timedelta(days=1), shift="morning"),
        dms.schedule(doctor_id=8, day=monday),
        dms.schedule(doctor_id=8, day=monday + dt.timedelta(days=7)),  # the week after
    ]
    week = {"date_from": str(monday), "date_to": str(monday + dt.timedelta(days=6))}
    items = dms.get("schedules", params=week).json()["items"]
    assert [s["id"] for s in items] == [made[2]["id"], made[1]["id"], made[0]["id"]]
    by_department = dms.get("schedules", params={**week, "department_id": 5}).json()["items"]  # 眼科: D008
    assert [s["id"] for s in by_department] == [made[2]["id"]]
    by_doctor = dms.get("schedules", params={**week, "doctor_id": 5}).json()["items"]
    assert len(by_doctor) == 2
    assert dms.get("schedules", params={**week, "status": "closed"}).json()["items"] == []
    backwards = dms.get("schedules", params={"date_from": week["date_to"], "date_to": week["date_from"]})
    assert backwards.status_code == 422


def test_copy_week(dms: Dms) -> None:
    source = dms.fresh_monday()
    target = source + dt.timedelta(weeks=1)
    dms.schedule(doctor_id=6, day=source, quota=7)
    dms.schedule(doctor_id=6, day=source + dt.timedelta(days=2), shift="afternoon")
    dms.schedule(doctor_id=7, day=source + dt.timedelta(days=4))
    dms.schedule(doctor_id=7, day=target + dt.timedelta(days=4))  # already there: skipped
    last = dms.last_audit_id()
    answer = dms.post("schedules/copy-week", {"from_monday": str(source), "to_monday": str(target)})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 2, "skipped": 1}
    copied = dms.get(
        "schedules", params={"date_from": str(target), "date_to": str(target + dt.timedelta(days=6)), "doctor_id": 6}
    ).json()["items"]
    assert [(s["date"], s["shift"], s["quota"], s["booked"]) for s in copied] == [
        (str(target), "morning", 7, 0),
        (str(target + dt.timedelta(days=2)), "afternoon", 10, 0),
    ]
    assert [r["action"] for r in dms.audit_rows(last)] == ["create", "create"]
    again = dms.post("schedules/copy-week", {"from_monday": str(source), "to_monday": str(target)})
    assert again.json() == {"created": 0, "skipped": 3}
    only_department = dms.post(
        "schedules/copy-week",
        {"from_monday": str(source), "to_monday": str(target + dt.timedelta(weeks=1)), "department_id": 4},
    )
    assert only_department.json() == {"created": 1, "skipped": 0}  # 妇产科: D007's one schedule
    not_monday = dms.post(
        "schedules/copy-week", {"from_monday": str(source + dt.timedelta(days=1)), "to_monday": str(target)}
    )
    assert not_monday.status_code == 422 and not_monday.json()["errors"][0]["field"] == "from_monday"
    backwards = dms.post("schedules/copy-week", {"from_monday": str(target), "to_monday": str(source)})
    assert backwards.status_code == 422


def test_available_lists_open_schedules_with_free_places(dms: Dms) -> None:
    day = dms.fresh_day()
    free = dms.schedule(doctor_id=9, day=day, quota=2, registration_type_id=1)
    full = dms.schedule(doctor_id=10, day=day, quota=1, registration_type_id=4)
    assert dms.book(full["id"], f"av-{full['id']}").status_code == 201
    items = dms.get("available", params={"date": str(day)}).json()["items"]
    assert [s["id"] for s in items] == [free["id"]]
    assert items[0]["free"] == 2
    assert dms.get("available", params={"date": str(day), "registration_type_id": 4}).json()["items"] == []
    assert dms.get("available", params={"date": str(day), "department_id": 6}).json()["items"][0]["id"] == free["id"]

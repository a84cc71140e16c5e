"""Bookings: never over the quota (even 50 at once), each key (the Idempotency-Key header) once,
each release counted once; the caller's conditions refused before a place is taken."""

from __future__ import annotations

import asyncio
import uuid

import httpx2

from tests.dms.conftest import Dms


def _key(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_booking_gives_queue_numbers_and_audits(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=1, quota=3)
    last = dms.last_audit_id()
    first = dms.book(schedule["id"], key := _key(), visit_number="MZ20261122-00001")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["key"], body["seq"], body["status"], body["visit_number"]) == (key, 1, "booked", "MZ20261122-00001")
    assert (body["date"], body["shift"], body["doctor_id"]) == (schedule["date"], "morning", 1)
    assert dms.book(schedule["id"], _key()).json()["seq"] == 2
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 2
    rows = dms.audit_rows(last)
    assert [(r["action"], r["entity"]) for r in rows] == [("create", "booking")] * 2
    assert rows[0]["entity_id"] == key and rows[0]["after"]["seq"] == 1


def test_the_same_key_books_once(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=2, quota=5)
    key = _key("visit")
    first = dms.book(schedule["id"], key)
    assert first.status_code == 201
    last = dms.last_audit_id()
    again = dms.book(schedule["id"], key)
    # A replay is answered as every idempotent route answers one: the first status and body, marked.
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json() == first.json()
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 1
    assert dms.count("bookings", key=key) == 1
    assert dms.audit_rows(last) == []
    other = dms.schedule(doctor_id=2, quota=5)
    reused = dms.book(other["id"], key)
    assert reused.status_code == 409 and reused.json()["code"] == "booking_key_reused"


def test_a_full_slot_refuses(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=3, quota=1)
    assert dms.book(schedule["id"], _key()).status_code == 201
    last = dms.last_audit_id()
    full = dms.book(schedule["id"], key := _key())
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    assert dms.count("bookings", key=key) == 0
    assert dms.audit_rows(last) == []
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 1


def test_a_booking_answers_what_a_registration_records(dms: Dms) -> None:
    """One call books and tells the desk all it writes on the visit: no second call for the schedule
    or the fee."""
    schedule = dms.schedule(doctor_id=1, quota=3)
    kind = httpx2.get(
        f"{dms.stack.url('dbs')}/api/dbs/registration-types/{schedule['registration_type_id']}",
        headers=dms.headers(),
    ).json()
    body = dms.book(schedule["id"], _key()).json()
    fields = ("department_id", "department_name", "registration_type_id", "registration_type_name", "doctor_id")
    expected = {k: schedule[k] for k in (*fields, "doctor_name", "date", "shift")}
    assert {k: body[k] for k in expected} == expected
    assert body["fee"] == kind["fee"]


def test_the_callers_conditions_refuse_before_a_place_is_taken(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=8, quota=3)
    last = dms.last_audit_id()
    other_day = dms.book(schedule["id"], _key(), date=str(dms.today))
    assert other_day.status_code == 422 and other_day.json()["code"] == "wrong_date", other_day.text
    assert other_day.json()["errors"][0]["field"] == "schedule_id"
    elsewhere = dms.book(schedule["id"], _key(), date=schedule["date"], department_ids=[schedule["department_id"] + 1])
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "outside_departments", elsewhere.text
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 0
    assert dms.audit_rows(last) == []
    wanted = dms.book(schedule["id"], _key(), date=schedule["date"], department_ids=[schedule["department_id"]])
    assert wanted.status_code == 201, wanted.text


def test_bad_booking_input(dms: Dms) -> None:
    missing = dms.book(999999, _key())
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "schedule_id"
    keyless = dms.post("bookings", {"schedule_id": 1}).json()
    assert (keyless["code"], keyless["errors"][0]["field"]) == ("idempotency_key_required", "Idempotency-Key")
    assert dms.book(1, "has spaces").status_code == 422
    assert dms.post("bookings/nope-never-booked/release").status_code == 404


def test_release_frees_a_place_once(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=4, quota=2)
    keys = [_key(), _key()]
    for key in keys:
        assert dms.book(schedule["id"], key).status_code == 201
    assert dms.book(schedule["id"], _key()).json()["code"] == "slot_full"
    last = dms.last_audit_id()
    released = dms.post(f"bookings/{keys[0]}/release")
    assert released.status_code == 200
    assert released.json()["status"] == "released" and released.json()["released_at"]
    again = dms.post(f"bookings/{keys[0]}/release")
    assert again.status_code == 200 and again.json() == released.json()
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 1
    (row,) = dms.audit_rows(last)
    assert (row["action"], row["before"]["status"], row["after"]["status"]) == ("release", "booked", "released")
    # The freed place is bookable; its queue number is new, never one already called.
    rebooked = dms.book(schedule["id"], _key())
    assert rebooked.status_code == 201 and rebooked.json()["seq"] == 3
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 2
    # Releasing the same booking many times at once still gives back one place.
    _parallel_release(dms, keys[1], 10)
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 1


def _parallel_release(dms: Dms, key: str, times: int) -> None:
    async def run() -> list[int]:
        async with httpx2.AsyncClient(base_url=dms.url, timeout=60, headers=dms.headers()) as client:
            answers = await asyncio.gather(*(client.post(f"/api/dms/bookings/{key}/release") for _ in range(times)))
        return [a.status_code for a in answers]

    assert asyncio.run(run()) == [200] * times


def test_booking_lists(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=5, quota=5)
    keys = [_key("list") for _ in range(3)]
    for key in keys:
        dms.book(schedule["id"], key)
    dms.post(f"bookings/{keys[1]}/release")
    page = dms.get("bookings", params={"schedule_id": schedule["id"]}).json()
    assert page["total"] == 3 and [b["seq"] for b in page["items"]] == [1, 2, 3]
    booked = dms.get("bookings", params={"schedule_id": schedule["id"], "status": "booked"}).json()
    assert [b["key"] for b in booked["items"]] == [keys[0], keys[2]]
    by_day = dms.get("bookings", params={"doctor_id": 5, "date": schedule["date"]}).json()
    assert by_day["total"] == 3
    assert dms.get("bookings", params={"q": keys[2]}).json()["items"][0]["key"] == keys[2]


def test_fifty_concurrent_bookings_never_overbook(dms: Dms) -> None:
    """The key test: 50 callers, 10 places, one schedule, all at once against the real server."""
    schedule = dms.schedule(doctor_id=6, quota=10)
    keys = [_key("race") for _ in range(50)]

    async def run() -> list[httpx2.Response]:
        limits = httpx2.Limits(max_connections=50)
        async with httpx2.AsyncClient(base_url=dms.url, timeout=120, headers=dms.headers(), limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/dms/bookings", json={"schedule_id": schedule["id"]}, headers={"Idempotency-Key": k}
                    )
                    for k in keys
                )
            )

    answers = asyncio.run(run())
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 10 + [409] * 40, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    assert sorted(a.json()["seq"] for a in answers if a.status_code == 201) == list(range(1, 11))
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 10
    assert dms.count("bookings", schedule_id=schedule["id"], status="booked") == 10
    assert dms.count("bookings", schedule_id=schedule["id"]) == 10


def test_the_same_key_racing_books_once(dms: Dms) -> None:
    schedule = dms.schedule(doctor_id=7, quota=10)
    key = _key("twin")

    async def run() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(base_url=dms.url, timeout=120, headers=dms.headers()) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/dms/bookings", json={"schedule_id": schedule["id"]}, headers={"Idempotency-Key": key}
                    )
                    for _ in range(10)
                )
            )

    answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [""] + ["true"] * 9
    assert {a.json()["seq"] for a in answers} == {1}
    assert dms.get(f"schedules/{schedule['id']}").json()["booked"] == 1
    assert dms.count("bookings", schedule_id=schedule["id"]) == 1

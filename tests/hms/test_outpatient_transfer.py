"""门诊转住院: a visit the doctor transferred waits at the admissions desk, is admitted once from the
request (its patient, doctor and visit number carried over), and oms hears of the ZY number — through
the real gateway, with dms for the registration, on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hms.test_bed_races import at_once, post
from tests.hms.ward import EMPLOYEE_INSURANCE, Ward, wait_for
from tests.oms.outpatient_desk import Desk
from tests.support.databases import fresh_databases
from tests.support.stack import Stack


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def desks(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, Ward]]:
    """The outpatient desk and the admissions desk over one stack: ward_on's, with dms for registering."""
    directory = Path(tmp_path_factory.mktemp("outpatient-transfer"))
    with (
        fresh_databases(request.param, ["oms", "dms", "pms", "hms"], directory) as urls,
        Stack(directory, urls) as stack,
    ):
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        for name in ("dms", "oms", "pms", "hms"):
            stack.start(name)
        desk, ward = Desk(stack, urls), Ward(stack, urls)
        try:
            yield desk, ward
        finally:
            desk.close()
            ward.close()


def transferred_visit(desk: Desk, name: str, doctor_code: str) -> dict[str, Any]:
    """A patient registered, seen, and sent to the wards by the doctor (转住院): the visit's detail."""
    patient = desk.patient(name, phone="13912345678")
    answer = desk.register(patient["id"], desk.schedule(doctor_code, quota=3)["id"], "cash")
    assert answer.status_code == 201, answer.text
    visit = answer.json()
    desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    moved = desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "transferred", "reason": "肺炎需住院"})
    assert moved["state"] == "transferred" and moved["admission"]["state"] == "pending"
    detail: dict[str, Any] = desk.ok("GET", f"/api/oms/visits/{visit['id']}")
    return detail


def admit_body(request_id: int, bed_id: int, charge_type_id: int) -> dict[str, Any]:
    return {
        "admission_request_id": request_id,
        "bed_id": bed_id,
        "diagnosis": "重症肺炎",
        "charge_type_id": charge_type_id,
    }


def written(ward: Ward) -> tuple[int, int, int]:
    return (
        ward.scalar("hms", "SELECT COUNT(*) FROM stays"),
        ward.scalar("hms", "SELECT COUNT(*) FROM outbox"),
        ward.scalar("hms", "SELECT COUNT(*) FROM deposits"),
    )


def test_a_transferred_visit_is_admitted_once_and_oms_hears_the_number(desks: tuple[Desk, Ward]) -> None:
    desk, ward = desks
    detail = transferred_visit(desk, "转住院甲", "D001")
    visit, request = detail["visit"], detail["admission"]
    assert (request["visit_id"], request["visit_number"]) == (visit["id"], visit["number"])

    # The admissions desk sees the transfer waiting (hms asks oms as itself).
    waiting = ward.ok("GET", "/api/hms/admission-requests", params={"state": "pending"})["items"]
    assert request["id"] in [r["id"] for r in waiting]
    shown = next(r for r in waiting if r["id"] == request["id"])
    assert (shown["patient_name"], shown["visit_number"]) == ("转住院甲", visit["number"])

    beds = ward.new_ward(beds=2)["bed_list"]
    insured = ward.charge_type(EMPLOYEE_INSURANCE)
    stay = ward.ok("POST", "/api/hms/stays", 201, json=admit_body(request["id"], beds[0]["id"], insured["id"]))
    # Who, by whom and from which visit come from the request; nothing was typed twice.
    assert stay["number"].startswith("ZY") and stay["state"] == "admitted"
    assert (stay["admission_request_id"], stay["visit_number"]) == (request["id"], visit["number"])
    assert (stay["patient_id"], stay["patient_name"]) == (request["patient_id"], "转住院甲")
    assert (stay["doctor_id"], stay["doctor_name"]) == (request["doctor_id"], request["doctor_name"])
    assert (stay["charge_type_name"], stay["reimbursement_ratio"]) == (
        EMPLOYEE_INSURANCE,
        insured["reimbursement_ratio"],
    )
    bed = ward.ok("GET", f"/api/hms/beds/{beds[0]['id']}")
    assert (bed["state"], bed["stay_id"]) == ("occupied", stay["id"])
    # The visit number finds the stay at the admissions desk.
    found = ward.ok("GET", "/api/hms/stays", params={"q": visit["number"]})["items"]
    assert [s["id"] for s in found] == [stay["id"]]

    # oms hears of it through hms's outbox: the request admitted with the ZY number, on the visit too.
    key = f"hms-admit-{stay['id']}"
    wait_for(lambda: ward.scalar("hms", "SELECT status FROM outbox WHERE `key` = :k", k=key) == "delivered")
    after = desk.ok("GET", f"/api/oms/visits/{visit['id']}")
    assert after["admission"]["state"] == "admitted"
    assert after["admission"]["admission_number"] == stay["number"]
    assert after["visit"]["state"] == "transferred"
    assert request["id"] not in [
        r["id"] for r in ward.ok("GET", "/api/hms/admission-requests", params={"state": "pending"})["items"]
    ]

    # The same transfer again, into another bed: refused, nothing written, the bed still free.
    before = written(ward)
    again = ward.call("POST", "/api/hms/stays", json=admit_body(request["id"], beds[1]["id"], insured["id"]))
    assert again.status_code == 409 and again.json()["code"] == "not_pending", again.text
    assert stay["number"] in again.json()["detail"]
    assert written(ward) == before
    assert ward.ok("GET", f"/api/hms/beds/{beds[1]['id']}")["state"] == "free"


def test_two_clerks_admitting_one_transfer_at_once_admit_it_once(desks: tuple[Desk, Ward]) -> None:
    """Both read the request while it is pending; the stay's unique request id lets one in."""
    desk, ward = desks
    request = transferred_visit(desk, "转住院乙", "D002")["admission"]
    beds = ward.new_ward(beds=2)["bed_list"]
    self_pay = ward.charge_type()["id"]
    before = written(ward)
    answers = at_once(*(post(ward, "/api/hms/stays", admit_body(request["id"], b["id"], self_pay)) for b in beds))

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    stay = next(a.json() for a in answers if a.status_code == 201)
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["code"] == "not_pending", refused.text
    # One stay, one report to oms; the loser's bed is free again (it was never taken).
    assert written(ward) == (before[0] + 1, before[1] + 1, before[2])
    assert ward.scalar("hms", "SELECT COUNT(*) FROM stays WHERE admission_request_id = :r", r=request["id"]) == 1
    states = {b["id"]: ward.ok("GET", f"/api/hms/beds/{b['id']}") for b in beds}
    assert states[stay["bed_id"]]["stay_id"] == stay["id"]
    assert [s["state"] for i, s in states.items() if i != stay["bed_id"]] == ["free"]
    wait_for(lambda: desk.ok("GET", f"/api/oms/admission-requests/{request['id']}")["state"] == "admitted")
    assert desk.ok("GET", f"/api/oms/admission-requests/{request['id']}")["admission_number"] == stay["number"]

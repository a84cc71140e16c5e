"""入院登记, beds and transfers: a patient admitted into a bed nobody else can then take, the bed
board that shows it, and a move to another bed or department with its history."""

from __future__ import annotations

from tests.hms.ward import EMPLOYEE_INSURANCE, SURGERY_WARD_DEPARTMENT, Ward


def _counts(ward: Ward) -> tuple[int, int, int]:
    return (
        ward.scalar("hms", "SELECT COUNT(*) FROM stays"),
        ward.scalar("hms", "SELECT COUNT(*) FROM deposits"),
        ward.scalar("hms", "SELECT COUNT(*) FROM transfers"),
    )


def test_an_admission_takes_its_bed_and_a_second_one_is_refused(ward: Ward) -> None:
    beds = ward.new_ward(beds=2)["bed_list"]
    before = _counts(ward)
    stay = ward.admit(beds[0]["id"], deposit={"amount": "1000.00", "method": "cash"})
    assert stay["number"].startswith("ZY") and stay["state"] == "admitted"
    assert (stay["deposit_total"], stay["charge_total"], stay["balance"]) == ("1000.00", "0.00", "1000.00")
    assert (stay["patient_name"], stay["sex"], stay["bed_number"]) == ("张三", "male", "1")
    bed = ward.ok("GET", f"/api/hms/beds/{beds[0]['id']}")
    assert (bed["state"], bed["stay_id"]) == ("occupied", stay["id"])
    assert _counts(ward) == (before[0] + 1, before[1] + 1, before[2])

    again = ward.call("POST", "/api/hms/stays", json=ward.admission(beds[0]["id"]))
    assert again.status_code == 409 and again.json()["code"] == "bed_taken", again.text
    assert "已有患者" in again.json()["detail"]
    assert _counts(ward) == (before[0] + 1, before[1] + 1, before[2])


def test_the_charge_type_ratio_is_frozen_on_the_stay(ward: Ward) -> None:
    bed = ward.new_ward(beds=1)["bed_list"][0]
    insured = ward.charge_type(EMPLOYEE_INSURANCE)
    stay = ward.admit(bed["id"], charge_type_id=insured["id"])
    assert (stay["charge_type_name"], stay["reimbursement_ratio"]) == (EMPLOYEE_INSURANCE, "0.70")


def test_bad_admissions_are_refused_naming_the_field_and_write_nothing(ward: Ward) -> None:
    medicine = ward.new_ward(beds=2)["bed_list"]
    surgery_department = ward.department(SURGERY_WARD_DEPARTMENT)
    closed = medicine[1]
    ward.ok("POST", f"/api/hms/beds/{closed['id']}/state", json={"state": "closed", "remark": "维修"})
    before = _counts(ward)
    cases = [
        ({"bed_id": 999999}, 422, "bed_id"),
        ({"bed_id": medicine[0]["id"], "department_id": surgery_department["id"]}, 422, "bed_id"),
        ({"bed_id": medicine[0]["id"], "patient_id": 999999}, 422, "patient_id"),
        ({"bed_id": medicine[0]["id"], "charge_type_id": 999999}, 422, "charge_type_id"),
        ({"bed_id": medicine[0]["id"], "diagnosis": ""}, 422, "diagnosis"),
        ({"bed_id": medicine[0]["id"], "deposit": {"amount": "-5.00", "method": "cash"}}, 422, "deposit.amount"),
        ({"bed_id": medicine[0]["id"], "deposit": {"amount": "5.00", "method": "gold"}}, 422, "deposit.method"),
        ({"bed_id": closed["id"]}, 409, "bed_id"),
    ]
    for changes, status, field in cases:
        body = ward.admission(changes.pop("bed_id"), **changes)
        answer = ward.call("POST", "/api/hms/stays", json=body, headers={"Accept-Language": "zh-CN"})
        assert answer.status_code == status, (changes, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in problem.get("errors", [])], (changes, problem)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem
    without_patient = ward.admission(medicine[0]["id"])
    del without_patient["patient_id"]
    answer = ward.call("POST", "/api/hms/stays", json=without_patient)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "patient_id", answer.text
    assert _counts(ward) == before
    assert ward.ok("GET", f"/api/hms/beds/{medicine[0]['id']}")["state"] == "free"


def test_the_bed_board_shows_each_bed_and_its_occupant_in_a_nurse_s_order(ward: Ward) -> None:
    made = ward.new_ward(beds=11)
    beds = made["bed_list"]
    stay = ward.admit(beds[1]["id"], deposit={"amount": "200.00", "method": "wechat"})
    ward.ok("POST", f"/api/hms/beds/{beds[2]['id']}/state", json={"state": "cleaning"})
    (shown,) = ward.ok("GET", "/api/hms/bed-board", params={"ward_id": made["id"]})
    assert [b["number"] for b in shown["beds"]] == [str(n) for n in range(1, 12)]
    assert shown["counts"] == {"free": 9, "occupied": 1, "cleaning": 1, "closed": 0}
    occupant = shown["beds"][1]["occupant"]
    assert (occupant["stay_number"], occupant["patient_name"], occupant["days"]) == (stay["number"], "张三", 1)
    # Below the default threshold (500.00): the ward is told to ask for more.
    assert (occupant["balance"], occupant["low_balance"]) == ("200.00", True)
    assert "id_card" not in occupant and "phone" not in occupant
    # Only an admission or a transfer occupies a bed, and an occupied bed is not closed by hand.
    refused = ward.call("POST", f"/api/hms/beds/{beds[1]['id']}/state", json={"state": "closed"})
    assert refused.status_code == 409 and refused.json()["code"] == "bed_occupied", refused.text
    by_hand = ward.call("POST", f"/api/hms/beds/{beds[0]['id']}/state", json={"state": "occupied"})
    assert by_hand.status_code == 422 and by_hand.json()["errors"][0]["field"] == "state", by_hand.text


def test_a_ward_code_and_a_bed_number_are_unique(ward: Ward) -> None:
    made = ward.new_ward(beds=1)
    twin = {"code": made["code"], "name": "另一个病区", "department_id": made["department_id"]}
    answer = ward.call("POST", "/api/hms/wards", json=twin)
    assert answer.status_code == 409 and answer.json()["errors"][0]["field"] == "code", answer.text
    same_bed = {"ward_id": made["id"], "number": "1", "daily_price": "40.00"}
    answer = ward.call("POST", "/api/hms/beds", json=same_bed)
    assert answer.status_code == 409 and answer.json()["errors"][0]["field"] == "number", answer.text
    outpatient = ward.department("NK")  # 内科 (门诊): beds belong to inpatient departments only
    answer = ward.call(
        "POST", "/api/hms/wards", json={"code": "X1", "name": "门诊病区", "department_id": outpatient["id"]}
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "department_id", answer.text


def test_a_transfer_moves_the_patient_and_keeps_the_history(ward: Ward) -> None:
    medicine = ward.new_ward(beds=2)["bed_list"]
    surgery = ward.new_ward(SURGERY_WARD_DEPARTMENT, beds=1)["bed_list"]
    stay = ward.admit(medicine[0]["id"])
    # Same department: the doctor stays.
    moved = ward.ok("POST", f"/api/hms/stays/{stay['id']}/transfers", 201,
                    json={"bed_id": medicine[1]["id"], "reason": "靠窗"})  # fmt: skip
    assert (moved["from_bed_number"], moved["to_bed_number"]) == ("1", "2")
    assert ward.ok("GET", f"/api/hms/beds/{medicine[0]['id']}")["state"] == "free"
    # Another department needs its doctor.
    answer = ward.call(
        "POST", f"/api/hms/stays/{stay['id']}/transfers", json={"bed_id": surgery[0]["id"], "reason": "手术"}
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "doctor_id", answer.text
    surgeon = ward.doctor("D003")
    ward.ok("POST", f"/api/hms/stays/{stay['id']}/transfers", 201,
            json={"bed_id": surgery[0]["id"], "doctor_id": surgeon["id"], "reason": "转外科手术"})  # fmt: skip
    now = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert (now["department_name"], now["doctor_name"], now["bed_id"]) == (
        ward.department(SURGERY_WARD_DEPARTMENT)["name"], surgeon["name"], surgery[0]["id"],
    )  # fmt: skip
    history = ward.ok("GET", f"/api/hms/stays/{stay['id']}/transfers")
    assert [(t["from_bed_number"], t["to_bed_number"], t["reason"]) for t in history] == [
        ("1", "2", "靠窗"), ("2", "1", "转外科手术"),
    ]  # fmt: skip
    assert [b["state"] for b in (ward.ok("GET", f"/api/hms/beds/{b['id']}") for b in (*medicine, *surgery))] == [
        "free", "free", "occupied",
    ]  # fmt: skip
    # Into an occupied bed: refused, nothing moved.
    other = ward.admit(medicine[0]["id"])
    answer = ward.call("POST", f"/api/hms/stays/{other['id']}/transfers", json={"bed_id": surgery[0]["id"],
                       "doctor_id": surgeon["id"], "reason": "x"})  # fmt: skip
    assert answer.status_code == 409 and answer.json()["code"] == "bed_taken", answer.text
    assert ward.ok("GET", f"/api/hms/stays/{other['id']}")["bed_id"] == medicine[0]["id"]


def test_stays_are_listed_and_searched(ward: Ward) -> None:
    bed = ward.new_ward(beds=1)["bed_list"][0]
    stay = ward.admit(bed["id"], patient_id=ward.patient("欧阳检")["id"])
    found = ward.ok("GET", "/api/hms/stays", params={"q": "欧阳检", "state": "admitted"})["items"]
    assert [s["id"] for s in found] == [stay["id"]]
    assert ward.ok("GET", "/api/hms/stays", params={"q": stay["number"]})["items"][0]["id"] == stay["id"]


def test_a_patient_is_in_hospital_once_at_a_time(ward: Ward) -> None:
    beds = ward.new_ward(beds=3)["bed_list"]
    patient = ward.patient("单住院")
    first = ward.admit(beds[0]["id"], patient_id=patient["id"])
    answer = ward.call("POST", "/api/hms/stays", json=ward.admission(beds[1]["id"], patient_id=patient["id"]))
    assert answer.status_code == 409 and answer.json()["code"] == "already_admitted", answer.text
    assert first["number"] in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "patient_id"
    assert ward.ok("GET", f"/api/hms/beds/{beds[1]['id']}")["state"] == "free"
    # Discharged, the patient may come back; the old stay cannot then be reopened by a reversal.
    settlement = ward.ok("POST", f"/api/hms/stays/{first['id']}/settlement", 201, json={"method": "cash"})
    ward.admit(beds[1]["id"], patient_id=patient["id"])
    reopened = ward.call(
        "POST", f"/api/hms/settlements/{settlement['id']}/reverse", json={"reason": "结算有误", "bed_id": beds[2]["id"]}
    )
    assert reopened.status_code == 409 and reopened.json()["code"] == "already_admitted", reopened.text
    assert ward.ok("GET", f"/api/hms/beds/{beds[2]['id']}")["state"] == "free"
    assert ward.ok("GET", f"/api/hms/stays/{first['id']}")["state"] == "settled"


def test_a_clerk_limited_to_one_department_admits_and_moves_only_there(ward: Ward) -> None:
    medicine = ward.new_ward(beds=2)
    surgery = ward.new_ward(SURGERY_WARD_DEPARTMENT, beds=1)
    clerk = ward.stack.bearer(
        ["hms:admission:read", "hms:admission:write", "hms:transfer:write"], dept=[medicine["department_id"]]
    )
    before = ward.scalar("hms", "SELECT COUNT(*) FROM stays")
    answer = ward.call("POST", "/api/hms/stays", json=ward.admission(surgery["bed_list"][0]["id"]), headers=clerk)
    assert answer.status_code == 403, answer.text
    assert ward.scalar("hms", "SELECT COUNT(*) FROM stays") == before
    own = ward.call("POST", "/api/hms/stays", json=ward.admission(medicine["bed_list"][0]["id"]), headers=clerk)
    assert own.status_code == 201, own.text
    elsewhere = ward.admit(surgery["bed_list"][0]["id"])
    assert ward.call("GET", f"/api/hms/stays/{elsewhere['id']}", headers=clerk).status_code == 403
    assert ward.call("GET", f"/api/hms/stays/{elsewhere['id']}/transfers", headers=clerk).status_code == 403
    move = {"bed_id": medicine["bed_list"][1]["id"], "doctor_id": ward.doctor()["id"], "reason": "床位调整"}
    refused = ward.call("POST", f"/api/hms/stays/{elsewhere['id']}/transfers", json=move, headers=clerk)
    assert refused.status_code == 403, refused.text
    assert ward.ok("GET", f"/api/hms/beds/{medicine['bed_list'][1]['id']}")["state"] == "free"
    listed = ward.call("GET", "/api/hms/stays", headers=clerk).json()["items"]
    assert {s["department_id"] for s in listed} == {medicine["department_id"]}

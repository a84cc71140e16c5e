"""The stay's account: deposits in, items booked at the price of the day and credited once,
examinations with their reports, the low-balance list — and the sums always equal the rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.hms.ward import EMPLOYEE_INSURANCE, Ward, ward_on

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def any_ward(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, ward: Ward) -> Iterator[Ward]:
    """For what a race or SQL arithmetic decides: the module's SQLite ward, and one on MariaDB."""
    if request.param == "sqlite":
        yield ward
        return
    with ward_on("mariadb", Path(tmp_path_factory.mktemp("hms-account"))) as on_mariadb:
        yield on_mariadb


def at_once(*calls: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    start = threading.Barrier(len(calls))

    def send(call: Callable[[], httpx2.Response]) -> httpx2.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def new_stay(ward: Ward, deposit: str | None = "1000.00", **admission: Any) -> dict[str, Any]:
    """A stay in a bed that costs nothing a day, so no bed-day ever enters these sums."""
    bed = ward.new_ward(beds=1, price="0.00")["bed_list"][0]
    extra = {"deposit": {"amount": deposit, "method": "cash"}} if deposit else {}
    return ward.admit(bed["id"], **extra, **admission)


def book(ward: Ward, stay_id: int, *lines: tuple[str, int], status: int = 201) -> Any:
    body = {"lines": [{"charge_item_id": ward.item(code)["id"], "quantity": n} for code, n in lines]}
    return ward.ok("POST", f"/api/hms/stays/{stay_id}/items", status, json=body)


def written(ward: Ward, stay_id: int) -> dict[str, Any]:
    """What a booking, a deposit or a credit of the stay writes."""
    return {
        "charges": ward.scalar("hms", "SELECT COUNT(*) FROM charges WHERE stay_id = :s", s=stay_id),
        "deposits": ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=stay_id),
        "sums": ward.rows("hms", "SELECT charge_total, deposit_total FROM stays WHERE id = :s", s=stay_id),
        "audit": ward.scalar("hms", "SELECT COUNT(*) FROM audit_log"),
        "feed": ward.scalar("hms", "SELECT COUNT(*) FROM change_feed"),
    }


def settle_in_database(ward: Ward, stay_id: int) -> None:
    """The stay as a settlement leaves it (the settlement itself is tested in test_settlement.py)."""
    with ward.engines["hms"].begin() as conn:
        conn.exec_driver_sql(f"UPDATE stays SET state = 'settled' WHERE id = {int(stay_id)}")


def assert_adds_up(account: dict[str, Any]) -> None:
    """The account's figures are the sums of its rows."""
    charges = sum((Decimal(c["amount"]) for c in account["charges"]), Decimal("0.00"))
    deposits = sum((Decimal(d["amount"]) for d in account["deposits"]), Decimal("0.00"))
    figures = {k: Decimal(v) for k, v in account["figures"].items()}
    assert figures["charge_total"] == charges == Decimal(account["stay"]["charge_total"])
    assert figures["deposit_total"] == deposits == Decimal(account["stay"]["deposit_total"])
    assert sum((Decimal(c["amount"]) for c in account["categories"]), Decimal("0.00")) == charges
    assert figures["insured"] + figures["self_pay"] == charges
    assert figures["balance"] == deposits - figures["self_pay"] == Decimal(account["stay"]["balance"])


# --- deposits ------------------------------------------------------------------------------------
def test_deposits_add_to_the_balance_and_are_found_by_number_and_patient(ward: Ward) -> None:
    name = f"预交{uuid.uuid4().hex[:6]}"
    stay = new_stay(ward, patient_id=ward.patient(name)["id"])
    paid = ward.ok("POST", f"/api/hms/stays/{stay['id']}/deposits", 201,
                   json={"amount": "500.5", "method": "wechat", "remark": "家属代缴"})  # fmt: skip
    assert paid["number"].startswith("YJ") and paid["amount"] == "500.50" and paid["kind"] == "payment"
    assert (paid["stay_number"], paid["patient_name"]) == (stay["number"], name)
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["balance"] == "1500.50"

    for q in (name, stay["number"], paid["number"]):
        found = ward.ok("GET", "/api/hms/deposits", params={"q": q})
        assert paid["id"] in [d["id"] for d in found["items"]], q
    mine = ward.ok("GET", "/api/hms/deposits", params={"stay_id": stay["id"]})
    assert [d["amount"] for d in mine["items"]] == ["500.50", "1000.00"]  # newest first
    assert all(d["patient_name"] == name for d in mine["items"])


def test_a_deposit_that_is_not_positive_is_refused_on_amount(ward: Ward) -> None:
    stay = new_stay(ward)
    before = written(ward, stay["id"])
    for amount in ("0", "-100.00", "0.001"):
        answer = ward.call("POST", f"/api/hms/stays/{stay['id']}/deposits", json={"amount": amount, "method": "cash"})
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["amount"], answer.text
    assert written(ward, stay["id"]) == before


# --- items ---------------------------------------------------------------------------------------
def test_items_are_priced_by_dbs_and_the_price_is_frozen(ward: Ward) -> None:
    stay = new_stay(ward, charge_type_id=ward.charge_type(EMPLOYEE_INSURANCE)["id"])
    template = ward.item("XM0010")
    code = f"T{uuid.uuid4().hex[:8]}"
    fields = {"code": code, "name": f"测试护理{code}", "category_id": template["category_id"],
              "unit_id": template["unit_id"], "scope": "inpatient", "needs_exam": False}  # fmt: skip
    item = ward.ok("POST", "/api/dbs/charge-items", 201, json={**fields, "price": "12.35"})

    rows = book(ward, stay["id"], ("XM0004", 2), (code, 3))
    assert [(r["name"], r["category"], r["unit"], r["unit_price"], r["quantity"], r["amount"]) for r in rows] == [
        ("肝功能", "检验费", "项", "60.00", 2, "120.00"),
        (item["name"], template["category_name"], template["unit_name"], "12.35", 3, "37.05"),
    ]
    assert [r["state"] for r in rows] == ["booked", "booked"] and rows[0]["needs_exam"] is True

    ward.ok("PUT", f"/api/dbs/charge-items/{item['id']}", json={**fields, "price": "99.00"})
    account = ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")
    assert [c["unit_price"] for c in account["charges"]] == ["60.00", "12.35"]
    # 157.05 at 70 %: insured 109.94 (109.935, half up), the patient 47.11.
    assert account["figures"] == {"charge_total": "157.05", "insured": "109.94", "self_pay": "47.11",
                                  "deposit_total": "1000.00", "balance": "952.89"}  # fmt: skip
    assert_adds_up(account)
    charged = ward.rows("hms", "SELECT data FROM change_feed WHERE action = 'charged' ORDER BY seq DESC LIMIT 2")
    assert all(stay["patient_name"] not in row["data"] for row in charged)


def test_an_unknown_or_outpatient_only_item_is_refused_naming_its_line(ward: Ward) -> None:
    stay = new_stay(ward)
    before = written(ward, stay["id"])
    good = {"charge_item_id": ward.item("XM0002")["id"], "quantity": 1}
    for bad in (999999, ward.item("XM0001")["id"]):  # none; 门诊诊查费 is outpatient only
        body = {"lines": [good, {"charge_item_id": bad, "quantity": 1}]}
        answer = ward.call("POST", f"/api/hms/stays/{stay['id']}/items", json=body)
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["lines.1.charge_item_id"], answer.text
    answer = ward.call("POST", f"/api/hms/stays/{stay['id']}/items", json={"lines": [{**good, "quantity": 0}]})
    assert answer.status_code == 422, answer.text
    assert written(ward, stay["id"]) == before


# --- credits -------------------------------------------------------------------------------------
def test_an_item_is_credited_once_even_by_two_clerks_at_once(any_ward: Ward) -> None:
    ward = any_ward
    stay = new_stay(ward)
    first, second = book(ward, stay["id"], ("XM0010", 2), ("XM0014", 1))
    answers = at_once(
        *(lambda: ward.call("POST", f"/api/hms/charges/{first['id']}/cancel", json={"reason": "医嘱取消"}),) * 2
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    credit = next(a.json() for a in answers if a.status_code == 201)
    assert next(a.json() for a in answers if a.status_code == 409)["code"] == "already_credited"
    assert (credit["reverses_id"], credit["state"], credit["quantity"], credit["amount"]) == (
        first["id"], "credit", -2, "-24.00",
    )  # fmt: skip

    account = ward.ok("GET", f"/api/hms/stays/{stay['id']}/account")
    states = {c["id"]: c["state"] for c in account["charges"]}
    assert (states[first["id"]], states[second["id"]], len(states)) == ("cancelled", "booked", 3)
    assert {c["category"]: c["amount"] for c in account["categories"]} == {"治疗费": "0.00", "护理费": "30.00"}
    assert account["figures"]["charge_total"] == "30.00"
    assert_adds_up(account)
    # The credit itself is no item to credit.
    again = ward.call("POST", f"/api/hms/charges/{credit['id']}/cancel", json={"reason": "再冲"})
    assert again.status_code == 409, again.text


def test_a_settled_stay_takes_no_deposit_item_or_credit(any_ward: Ward) -> None:
    ward = any_ward
    stay = new_stay(ward)
    (item,) = book(ward, stay["id"], ("XM0010", 1))
    settle_in_database(ward, stay["id"])
    before = written(ward, stay["id"])
    item_id = ward.item("XM0010")["id"]
    for path, body in (
        (f"/api/hms/stays/{stay['id']}/deposits", {"amount": "100.00", "method": "cash"}),
        (f"/api/hms/stays/{stay['id']}/items", {"lines": [{"charge_item_id": item_id, "quantity": 1}]}),
        (f"/api/hms/charges/{item['id']}/cancel", {"reason": "结算后"}),
    ):
        answer = ward.call("POST", path, json=body)
        assert answer.status_code == 409 and answer.json()["code"] == "stay_settled", (path, answer.text)
    assert written(ward, stay["id"]) == before


# --- examinations --------------------------------------------------------------------------------
def test_an_examination_result_with_its_report_is_recorded_once_and_downloaded(ward: Ward) -> None:
    stay = new_stay(ward)
    exam, plain = book(ward, stay["id"], ("XM0005", 1), ("XM0010", 1))  # 胸部DR needs one; 输液 does not
    pending = ward.ok("GET", "/api/hms/exams", params={"state": "pending", "q": stay["number"]})["items"]
    assert [(e["id"], e["stay_number"], e["patient_name"]) for e in pending] == [
        (exam["id"], stay["number"], stay["patient_name"])
    ]

    not_a_pdf = {"file": ("report.pdf", b"<html>script</html>", "application/pdf")}
    answer = ward.call("POST", f"/api/hms/charges/{exam['id']}/exam", data={"result": "双肺纹理增粗"}, files=not_a_pdf)
    assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == ["file"], answer.text

    report = {"file": ("胸片报告.pdf", PDF, "application/octet-stream")}
    done = ward.ok("POST", f"/api/hms/charges/{exam['id']}/exam", data={"result": "双肺纹理增粗"}, files=report)
    assert (done["state"], done["exam_result"], done["report_name"]) == ("examined", "双肺纹理增粗", "胸片报告.pdf")
    again = ward.call("POST", f"/api/hms/charges/{exam['id']}/exam", data={"result": "改写"})
    assert again.status_code == 409 and again.json()["code"] == "already_examined", again.text
    assert ward.call("POST", f"/api/hms/charges/{plain['id']}/exam", data={"result": "x"}).status_code == 404

    download = ward.call("GET", f"/api/hms/charges/{exam['id']}/report")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    examined = ward.ok("GET", "/api/hms/exams", params={"state": "examined", "q": stay["number"]})["items"]
    assert [e["id"] for e in examined] == [exam["id"]]
    # Examined: no longer creditable.
    refused = ward.call("POST", f"/api/hms/charges/{exam['id']}/cancel", json={"reason": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "already_examined", refused.text


def test_a_result_arriving_after_discharge_is_still_recorded(ward: Ward) -> None:
    stay = new_stay(ward)
    (exam,) = book(ward, stay["id"], ("XM0002", 1))
    settle_in_database(ward, stay["id"])
    done = ward.ok("POST", f"/api/hms/charges/{exam['id']}/exam", data={"result": "血常规正常"})
    assert done["state"] == "examined" and done["report_name"] is None
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["charge_total"] == "25.00"


# --- the low-balance list ------------------------------------------------------------------------
def test_the_low_balance_list_is_lowest_first_and_exact_to_the_cent(any_ward: Ward) -> None:
    ward = any_ward
    threshold = "777.77"  # a line no other test's stay sits near
    owing = new_stay(ward, deposit="100.00")
    book(ward, owing["id"], ("XM0012", 1))  # 1500.00 self-paid: -1400.00
    short = new_stay(ward, deposit="700.00")  # 700.00
    rich = new_stay(ward, deposit="5000.00")
    # At 70 % a charge total of 1.45 is insured 1.02 (1.015 half up): the patient owes 0.43 and a
    # deposit of 778.20 leaves exactly 777.77 — not below the line, though 1.45 × 0.7 in floating
    # point (1.01499…) would put it a cent lower.
    edge = new_stay(ward, deposit="778.20", charge_type_id=ward.charge_type(EMPLOYEE_INSURANCE)["id"])
    with ward.engines["hms"].begin() as conn:
        conn.exec_driver_sql(f"UPDATE stays SET charge_total = 1.45 WHERE id = {int(edge['id'])}")
    assert ward.ok("GET", f"/api/hms/stays/{edge['id']}")["balance"] == "777.77"

    listed = ward.ok("GET", "/api/hms/low-balance", params={"threshold": threshold, "size": 200})
    ours = [s["id"] for s in listed["items"] if s["id"] in {owing["id"], short["id"], rich["id"], edge["id"]}]
    assert ours == [owing["id"], short["id"]]
    balances = [Decimal(s["balance"]) for s in listed["items"]]
    assert balances == sorted(balances) and all(b < Decimal(threshold) for b in balances)
    assert all(s["low_balance"] for s in listed["items"]) and listed["total"] == len(listed["items"])

    first = ward.ok("GET", "/api/hms/low-balance", params={"threshold": threshold, "size": 1, "page": 2})
    assert [s["id"] for s in first["items"]] == [listed["items"][1]["id"]] and first["total"] == listed["total"]
    # The default line is the setting's (500.00): the stay at 700.00 is not on it.
    default = [s["id"] for s in ward.ok("GET", "/api/hms/low-balance", params={"size": 200})["items"]]
    assert owing["id"] in default and short["id"] not in default

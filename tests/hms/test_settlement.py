"""出院结算 and 结算冲销: the figures a cashier reads and hands over, the deposits refunded or collected,
the bed freed, the stay closed to every write, and a reversal that puts it all back."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import insert, update

from hms.charges.models import Charge
from hms.drugs.models import DrugOrder
from hms.stays.models import Stay
from shared.clock import utcnow
from tests.hms.ward import EMPLOYEE_INSURANCE, Ward, ward_on
from tests.oms.outpatient_desk import hospital_today


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def ward(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    # MariaDB too: the stay's row lock and the unique reversal are what decide there.
    with ward_on(request.param, Path(tmp_path_factory.mktemp("settlement"))) as ward:
        yield ward


def charge(stay_id: int, category: str, name: str, amount: str, **fields: Any) -> dict[str, Any]:
    row = {
        "stay_id": stay_id, "kind": "item", "category": category, "item_id": 1, "code": name[:10], "name": name,
        "spec": "", "unit": "次", "unit_price": Decimal(amount), "quantity": 1, "amount": Decimal(amount),
        "state": "booked", "needs_exam": False, "created_by": "test", "created_at": utcnow(),
    }  # fmt: skip
    row.update(fields)
    return row


def book(ward: Ward, stay_id: int, *rows: dict[str, Any]) -> None:
    """Charges written as the account helper writes them: the rows and the stay's running sum together."""
    with ward.engines["hms"].begin() as conn:
        total = sum((r["amount"] for r in rows), Decimal("0.00"))
        conn.execute(
            update(Stay.__table__)
            .where(Stay.__table__.c.id == stay_id)
            .values(charge_total=Stay.__table__.c.charge_total + total)
        )  # type: ignore[attr-defined]
        conn.execute(insert(Charge.__table__), list(rows))  # type: ignore[arg-type]


def items_of(ward: Ward, stay_id: int) -> None:
    """1234.57 in three categories, one of them with a credited line."""
    book(
        ward, stay_id,
        charge(stay_id, "检查费", "胸部CT", "480.00"),
        charge(stay_id, "治疗费", "静脉输液", "654.57"),
        charge(stay_id, "化验费", "血常规", "100.00"),
        charge(stay_id, "化验费", "尿常规", "20.00", state="cancelled"),
        charge(stay_id, "化验费", "尿常规", "-20.00", quantity=-1, state="credit"),
    )  # fmt: skip


def stay_with(ward: Ward, deposit: str, **admission: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stay in a ward of its own at a bed costing nothing a day (so the figures do not depend on
    the day the test runs); answers the stay and its ward."""
    ward_ = ward.new_ward(beds=3, price="0.00")
    stay = ward.admit(ward_["bed_list"][0]["id"], deposit={"amount": deposit, "method": "cash"}, **admission)
    items_of(ward, stay["id"])
    return stay, ward_


def settle(ward: Ward, stay_id: int, status: int = 201, **body: Any) -> Any:
    return ward.ok("POST", f"/api/hms/stays/{stay_id}/settlement", status, json={"method": "cash", **body})


def test_a_self_pay_stay_is_settled_as_previewed_its_surplus_refunded_and_its_bed_freed(ward: Ward) -> None:
    stay, ward_ = stay_with(ward, "2000.00")
    preview = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert (preview["total"], preview["insured"], preview["self_pay"]) == ("1234.57", "0.00", "1234.57")
    assert (preview["deposits"], preview["refund"], preview["due"], preview["can_settle"]) == (
        "2000.00", "765.43", "0.00", True
    )  # fmt: skip
    assert {c["category"]: c["amount"] for c in preview["categories"]} == {
        "检查费": "480.00", "治疗费": "654.57", "化验费": "100.00"
    }  # fmt: skip
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 0

    done = settle(ward, stay["id"], expected_total=preview["total"])
    assert done["number"].startswith("JS") and done["kind"] == "settlement"
    for name in ("total", "insured", "self_pay", "deposits", "bed_days"):
        assert done[name] == preview[name], name
    assert (done["refunded"], done["collected"]) == ("765.43", "0.00")
    assert done["categories"] == preview["categories"]
    assert (done["stay_number"], done["patient_name"]) == (stay["number"], stay["patient_name"])
    assert [(d["kind"], d["amount"], d["method"]) for d in done["deposit_rows"]] == [
        ("settlement_refund", "-765.43", "cash")
    ]

    after = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert (after["state"], after["deposit_total"], after["balance"]) == ("settled", "1234.57", "0.00")
    assert after["discharged_at"] is not None
    bed = ward.ok("GET", f"/api/hms/beds/{ward_['bed_list'][0]['id']}")
    assert (bed["state"], bed["stay_id"]) == ("free", None)

    # The statistics hear of the money by department and charge type, never of the patient.
    feed = ward.rows("hms", "SELECT data FROM change_feed WHERE action = 'settled'")
    data = next(json.loads(f["data"]) for f in feed if json.loads(f["data"])["number"] == done["number"])
    assert (data["total"], data["department_id"]) == ("1234.57", stay["department_id"])
    assert stay["patient_name"] not in json.dumps(data, ensure_ascii=False)

    found = ward.ok("GET", "/api/hms/settlements", params={"q": stay["number"]})
    assert [s["id"] for s in found["items"]] == [done["id"]]
    assert ward.ok("GET", f"/api/hms/settlements/{done['id']}")["refunded"] == "765.43"


def test_an_insured_stay_pays_its_own_share_and_the_amount_due_is_collected(ward: Ward) -> None:
    insured = ward.charge_type(EMPLOYEE_INSURANCE)
    stay, _ = stay_with(ward, "200.00", charge_type_id=insured["id"])
    done = settle(ward, stay["id"], method="wechat")
    # 1234.57 × 0.70 = 864.199 → 864.20 to the cent; the patient pays the rest.
    assert (done["total"], done["insured"], done["self_pay"]) == ("1234.57", "864.20", "370.37")
    assert (Decimal(done["reimbursement_ratio"]), done["refunded"], done["collected"]) == (
        Decimal("0.70"), "0.00", "170.37"
    )  # fmt: skip
    assert [(d["kind"], d["amount"], d["method"]) for d in done["deposit_rows"]] == [
        ("settlement_collect", "170.37", "wechat")
    ]
    after = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert (after["deposit_total"], after["self_pay"], after["balance"]) == ("370.37", "370.37", "0.00")


def test_a_settled_stay_refuses_every_write(ward: Ward) -> None:
    stay, ward_ = stay_with(ward, "2000.00")
    settle(ward, stay["id"])
    deposits = ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=stay["id"])

    again = ward.call("POST", f"/api/hms/stays/{stay['id']}/settlement", json={"method": "cash"})
    assert again.status_code == 409 and again.json()["code"] == "stay_settled", again.text
    paid = ward.call("POST", f"/api/hms/stays/{stay['id']}/deposits", json={"amount": "100.00", "method": "cash"})
    assert paid.status_code == 409 and paid.json()["code"] == "stay_settled", paid.text
    moved = ward.call(
        "POST", f"/api/hms/stays/{stay['id']}/transfers", json={"bed_id": ward_["bed_list"][1]["id"], "reason": "换床"}
    )
    assert moved.status_code == 409 and moved.json()["code"] == "stay_settled", moved.text
    preview = ward.call("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert preview.status_code == 409 and preview.json()["code"] == "stay_settled"
    assert ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=stay["id"]) == deposits
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 1


def test_drugs_not_yet_dispensed_block_the_settlement_and_are_named(ward: Ward) -> None:
    stay, _ = stay_with(ward, "2000.00")
    with ward.engines["hms"].begin() as conn:
        order = {
            "number": f"YZ-T{stay['id']}", "stay_id": stay["id"], "state": "pending", "total": Decimal("25.00"),
            "created_by": "test", "created_at": utcnow(),
        }  # fmt: skip
        order_id = conn.execute(insert(DrugOrder.__table__).values(**order)).inserted_primary_key[0]  # type: ignore[arg-type]
    drug = charge(stay["id"], "药品费", "阿莫西林胶囊", "25.00", kind="drug", quantity=2, order_id=order_id)
    book(ward, stay["id"], drug)

    preview = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert preview["can_settle"] is False and preview["total"] == "1259.57"
    assert [(d["name"], d["quantity"], d["order_number"]) for d in preview["undispensed"]] == [
        ("阿莫西林胶囊", 2, f"YZ-T{stay['id']}")
    ]
    refused = ward.call("POST", f"/api/hms/stays/{stay['id']}/settlement", json={"method": "cash"})
    assert refused.status_code == 409 and refused.json()["code"] == "undispensed_drugs", refused.text
    assert "阿莫西林胶囊" in refused.json()["detail"] and f"YZ-T{stay['id']}" in refused.json()["detail"]
    assert refused.json()["drugs"][0]["quantity"] == 2
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["state"] == "admitted"
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 0

    # Once the pharmacy has handed it out, the stay settles with the drug in its total.
    with ward.engines["hms"].begin() as conn:
        conn.execute(update(Charge.__table__).where(Charge.__table__.c.order_id == order_id).values(state="dispensed"))  # type: ignore[attr-defined]
    assert settle(ward, stay["id"])["total"] == "1259.57"


def test_a_total_other_than_the_cashier_read_writes_nothing(ward: Ward) -> None:
    stay, ward_ = stay_with(ward, "2000.00")
    read = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")["total"]
    book(ward, stay["id"], charge(stay["id"], "治疗费", "雾化吸入", "30.00"))  # booked in between

    changed = ward.call(
        "POST", f"/api/hms/stays/{stay['id']}/settlement", json={"method": "cash", "expected_total": read}
    )
    assert changed.status_code == 409 and changed.json()["code"] == "account_changed", changed.text
    assert changed.json()["total"] == "1264.57"
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["state"] == "admitted"
    assert ward.ok("GET", f"/api/hms/beds/{ward_['bed_list'][0]['id']}")["state"] == "occupied"
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 0
    assert ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=stay["id"]) == 1


def test_the_settlement_document_is_a_pdf_with_the_stay_and_its_figures(ward: Ward) -> None:
    insured = ward.charge_type(EMPLOYEE_INSURANCE)
    stay, _ = stay_with(ward, "200.00", charge_type_id=insured["id"])
    done = settle(ward, stay["id"], method="wechat")
    answer = ward.call("GET", f"/api/hms/settlements/{done['id']}/pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    for shown in (stay["number"], done["number"], "住院结算单", "1,234.57", "864.20", "370.37", "170.37"):
        assert shown in text, shown
    assert "壹仟贰佰叁拾肆元伍角柒分" in text


def test_a_reversal_puts_the_stay_back_as_it_was_once_only(ward: Ward) -> None:
    stay, ward_ = stay_with(ward, "2000.00")
    before = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    done = settle(ward, stay["id"])
    path = f"/api/hms/settlements/{done['id']}/reverse"

    cashier = ward.stack.bearer(["hms:settlement:read", "hms:settlement:write"])
    refused = ward.call("POST", path, json={"reason": "结算有误"}, headers=cashier)
    assert refused.status_code == 403, refused.text

    back = ward.ok("POST", path, 201, json={"reason": "结算有误"})
    assert (back["kind"], back["reverses_id"], back["reason"]) == ("reversal", done["id"], "结算有误")
    assert (back["total"], back["self_pay"], back["refunded"]) == ("-1234.57", "-1234.57", "-765.43")
    assert [(d["kind"], d["amount"]) for d in back["deposit_rows"]] == [("reversal", "765.43")]
    stay_now = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert (stay_now["state"], stay_now["discharged_at"]) == ("admitted", None)
    assert (stay_now["deposit_total"], stay_now["charge_total"]) == (before["deposit_total"], done["total"])
    # Bed-days resume from the day of the reversal (tests/hms/test_bed_days.py: the nights away).
    resumed = ward.scalar("hms", "SELECT bed_days_from FROM stays WHERE id = :s", s=stay["id"])
    assert str(resumed) == hospital_today().isoformat()
    bed = ward.ok("GET", f"/api/hms/beds/{ward_['bed_list'][0]['id']}")
    assert (bed["state"], bed["stay_id"]) == ("occupied", stay["id"])
    assert ward.ok("GET", f"/api/hms/settlements/{done['id']}")["reversed_by_id"] == back["id"]
    paper = ward.call("GET", f"/api/hms/settlements/{back['id']}/pdf").content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(paper)).pages)
    assert "住院结算冲销单" in text and done["number"] in text and "结算有误" in text

    twice = ward.call("POST", path, json={"reason": "再冲一次"})
    assert twice.status_code == 409 and twice.json()["code"] == "already_reversed", twice.text
    of_reversal = ward.call("POST", f"/api/hms/settlements/{back['id']}/reverse", json={"reason": "冲销的冲销"})
    assert of_reversal.status_code == 409 and of_reversal.json()["code"] == "not_reversible", of_reversal.text
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 2

    # Admitted again, the stay is settled again like any other.
    assert settle(ward, stay["id"])["refunded"] == "765.43"


def test_a_reversal_into_a_bed_taken_meanwhile_is_refused_and_another_bed_can_be_named(ward: Ward) -> None:
    stay, ward_ = stay_with(ward, "2000.00")
    done = settle(ward, stay["id"])
    newcomer = ward.admit(ward_["bed_list"][0]["id"])
    path = f"/api/hms/settlements/{done['id']}/reverse"

    taken = ward.call("POST", path, json={"reason": "结算有误"})
    assert taken.status_code == 409 and taken.json()["code"] == "bed_taken", taken.text
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["state"] == "settled"
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 1
    assert ward.ok("GET", f"/api/hms/beds/{ward_['bed_list'][0]['id']}")["stay_id"] == newcomer["id"]

    other = ward_["bed_list"][1]
    ward.ok("POST", path, 201, json={"reason": "结算有误", "bed_id": other["id"]})
    stay_now = ward.ok("GET", f"/api/hms/stays/{stay['id']}")
    assert (stay_now["state"], stay_now["bed_id"], stay_now["bed_number"]) == ("admitted", other["id"], other["number"])
    assert ward.ok("GET", f"/api/hms/beds/{other['id']}")["stay_id"] == stay["id"]


def test_the_preview_shows_the_bed_days_the_settlement_then_charges(ward: Ward) -> None:
    ward_ = ward.new_ward(beds=1, price="40.00")
    stay = ward.admit(ward_["bed_list"][0]["id"], deposit={"amount": "500.00", "method": "cash"})
    # Admitted three days ago, nothing accrued yet: 算入不算出 charges those three nights at discharge.
    with ward.engines["hms"].begin() as conn:
        table = Stay.__table__
        conn.execute(update(table).where(table.c.id == stay["id"]).values(admitted_at=utcnow() - timedelta(days=3)))  # type: ignore[attr-defined]
    preview = ward.ok("GET", f"/api/hms/stays/{stay['id']}/settlement-preview")
    assert (preview["bed_days_due"], preview["bed_days_due_amount"], preview["total"]) == (3, "120.00", "120.00")
    assert ward.scalar("hms", "SELECT COUNT(*) FROM charges WHERE stay_id = :s", s=stay["id"]) == 0

    done = settle(ward, stay["id"], expected_total=preview["total"])
    assert (done["total"], done["bed_days"], done["refunded"]) == ("120.00", 3, "380.00")
    assert done["categories"] == [{"category": "床位费", "amount": "120.00"}]


def test_two_cashiers_settling_or_reversing_one_stay_at_once_do_it_once(ward: Ward) -> None:
    stay, _ = stay_with(ward, "2000.00")
    path = f"/api/hms/stays/{stay['id']}/settlement"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: ward.call("POST", path, json={"method": "cash"}), range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 1
    done = next(a.json() for a in answers if a.status_code == 201)

    reverse = f"/api/hms/settlements/{done['id']}/reverse"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: ward.call("POST", reverse, json={"reason": "重复结算"}), range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements WHERE stay_id = :s", s=stay["id"]) == 2
    assert ward.scalar("hms", "SELECT COUNT(*) FROM deposits WHERE stay_id = :s", s=stay["id"]) == 3
    assert ward.ok("GET", f"/api/hms/stays/{stay['id']}")["deposit_total"] == "2000.00"


def test_no_discharge_without_an_admission(ward: Ward) -> None:
    before = ward.scalar("hms", "SELECT COUNT(*) FROM settlements")
    for path in ("/api/hms/stays/999999/settlement", "/api/hms/stays/999999/settlement-preview"):
        method = "POST" if path.endswith("settlement") else "GET"
        answer = ward.call(method, path, json={"method": "cash"} if method == "POST" else None)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["detail"] == "住院记录不存在"
    bad_method = ward.call("POST", "/api/hms/stays/999999/settlement", json={"method": "gold"})
    assert bad_method.status_code == 422 and bad_method.json()["errors"][0]["field"] == "method", bad_method.text
    assert ward.scalar("hms", "SELECT COUNT(*) FROM settlements") == before

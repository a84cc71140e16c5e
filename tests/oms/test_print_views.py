"""The outpatient print views: 处方笺 of a drug order, 挂号单 of a visit, 检查报告单 of an examined line —
what each says, who may print it, and what none of them says (the ID card, the phone)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete
from sqlmodel import Session

from oms.exams.models import ExamFile, ExamResult
from oms.orders.models import Order, OrderLine
from oms.visits.models import Visit
from tests.oms.conftest import OmsApi
from tests.oms.test_patients import WANG
from tests.oms.test_receipt_pdf import text_of

# 10:30 at the hospital on 22 November 2026.
NOW = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
DEPARTMENT = 7


@dataclass(frozen=True)
class Desk:
    visit_id: int
    prescription_id: int
    item_order_id: int
    examined_line: int
    waiting_line: int


def _order(
    session: Session, visit: Visit, number: str, kind: str, lines: list[OrderLine], state: str = "paid"
) -> Order:
    order = Order(number=number, visit_id=visit.id, kind=kind, state=state, total=sum(li.amount for li in lines),
                  created_by="tester", created_at=NOW, updated_at=NOW, paid_at=NOW)  # fmt: skip
    session.add(order)
    session.flush()
    for line in lines:
        line.order_id = order.id  # type: ignore[assignment]
    session.add_all(lines)
    session.flush()
    return order


def _line(name: str, price: str, quantity: int = 1, **fields: object) -> OrderLine:
    values: dict[str, object] = {
        "item_id": 1, "code": name[:10], "name": name, "unit": "盒", "unit_price": Decimal(price),
        "quantity": quantity, "amount": Decimal(price) * quantity, "state": "paid", **fields,
    }  # fmt: skip
    return OrderLine(**values)  # type: ignore[arg-type]


@pytest.fixture
def desk(oms_api: OmsApi) -> Iterator[Desk]:
    """王小明 (ID card and phone on file) registered with 内科; a paid prescription of two drugs, and an
    item order with one line examined (two report files) and one still waiting for its result."""
    patient = oms_api.create("patients", WANG)
    with Session(oms_api.engine) as session:
        visit = Visit(
            number="MZ20261122-00042", patient_id=patient["id"], patient_name=WANG["name"], department_id=DEPARTMENT,
            department_name="内科", doctor_id=1, doctor_name="李医生", registration_type_id=1,
            registration_type_name="专家号", schedule_id=1, booking_key="print-1", visit_date=date(2026, 11, 22),
            shift="morning", queue_no=17, fee=Decimal("25.00"), fee_paid=True, state="paid", created_by="tester",
            created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        session.add(visit)
        session.flush()
        drugs = [
            _line("阿莫西林胶囊", "12.50", 2, spec="0.25g×24粒", usage="口服，一日三次，一次2粒"),
            _line("布洛芬缓释胶囊", "98.45", spec="0.3g×20粒"),
        ]
        prescription = _order(session, visit, "CF20261122-00003", "drug", drugs)
        items = [
            _line("胸部CT", "480.00", unit="次", needs_exam=True, state="examined"),
            _line("血常规", "20.00", unit="次", needs_exam=True),
        ]
        item_order = _order(session, visit, "XM20261122-00004", "item", items)
        result = ExamResult(line_id=items[0].id, visit_id=visit.id, text="双肺纹理清晰。\n结论：未见异常。",  # type: ignore[arg-type]
                            examined_by="ct_tech", examined_at=NOW)  # fmt: skip
        session.add(result)
        session.flush()
        for k, name in enumerate(("胸部CT报告.pdf", "影像.png"), start=1):
            session.add(ExamFile(result_id=result.id, key=f"exams/print-{k}", filename=name,  # type: ignore[arg-type]
                                 content_type="application/pdf", size=100, sha256=f"{k:064d}"))  # fmt: skip
        session.commit()
        yield Desk(visit.id, prescription.id, item_order.id, items[0].id, items[1].id)  # type: ignore[arg-type]
        # The next test's wipe empties the tables in order; the results go first here as they do there.
        session.execute(delete(ExamFile))
        session.execute(delete(ExamResult))
        session.commit()


def pdf_text(api: OmsApi, path: str, token: str | None = None) -> str:
    answer = api.get(path, token=token) if token else api.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    text, _ = text_of(answer.content)
    return text


def assert_nothing_personal(text: str) -> None:
    """Neither the ID card nor the phone, whole or masked (the last four digits are in both)."""
    for secret in (WANG["id_card"], WANG["phone"], "123X", "5678", "****"):
        assert secret not in text, secret


def test_the_prescription_names_the_patient_every_drug_the_total_and_the_pharmacists_lines(
    oms_api: OmsApi, desk: Desk
) -> None:
    text = pdf_text(oms_api, f"orders/{desk.prescription_id}/prescription.pdf")
    for expected in (
        "HAMP 示范医院", "处方笺", "CF20261122-00003", "MZ20261122-00042", "王小明", "男", "36岁", "内科", "李医生",
        "2026-11-22", "临床诊断", "阿莫西林胶囊", "0.25g×24粒", "用法：口服，一日三次，一次2粒", "布洛芬缓释胶囊",
        "¥12.50", "¥25.00", "¥98.45", "¥123.45", "壹佰贰拾叁元肆角伍分", "审核", "调配", "核对",
    ):  # fmt: skip
        assert expected in text, expected
    assert_nothing_personal(text)


def test_only_a_live_drug_order_has_a_prescription(oms_api: OmsApi, desk: Desk) -> None:
    items = oms_api.get(f"orders/{desk.item_order_id}/prescription.pdf")
    assert items.status_code == 409 and items.json()["code"] == "not_prescription", items.text
    assert items.headers["content-type"].startswith("application/problem+json")
    with Session(oms_api.engine) as session:
        order = session.get(Order, desk.prescription_id)
        assert order is not None
        order.state = "cancelled"
        session.commit()
    void = oms_api.get(f"orders/{desk.prescription_id}/prescription.pdf")
    assert void.status_code == 409 and void.json()["code"] == "order_cancelled", void.text
    assert "作废" in void.json()["detail"]
    assert oms_api.get("orders/999999/prescription.pdf").status_code == 404


def test_the_registration_slip_shows_where_and_when_to_go_and_the_fee(oms_api: OmsApi, desk: Desk) -> None:
    text = pdf_text(oms_api, f"visits/{desk.visit_id}/slip.pdf")
    for expected in ("门诊挂号单", "MZ20261122-00042", "王小明", "内科", "李医生", "专家号", "2026-11-22", "上午",
                     "17", "¥25.00", "已缴"):  # fmt: skip
        assert expected in text, expected
    assert_nothing_personal(text)


def test_the_exam_report_prints_the_result_its_files_and_who_examined_when(oms_api: OmsApi, desk: Desk) -> None:
    text = pdf_text(oms_api, f"exams/{desk.examined_line}/report.pdf")
    for expected in (
        "门诊检查报告单", "MZ20261122-00042", "XM20261122-00004", "王小明", "36岁", "胸部CT", "双肺纹理清晰。",
        "结论：未见异常。", "胸部CT报告.pdf", "影像.png", "ct_tech", "2026-11-22 10:30",
    ):  # fmt: skip
        assert expected in text, expected
    assert_nothing_personal(text)


def test_an_exam_without_its_result_has_no_report_yet(oms_api: OmsApi, desk: Desk) -> None:
    waiting = oms_api.get(f"exams/{desk.waiting_line}/report.pdf", headers={"Accept-Language": "zh-CN"})
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers["content-type"].startswith("application/problem+json")
    assert (waiting.json()["code"], waiting.json()["detail"]) == ("not_examined", "该项目尚未检查，没有检查报告单")


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("orders/{prescription_id}/prescription.pdf", "oms:order:read"),
        ("visits/{visit_id}/slip.pdf", "oms:visit:read"),
        ("exams/{examined_line}/report.pdf", "oms:exam:read"),
    ],
)
def test_each_print_view_needs_its_records_read_permission(
    oms_api: OmsApi, desk: Desk, path: str, permission: str
) -> None:
    url = path.format(**desk.__dict__)
    others = [p for p in ("oms:order:read", "oms:visit:read", "oms:exam:read", "oms:payment:read") if p != permission]
    refused = oms_api.get(url, token=oms_api.token(*others))
    assert refused.status_code == 403, refused.text
    pdf_text(oms_api, url, oms_api.token(permission))


@pytest.mark.parametrize("path", ["orders/{prescription_id}/prescription.pdf", "visits/{visit_id}/slip.pdf"])
def test_a_clerk_of_another_department_cannot_print_the_visits_papers(oms_api: OmsApi, desk: Desk, path: str) -> None:
    permissions = ("oms:order:read", "oms:visit:read")
    url = path.format(**desk.__dict__)
    elsewhere = oms_api.get(url, token=oms_api.token(*permissions, dept=[DEPARTMENT + 1]))
    assert elsewhere.status_code == 403, elsewhere.text
    pdf_text(oms_api, url, oms_api.token(*permissions, dept=[DEPARTMENT]))

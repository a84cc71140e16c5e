"""The printable receipt and the amount in Chinese capital numerals."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from oms.receipts.pdf import Receipt, ReceiptLine, money, render_receipt
from shared.amount_words import amount_in_words

LINES = [
    ReceiptLine("阿莫西林胶囊", "0.25g×24粒", "盒", 2, Decimal("12.50"), Decimal("25.00")),
    ReceiptLine("布洛芬缓释胶囊", "0.3g×20粒", "盒", 1, Decimal("98.45"), Decimal("98.45")),
]
PAYMENT = Receipt(
    hospital_name="示例市第一人民医院",
    number="SF20261122-00007",
    visit_number="MZ20261122-00042",
    patient_name="王小明",
    department_name="内科",
    doctor_name="李医生",
    kind_label="药费",
    method_label="微信",
    cashier="张收费",
    paid_at_local="2026-11-22 09:41",
    lines=LINES,
    total=Decimal("123.45"),
)


def text_of(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("10", "壹拾元整"),
        ("1001.10", "壹仟零壹元壹角整"),
        ("123.45", "壹佰贰拾叁元肆角伍分"),
        ("100000.00", "壹拾万元整"),
        ("1.05", "壹元零伍分"),
        ("1010", "壹仟零壹拾元整"),
        ("10000.01", "壹万元零壹分"),
        ("100010000", "壹亿零壹万元整"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-12.50", "负壹拾贰元伍角整"),
    ],
)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


def test_money_has_two_decimals_and_the_yuan_sign() -> None:
    assert money(Decimal("5")) == "¥5.00"
    assert money(Decimal("1234.5")) == "¥1,234.50"
    assert money(Decimal("-12.50")) == "-¥12.50"


def test_receipt_is_a_pdf_with_the_number_patient_and_total() -> None:
    pdf = render_receipt(PAYMENT)
    assert pdf.startswith(b"%PDF")
    text, pages = text_of(pdf)
    assert pages == 1
    for expected in (
        "示例市第一人民医院",
        "门诊收费票据",
        "SF20261122-00007",
        "MZ20261122-00042",
        "王小明",
        "内科",
        "李医生",
        "药费",
        "微信",
        "张收费",
        "2026-11-22 09:41",
        "阿莫西林胶囊",
        "¥12.50",
        "¥98.45",
        "¥123.45",
        "壹佰贰拾叁元肆角伍分",
    ):
        assert expected in text, expected
    assert "原票据号" not in text


def test_the_same_receipt_gives_the_same_bytes() -> None:
    assert render_receipt(PAYMENT) == render_receipt(PAYMENT)


def test_refund_receipt_names_the_payment_it_reverses() -> None:
    refund = replace(
        PAYMENT,
        number="SF20261122-00009",
        kind_label="退费",
        lines=[replace(LINES[0], amount=Decimal("-25.00"))],
        total=Decimal("-25.00"),
        refund_of="SF20261122-00007",
    )
    text, _ = text_of(render_receipt(refund))
    assert "门诊退费凭证" in text
    assert "原票据号" in text and "SF20261122-00007" in text
    assert "-¥25.00" in text
    assert "负贰拾伍元整" in text


def test_a_registration_receipt_without_lines_still_shows_the_total() -> None:
    registration = replace(PAYMENT, kind_label="挂号费", lines=[], total=Decimal("10.00"))
    text, _ = text_of(render_receipt(registration))
    assert "挂号费" in text and "¥10.00" in text and "壹拾元整" in text


def test_a_long_prescription_continues_on_further_pages() -> None:
    lines = [ReceiptLine(f"药品{i:03d}", "10mg×10片", "盒", 1, Decimal("1.00"), Decimal("1.00")) for i in range(1, 121)]
    text, pages = text_of(render_receipt(replace(PAYMENT, lines=lines, total=Decimal("120.00"))))
    assert pages > 1
    assert "药品001" in text and "药品120" in text
    assert text.count("项目名称") == pages, "the table header repeats on every page"
    assert "壹佰贰拾元整" in text


def test_markup_in_names_is_printed_as_text() -> None:
    odd = replace(PAYMENT, patient_name="<b>A&B</b>", lines=[replace(LINES[0], name="维C <500mg> & 锌")])
    text, _ = text_of(render_receipt(odd))
    assert "<b>A&B</b>" in text
    assert "维C <500mg> & 锌" in text

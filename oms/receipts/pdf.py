"""The printable receipt (收费票据) of a payment or refund: A5, Chinese, no font file needed (the
fonts, money and styles every printed document shares are shared/pdf.py's)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from shared.amount_words import amount_in_words
from shared.pdf import CHINESE, escape, figure, money, paragraph_styles, register_fonts, ruled_table

MARGIN = 10 * mm
# SimpleDocTemplate's frame keeps 6 pt inside the margins; tables must fit what is left.
WIDTH = A5[0] - 2 * MARGIN - 2 * 6


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    spec: str
    unit: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    hospital_name: str
    number: str  # the payment's number, SF…
    visit_number: str
    patient_name: str
    department_name: str
    doctor_name: str
    kind_label: str  # 挂号费 / 药费 / 检查费 / 退费
    method_label: str
    cashier: str
    paid_at_local: str  # as read at the hospital: "2026-11-22 09:41"
    lines: list[ReceiptLine] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    refund_of: str | None = None  # the number of the payment a refund reverses
    # A 医保 payment's split (None otherwise): 医保统筹支付 and 个人支付 with how the patient paid.
    charge_type: str | None = None
    insured: Decimal | None = None
    self_paid: Decimal | None = None
    self_method_label: str | None = None


def _details(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> Table:
    pairs = [
        ("票据号", figure(receipt.number)),
        ("就诊号", figure(receipt.visit_number)),
        ("患者", escape(receipt.patient_name)),
        ("科室", escape(receipt.department_name)),
        ("医生", escape(receipt.doctor_name)),
        ("收费类别", escape(receipt.kind_label)),
        ("支付方式", escape(receipt.method_label)),
        ("收费员", escape(receipt.cashier)),
        ("收费时间", figure(receipt.paid_at_local)),
    ]
    if receipt.refund_of:
        pairs.append(("原票据号", figure(receipt.refund_of)))
    cells = [Paragraph(f"{label}：{value}", styles["base"]) for label, value in pairs]
    if len(cells) % 2:
        cells.append(Paragraph("", styles["base"]))
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[WIDTH / 2, WIDTH / 2])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _lines(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> Table:
    cell, numeric = styles["cell"], styles["figure"]
    right = ParagraphStyle("right", cell, alignment=TA_RIGHT)
    header = [Paragraph(text, cell) for text in ("项目名称", "规格", "单位")]
    header += [Paragraph(text, right) for text in ("数量", "单价", "金额")]
    rows = [header]
    for line in receipt.lines:
        rows.append(
            [
                Paragraph(escape(line.name), cell),
                Paragraph(escape(line.spec), cell),
                Paragraph(escape(line.unit), cell),
                Paragraph(escape(str(line.quantity)), numeric),
                Paragraph(escape(money(line.unit_price)), numeric),
                Paragraph(escape(money(line.amount)), numeric),
            ]
        )
    widths = [0.34, 0.18, 0.09, 0.1, 0.14, 0.15]
    return ruled_table(rows, [WIDTH * w for w in widths], ("VALIGN", (0, 0), (-1, -1), "TOP"))


def _total(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> Table:
    base = styles["base"]
    rows = [
        [
            Paragraph(f"合计（大写）：{amount_in_words(receipt.total)}", base),
            Paragraph(
                f"合计：{figure(money(receipt.total), bold=True)}", ParagraphStyle("t", base, alignment=TA_RIGHT)
            ),
        ]
    ]
    if receipt.insured is not None and receipt.self_paid is not None:
        right = ParagraphStyle("r", base, alignment=TA_RIGHT)
        rows.append(
            [
                Paragraph(f"费别：{escape(receipt.charge_type or '')}", base),
                Paragraph(f"医保统筹支付：{figure(money(receipt.insured))}", right),
            ]
        )
        rows.append(
            [
                Paragraph(f"个人支付方式：{escape(receipt.self_method_label or '')}", base),
                Paragraph(f"个人支付：{figure(money(receipt.self_paid))}", right),
            ]
        )
    table = Table(rows, colWidths=[WIDTH * 0.68, WIDTH * 0.32])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _signatures(receipt: Receipt, styles: dict[str, ParagraphStyle]) -> Table:
    base = styles["base"]
    rows = [[Paragraph(f"收费员：{escape(receipt.cashier)}", base), Paragraph("患者签字：", base)]]
    table = Table(rows, colWidths=[WIDTH / 2, WIDTH / 2])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _page_footer(canvas: Canvas, document: BaseDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(CHINESE, 7.5)
    canvas.setFillColor(colors.grey)
    canvas.drawRightString(A5[0] - MARGIN, MARGIN / 2, f"第 {document.page} 页")
    canvas.restoreState()


def render_receipt(receipt: Receipt) -> bytes:
    """The receipt as a PDF document (A5 portrait; long lists continue on further pages)."""
    register_fonts()
    styles = paragraph_styles()
    title = "门诊退费凭证" if receipt.refund_of else "门诊收费票据"
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A5,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{receipt.hospital_name} {title} {receipt.number}",
        author=receipt.hospital_name,
        # The same receipt always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )
    story = [
        Paragraph(escape(receipt.hospital_name), styles["title"]),
        Paragraph(title, styles["subtitle"]),
        Spacer(1, 4 * mm),
        _details(receipt, styles),
        Spacer(1, 3 * mm),
        _lines(receipt, styles),
        Spacer(1, 2 * mm),
        _total(receipt, styles),
        Spacer(1, 6 * mm),
        _signatures(receipt, styles),
        Spacer(1, 3 * mm),
        Paragraph("本票据为门诊收费凭证，请妥善保管；退费请持本票据到收费窗口办理。", styles["note"]),
    ]
    document.build(story, onFirstPage=_page_footer, onLaterPages=_page_footer)
    return buffer.getvalue()

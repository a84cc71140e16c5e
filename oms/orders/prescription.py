"""The printable prescription (处方笺) of an outpatient drug order: A5, Chinese, from what was frozen
when it was priced (names, specs and prices), never from today's price list (fonts, money, styles:
shared/pdf.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from fastapi import Response
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.ext.asyncio import AsyncSession

from oms.orders import service
from oms.orders.models import OrderKind, OrderState
from oms.printing import sex_and_age
from oms.settings import OmsSettings
from oms.visits import service as visits
from shared import scope
from shared.amount_words import amount_in_words
from shared.auth import Principal
from shared.clock import local_date
from shared.errors import Conflict
from shared.i18n import Text
from shared.pdf import escape, figure, grid, money, paragraph_styles, pdf_response, register_fonts, ruled_table

MARGIN = 10 * mm
# SimpleDocTemplate's frame keeps 6 pt inside the margins; tables must fit what is left.
WIDTH = A5[0] - 2 * MARGIN - 2 * 6
OUT_OF_SCOPE = Text("该处方不在您的科室范围内", "This prescription is outside your departments")


@dataclass(frozen=True)
class PrescriptionLine:
    name: str
    spec: str
    quantity: int
    unit: str
    usage: str | None
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Prescription:
    hospital_name: str
    number: str  # CF…
    visit_number: str
    patient_name: str
    sex: str  # 男 / 女, or empty
    age: str  # 45岁, or empty
    department_name: str
    doctor_name: str
    prescribed_on: str  # the hospital's date it was priced: 2026-11-22
    diagnosis: str | None = None
    lines: list[PrescriptionLine] = field(default_factory=list)
    total: Decimal = Decimal("0.00")


def _lines(paper: Prescription, styles: dict[str, ParagraphStyle]) -> Table:
    cell, numeric = styles["cell"], styles["figure"]
    right = ParagraphStyle("right", cell, alignment=TA_RIGHT)
    header = [Paragraph(text, cell) for text in ("药品名称", "规格")]
    header += [Paragraph(text, right) for text in ("数量", "单位", "单价", "金额")]
    rows = [header]
    for line in paper.lines:
        name = escape(line.name)
        if line.usage:
            # The usage belongs to its drug: under the name, where the pharmacist reads it.
            name += f'<br/><font size="7.5">用法：{escape(line.usage)}</font>'
        rows.append(
            [
                Paragraph(name, cell),
                Paragraph(escape(line.spec), cell),
                Paragraph(escape(str(line.quantity)), numeric),
                Paragraph(escape(line.unit), right),
                Paragraph(escape(money(line.unit_price)), numeric),
                Paragraph(escape(money(line.amount)), numeric),
            ]
        )
    widths = [0.38, 0.2, 0.08, 0.08, 0.13, 0.13]
    return ruled_table(rows, [WIDTH * w for w in widths], ("VALIGN", (0, 0), (-1, -1), "TOP"))


def _signatures(paper: Prescription, base: ParagraphStyle) -> Table:
    """医师 printed (the doctor signs over it); 审核, 调配, 核对 left blank on a line for the pharmacists."""
    label_width, blank_width = WIDTH * 0.14, WIDTH * 0.36
    rows = [
        [Paragraph("医师：", base), Paragraph(escape(paper.doctor_name), base),
         Paragraph("审核：", base), Paragraph("", base)],
        [Paragraph("调配：", base), Paragraph("", base), Paragraph("核对：", base), Paragraph("", base)],
    ]  # fmt: skip
    table = Table(rows, colWidths=[label_width, blank_width] * 2, rowHeights=8 * mm)
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
                ("LINEBELOW", (3, 0), (3, -1), 0.5, colors.black),
            ]
        )
    )
    return table


def render_prescription(paper: Prescription) -> bytes:
    """The prescription as a PDF document (A5 portrait; a long one continues on further pages)."""
    register_fonts()
    styles = paragraph_styles()
    base = styles["base"]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A5, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{paper.hospital_name} 处方笺 {paper.number}", author=paper.hospital_name,
        # The same prescription always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )  # fmt: skip
    numbers = [("处方号", figure(paper.number)), ("就诊号", figure(paper.visit_number))]
    details = [
        ("姓名", escape(paper.patient_name)),
        ("性别", escape(paper.sex)),
        ("年龄", escape(paper.age)),
        ("科室", escape(paper.department_name)),
        ("医师", escape(paper.doctor_name)),
        ("日期", figure(paper.prescribed_on)),
    ]
    right = ParagraphStyle("right", base, alignment=TA_RIGHT)
    story = [
        Paragraph(escape(paper.hospital_name), styles["title"]),
        Paragraph("处方笺", styles["subtitle"]),
        Paragraph("普通处方", ParagraphStyle("kind", styles["note"], alignment=TA_RIGHT)),
        Spacer(1, 2 * mm),
        grid(numbers, base, WIDTH, columns=2),
        grid(details, base, WIDTH),
        Paragraph(f"临床诊断：{escape(paper.diagnosis or '')}", base),
        Spacer(1, 2 * mm),
        Paragraph("Rp", ParagraphStyle("rp", base, fontName="Helvetica-Bold", fontSize=12, leading=16)),
        _lines(paper, styles),
        Spacer(1, 2 * mm),
        Paragraph(f"药品金额：{figure(money(paper.total), bold=True)}", right),
        Paragraph(f"（大写）{amount_in_words(paper.total)}", right),
        Spacer(1, 4 * mm),
        _signatures(paper, base),
        Spacer(1, 3 * mm),
        Paragraph("本处方当日有效；取药请核对姓名、药品与数量。", styles["note"]),
    ]
    document.build(story)
    return buffer.getvalue()


async def prescription_pdf(
    session: AsyncSession, order_id: int, settings: OmsSettings, principal: Principal
) -> Response:
    """处方笺 of a drug order; an item order (项目单) has none, a cancelled one is void (409)."""
    order = await service.get_order(session, order_id)
    visit = await visits.get_visit(session, order.visit_id)
    scope.check(principal.departments, visit.department_id, OUT_OF_SCOPE)
    if order.kind != OrderKind.drug:
        raise Conflict(
            Text("项目单不是处方，没有处方笺", "An item order is not a prescription"), code="not_prescription"
        )
    if order.state == OrderState.cancelled:
        raise Conflict(Text("该处方已作废，不能打印", "This prescription is cancelled"), code="order_cancelled")
    sex, age = await sex_and_age(session, visit)
    lines = await service.order_lines(session, order_id)
    paper = Prescription(
        hospital_name=settings.hospital_name, number=order.number, visit_number=visit.number,
        patient_name=visit.patient_name, sex=sex, age=age, department_name=visit.department_name,
        doctor_name=visit.doctor_name, prescribed_on=local_date(order.created_at, settings.timezone).isoformat(),
        lines=[PrescriptionLine(line.name, line.spec, line.quantity, line.unit, line.usage, line.unit_price,
                                line.amount) for line in lines],
        total=order.total,
    )  # fmt: skip
    return pdf_response(render_prescription(paper), f"{order.number}.pdf")

"""The printable registration slip (挂号单) the patient carries to the doctor's door: A6, Chinese,
from the visit as registered (fonts, money and styles: shared/pdf.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from fastapi import Response
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy.ext.asyncio import AsyncSession

from oms.settings import OmsSettings
from oms.visits import service
from oms.visits.models import VisitState
from shared import scope
from shared.auth import Principal
from shared.errors import Conflict
from shared.i18n import Text
from shared.pdf import FIGURES_BOLD, escape, figure, grid, money, paragraph_styles, pdf_response, register_fonts

MARGIN = 8 * mm
WIDTH = A6[0] - 2 * MARGIN - 2 * 6
OUT_OF_SCOPE = Text("该就诊不在您的科室范围内", "This visit is outside your departments")


@dataclass(frozen=True)
class Slip:
    hospital_name: str
    visit_number: str  # MZ…
    patient_name: str
    department_name: str
    doctor_name: str
    registration_type_name: str
    visit_date: str  # 2026-11-22
    shift_label: str  # 上午 / 下午
    queue_no: int | None
    fee: Decimal
    fee_paid: bool


def render_slip(slip: Slip) -> bytes:
    """The slip as a PDF document (A6 portrait, one page)."""
    register_fonts()
    styles = paragraph_styles()
    base = styles["base"]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A6, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{slip.hospital_name} 挂号单 {slip.visit_number}", author=slip.hospital_name,
        # The same slip always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )  # fmt: skip
    story = [
        Paragraph(escape(slip.hospital_name), ParagraphStyle("h", styles["title"], fontSize=12, leading=16)),
        Paragraph("门诊挂号单", styles["subtitle"]),
        Spacer(1, 3 * mm),
    ]
    if slip.queue_no:
        # What the patient looks for on the screen at the door: large, alone on its line.
        big = ParagraphStyle("queue", base, fontSize=13, leading=22, alignment=TA_CENTER)
        story.append(Paragraph(f'候诊号：<font name="{FIGURES_BOLD}" size="20">{slip.queue_no}</font>', big))
        story.append(Spacer(1, 2 * mm))
    paid = "已缴" if slip.fee_paid else "未缴"
    pairs = [
        ("就诊号", figure(slip.visit_number)),
        ("姓名", escape(slip.patient_name)),
        ("科室", escape(slip.department_name)),
        ("医生", escape(slip.doctor_name)),
        ("挂号类型", escape(slip.registration_type_name)),
        ("就诊日期", f"{figure(slip.visit_date)} {escape(slip.shift_label)}"),
        ("挂号费", f"{figure(money(slip.fee), bold=True)}（{paid}）"),
    ]
    story += [
        grid(pairs, base, WIDTH, columns=1),
        Spacer(1, 3 * mm),
        Paragraph("请按候诊号在诊室外等候叫号；当日当班有效。", styles["note"]),
    ]
    document.build(story)
    return buffer.getvalue()


async def slip_pdf(session: AsyncSession, visit_id: int, settings: OmsSettings, principal: Principal) -> Response:
    """挂号单 of a visit; a cancelled registration (退号) has none (409)."""
    visit = await service.get_visit(session, visit_id)
    scope.check(principal.departments, visit.department_id, OUT_OF_SCOPE)
    if visit.state == VisitState.cancelled:
        raise Conflict(Text("该挂号已退号，不能打印挂号单", "This registration is cancelled"), code="visit_cancelled")
    slip = Slip(
        hospital_name=settings.hospital_name, visit_number=visit.number, patient_name=visit.patient_name,
        department_name=visit.department_name, doctor_name=visit.doctor_name,
        registration_type_name=visit.registration_type_name, visit_date=visit.visit_date.isoformat(),
        shift_label=service.SHIFT_LABELS[visit.shift].zh if visit.shift in service.SHIFT_LABELS else visit.shift,
        queue_no=visit.queue_no or None, fee=visit.fee, fee_paid=visit.fee_paid,
    )  # fmt: skip
    return pdf_response(render_slip(slip), f"{visit.number}.pdf")

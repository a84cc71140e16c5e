"""The printable examination report (检查报告单), one layout for the outpatient (oms) and inpatient
(hms) examinations: A4, Chinese, drawn from the result as recorded (fonts and styles: shared/pdf.py).

Each service says who and where the patient is in its own words (`details`); the item, the
result, the attached files' names and who examined when are the same on both.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from shared.pdf import escape, figure, grid, paragraph_styles, register_fonts

MARGIN = 15 * mm
# SimpleDocTemplate's frame keeps 6 pt inside the margins; tables must fit what is left.
WIDTH = A4[0] - 2 * MARGIN - 2 * 6


def printed(value: str) -> str:
    """A value for `details`: numbers, dates and business numbers in the figures' font, words as text."""
    return figure(value) if value.isascii() else escape(value)


@dataclass(frozen=True)
class ExamReport:
    hospital_name: str
    title: str  # 门诊检查报告单 / 住院检查报告单
    number: str  # what the document is filed under: the visit's or stay's number
    # (label, markup) pairs about the patient and where they are: printed() values.
    details: list[tuple[str, str]]
    item_name: str
    result: str
    examined_by: str
    examined_at_local: str  # 2026-11-22 10:05
    files: list[str] = field(default_factory=list)


def _block(heading: str, body: list[Paragraph], styles: dict[str, ParagraphStyle]) -> Table:
    table = Table([[Paragraph(heading, styles["base"])], *[[p] for p in body]], colWidths=[WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
            ]
        )
    )
    return table


def render_exam_report(report: ExamReport) -> bytes:
    """The report as a PDF document (A4 portrait; a long result continues on further pages)."""
    register_fonts()
    styles = paragraph_styles()
    base = styles["base"]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{report.hospital_name} {report.title} {report.number}", author=report.hospital_name,
        # The same result always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )  # fmt: skip
    # The result as typed: its line breaks kept, each paragraph wrapped to the page.
    result = [Paragraph(escape(line) or "&nbsp;", base) for line in report.result.splitlines() or [""]]
    files = [Paragraph(escape(name), base) for name in report.files] or [Paragraph("无", base)]
    signed = [("检查者", escape(report.examined_by)), ("检查时间", figure(report.examined_at_local)), ("审核", "")]
    story = [
        Paragraph(escape(report.hospital_name), styles["title"]),
        Paragraph(escape(report.title), styles["subtitle"]),
        Spacer(1, 4 * mm),
        grid(report.details, base, WIDTH),
        Spacer(1, 2 * mm),
        grid([("检查项目", escape(report.item_name))], base, WIDTH, columns=1),
        Spacer(1, 3 * mm),
        _block("检查结果", result, styles),
        Spacer(1, 4 * mm),
        _block("附件（报告文件）", files, styles),
        Spacer(1, 8 * mm),
        grid(signed, base, WIDTH),
        Spacer(1, 3 * mm),
        Paragraph("本报告仅对所检项目负责；附件可在系统中查看与下载。", styles["note"]),
    ]
    document.build(story)
    return buffer.getvalue()

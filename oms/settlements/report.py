"""The settlement as the cashier hands it over: a printable PDF (A4, Chinese) and an XLSX sheet.

Both are drawn from the totals stored at closing time, never recomputed, so the paper and the
sheet say what the settlement said then. One table layout (`_sections`) feeds both formats.
"""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import quote

from fastapi import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from oms.payments.models import PaymentKind
from oms.payments.receipts import KIND_LABELS, METHOD_LABELS
from oms.settings import OmsSettings
from oms.settlements.models import CashierSettlement, NumberRange, SettlementTotals
from shared.clock import local_time
from shared.pdf import CHINESE, FIGURES, money, register_fonts

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN - 12

Cell = str | int | Decimal
Section = tuple[str, list[list[Cell]]]  # a title and its rows (the first row is the header)


def _range(numbers: NumberRange | None) -> list[Cell]:
    return [numbers.first, numbers.last, numbers.count] if numbers else ["—", "—", 0]


def _sections(settlement: CashierSettlement, totals: SettlementTotals, timezone: str) -> list[Section]:
    def when(moment: object) -> str:
        return local_time(moment, timezone) if moment else "—"  # type: ignore[arg-type]

    return [
        (
            "结账信息",
            [
                ["项目", "内容"],
                ["结账单号", settlement.number],
                ["收费员", f"{settlement.cashier_name}（{settlement.cashier}）"],
                ["营业日期", settlement.business_date.isoformat()],
                ["结账时间", when(settlement.cutoff)],
                ["首笔时间", when(totals.first_at)],
                ["末笔时间", when(totals.last_at)],
            ],
        ),
        (
            "汇总",
            [
                ["项目", "金额 / 笔数"],
                ["收费笔数", totals.payment_count],
                ["退费笔数", totals.refund_count],
                ["收费金额", totals.received],
                ["退费金额", totals.refunded],
                ["实收合计", totals.net],
                ["医保统筹支付", totals.insured],
                ["个人支付", totals.self_paid],
            ],
        ),
        (
            "按支付方式",
            [["支付方式", "收费", "退费", "净额"]]
            + [[METHOD_LABELS.get(m.method, m.method), m.received, m.refunded, m.net] for m in totals.by_method],
        ),
        (
            "按收费类别（退费计入原收费类别）",
            [["类别", "收费笔数", "退费笔数", "收费", "退费", "净额"]]
            + [
                [KIND_LABELS[PaymentKind(k.kind)], k.payment_count, k.refund_count, k.received, k.refunded, k.net]
                for k in totals.by_kind
            ],
        ),
        (
            "票据号段",
            [
                ["票据", "起号", "止号", "张数"],
                ["收费票据", *_range(totals.payment_numbers)],
                ["退费凭证", *_range(totals.refund_numbers)],
            ],
        ),
    ]


def _text(cell: Cell) -> str:
    return money(cell) if isinstance(cell, Decimal) else str(cell)


def render_pdf(settlement: CashierSettlement, settings: OmsSettings) -> bytes:
    register_fonts()
    totals = SettlementTotals.model_validate_json(settlement.totals)
    base = ParagraphStyle("base", fontName=CHINESE, fontSize=10, leading=14, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=TA_CENTER)
    heading = ParagraphStyle("heading", parent=base, fontSize=11, leading=16, spaceBefore=6)
    figure = ParagraphStyle("figure", parent=base, fontName=FIGURES)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{settings.hospital_name} 门诊收费日结单 {settlement.number}", author=settings.hospital_name,
        invariant=True,
    )  # fmt: skip
    story: list = [
        Paragraph(settings.hospital_name, title),
        Paragraph("门诊收费员日结单", ParagraphStyle("sub", parent=title, fontSize=12, leading=18)),
        Spacer(1, 4 * mm),
    ]
    for name, rows in _sections(settlement, totals, settings.timezone):
        story.append(Paragraph(name, heading))
        cells = [
            [Paragraph(_text(c), figure if isinstance(c, Decimal | int) and r else base) for c in row]
            for r, row in enumerate(rows)
        ]
        table = Table(cells, colWidths=[WIDTH / len(rows[0])] * len(rows[0]), repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    story += [Spacer(1, 12 * mm), Paragraph("收费员签字：　　　　　　　　　　　　审核人签字：", base)]
    document.build(story)
    return buffer.getvalue()


def render_xlsx(settlement: CashierSettlement, settings: OmsSettings) -> bytes:
    totals = SettlementTotals.model_validate_json(settlement.totals)
    book = Workbook()
    sheet = book.active
    sheet.title = "日结单"
    sheet.append([f"{settings.hospital_name} 门诊收费员日结单"])
    sheet["A1"].font = Font(bold=True, size=14)
    for name, rows in _sections(settlement, totals, settings.timezone):
        sheet.append([])
        sheet.append([name])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        for index, row in enumerate(rows):
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if index == 0:
                    cell.font = Font(bold=True)
                elif isinstance(cell.value, Decimal | float):
                    cell.number_format = "#,##0.00"
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = 20
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _attachment(content: bytes, media_type: str, filename: str, inline: bool) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}"},
    )


def pdf_answer(settlement: CashierSettlement, settings: OmsSettings) -> Response:
    return _attachment(render_pdf(settlement, settings), "application/pdf", f"{settlement.number}.pdf", inline=True)


def xlsx_answer(settlement: CashierSettlement, settings: OmsSettings) -> Response:
    return _attachment(render_xlsx(settlement, settings), XLSX, f"{settlement.number}.xlsx", inline=False)

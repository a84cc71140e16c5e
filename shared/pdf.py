"""What every printed document of the platform shares (an outpatient receipt, a cashier's settlement,
an inpatient discharge settlement): Chinese without a font file, figures, money, and the styles.

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe's, which every PDF reader
has), so nothing is embedded or installed. Figures and the yuan sign use Helvetica: the CID
font's GB character set has no half-width ¥.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Response
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, Table, TableStyle  # type: ignore[import-untyped]

CHINESE = "STSong-Light"
FIGURES = "Helvetica"
FIGURES_BOLD = "Helvetica-Bold"


def money(amount: Decimal) -> str:
    """¥1,234.50; a refund's negative amount as -¥12.50."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def register_fonts() -> None:
    # Registering twice is harmless but not free; reportlab keeps a process-wide registry.
    if CHINESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))


def paragraph_styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=CHINESE, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=15, leading=20, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, leading=15, alignment=TA_CENTER),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "figure": ParagraphStyle("figure", parent=base, fontName=FIGURES, fontSize=8.5, leading=11, alignment=TA_RIGHT),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=10, textColor=colors.grey),
    }


def escape(text: str) -> str:
    # Paragraph reads a small markup language: a name with "<" or "&" must stay text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def figure(text: str, bold: bool = False) -> str:
    """`text` (a number, a date, a business number) in the figures' font, inside a Paragraph."""
    return f'<font name="{FIGURES_BOLD if bold else FIGURES}">{escape(text)}</font>'


def grid(pairs: list[tuple[str, str]], style: ParagraphStyle, width: float, columns: int = 3) -> Table:
    """`label：value` pairs laid out in `columns` columns, left to right (values are markup: escape
    text, `figure()` numbers)."""
    cells = [Paragraph(f"{label}：{value}", style) for label, value in pairs]
    cells += [Paragraph("", style)] * (-len(cells) % columns)
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    table = Table(rows, colWidths=[width / columns] * columns)
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return table


# The lines of a document's table: a rule above and below the header, a heavier one under the last row.
RULES = [
    ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
    ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
    ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
]


def ruled_table(rows: list[list[Any]], widths: list[float], *style: tuple[Any, ...]) -> Table:
    """A receipt's, prescription's or settlement's table of lines, its header repeated on every page."""
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([*RULES, *style]))
    return table


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A printed document as the browser opens it in a tab (inline), saved under `filename`."""
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )

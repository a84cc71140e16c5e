"""The print view of a statistics report (docs/statistics.md, "Reports"): title, filters, summary
figures, the chart and the table with its total, from the one report shape every report answers.

The chart is drawn with reportlab.graphics (vector, no browser): a line chart for series over time,
a bar chart for comparisons (`chart.type`), one line or bar group per `chart.series` with a legend.
Series of different units never share an axis: money is drawn on the main chart, counts (人次,
床日) and percentages each on a smaller chart of their own below it, as a second axis would only
squeeze one of them flat. The table turns to landscape A4 when it has too many columns for
portrait; long tables continue on further pages with their header repeated.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart  # type: ignore[import-untyped]
from reportlab.graphics.charts.legends import Legend  # type: ignore[import-untyped]
from reportlab.graphics.charts.linecharts import HorizontalLineChart  # type: ignore[import-untyped]
from reportlab.graphics.shapes import Drawing, String  # type: ignore[import-untyped]
from reportlab.graphics.widgets.markers import makeMarker  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER, TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]
from reportlab.platypus.doctemplate import BaseDocTemplate  # type: ignore[import-untyped]

from shared.pdf import CHINESE, FIGURES, FIGURES_BOLD, escape, figure, grid, paragraph_styles, register_fonts

MARGIN = 12 * mm
# More columns than this do not fit portrait A4 at a readable size.
PORTRAIT_COLUMNS = 7
# Category labels under a chart beyond this many would overlap: every n-th is shown (fewer when
# they are slanted, as long ones are).
MAX_LABELS = 24
MAX_SLANTED_LABELS = 16
# Markers on a line only while they can be told apart.
MAX_MARKERS = 40
PALETTE = [
    colors.HexColor(c) for c in ("#2f6fd6", "#e8833a", "#3aa757", "#d64545", "#8e5bd0", "#1fa2b8", "#c9a227", "#7a7a7a")
]
# Which series may share a chart: its axis is in one unit.
AXIS_OF = {"money": "money", "count": "count", "days": "count", "percent": "percent"}
AXIS_CAPTION = {"money": "金额（元）", "count": "人次 / 数量", "percent": "百分比（%）"}
METHOD_LABELS = {"cash": "现金", "card": "银行卡", "wechat": "微信", "alipay": "支付宝", "insurance": "医保"}
FILTER_LABELS = {"department_id": "科室", "doctor_id": "医生", "method": "支付方式", "year": "年份", "date": "日期"}


# --- values -------------------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def formatted(value: Any, kind: str) -> str:
    """A cell as printed: money with two decimals and thousands separators, counts whole, a percent
    with its sign, and — where there is nothing (a growth rate with no last year to compare with)."""
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    number = _decimal(value)
    if number is None:
        return str(value)
    if kind == "money":
        return f"{number:,.2f}"
    if kind in ("count", "days"):
        return f"{number:,.0f}"
    if kind == "percent":
        return f"{number.normalize():f}%"
    return str(value)


def _plotted(value: Any) -> float | None:
    """A value as the chart draws it (a position on paper, not money: float is what it needs)."""
    number = _decimal(value)
    return float(number) if number is not None else None


# --- heading --------------------------------------------------------------------------------------
def _filters(report: Mapping[str, Any]) -> str:
    """The filters as a reader says them: 统计期间 2026-01-01 至 2026-12-31　科室：内科; unset ones left out.
    A report may name what its ids stand for in `filter_labels` ({"department_id": "内科"})."""
    filters: Mapping[str, Any] = report.get("filters") or {}
    named: Mapping[str, Any] = report.get("filter_labels") or {}
    parts = []
    start, end = filters.get("date_from"), filters.get("date_to")
    if start or end:
        parts.append(f"统计期间：{figure(str(start or '…'))} 至 {figure(str(end or '…'))}")
    for key, label in FILTER_LABELS.items():
        value = filters.get(key)
        if value is None or value == "":
            continue
        shown = named.get(key) or (METHOD_LABELS.get(str(value), str(value)) if key == "method" else str(value))
        parts.append(f"{label}：{figure(shown) if str(shown).isascii() else escape(str(shown))}")
    return "　".join(parts) or "全部数据"


def _as_of(report: Mapping[str, Any], timezone: str) -> str | None:
    raw = report.get("as_of")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


# --- chart ----------------------------------------------------------------------------------------
def _axis_format(axis: str) -> Callable[[float], str]:
    if axis == "percent":
        return lambda v: f"{v:g}%"
    return lambda v: f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.1f}"


def _plot(
    chart_type: str,
    axis: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, list[float | None]]],
    width: float,
    height: float,
    first_colour: int,
) -> Drawing:
    drawing = Drawing(width, height)
    rotate = len(categories) > 12
    bottom = 42 if rotate else 22
    plot: Any = VerticalBarChart() if chart_type == "bar" else HorizontalLineChart()
    plot.x, plot.y = 48, bottom
    plot.width, plot.height = width - 60, height - bottom - 34
    plot.data = [tuple(values) for _, values in series]
    step = math.ceil(len(categories) / (MAX_SLANTED_LABELS if rotate else MAX_LABELS))
    plot.categoryAxis.categoryNames = [c if i % step == 0 else "" for i, c in enumerate(categories)]
    plot.categoryAxis.visibleTicks = step == 1
    labels = plot.categoryAxis.labels
    labels.fontName, labels.fontSize = CHINESE, 7
    if rotate:
        labels.angle, labels.boxAnchor, labels.dx, labels.dy = 35, "ne", 2, -2
    values = [v for _, row in series for v in row if v is not None]
    plot.valueAxis.valueMin = min([0.0, *values])
    if not values or max(values) <= plot.valueAxis.valueMin:
        plot.valueAxis.valueMax = plot.valueAxis.valueMin + 1  # an all-zero chart still has an axis
    plot.valueAxis.rangeRound = "both"  # the axis ends on a labelled tick above the highest value
    plot.valueAxis.labels.fontName, plot.valueAxis.labels.fontSize = FIGURES, 7
    plot.valueAxis.labelTextFormat = _axis_format(axis)
    plot.valueAxis.visibleGrid, plot.valueAxis.gridStrokeColor = True, colors.HexColor("#e3e3e3")
    pairs = []
    for index, (label, _) in enumerate(series):
        colour = PALETTE[(first_colour + index) % len(PALETTE)]
        if chart_type == "bar":
            plot.bars[index].fillColor, plot.bars[index].strokeColor = colour, None
        else:
            plot.lines[index].strokeColor, plot.lines[index].strokeWidth = colour, 1.5
            if len(categories) <= MAX_MARKERS:
                marker = makeMarker("FilledCircle")
                marker.size, marker.fillColor, marker.strokeColor = 3.5, colour, colour
                plot.lines[index].symbol = marker
        pairs.append((colour, label))
    if chart_type == "bar":
        plot.groupSpacing, plot.barSpacing = 6, 0.5
    drawing.add(plot)
    legend = Legend()
    legend.colorNamePairs = pairs
    legend.fontName, legend.fontSize = CHINESE, 8
    legend.x, legend.y, legend.alignment = width - 8, height - 6, "right"
    legend.columnMaximum, legend.dx, legend.dy, legend.deltax = 1, 8, 8, 10
    legend.boxAnchor = "ne"
    drawing.add(legend)
    drawing.add(String(plot.x - 40, height - 14, AXIS_CAPTION[axis], fontName=CHINESE, fontSize=8))
    return drawing


def _charts(report: Mapping[str, Any], columns: Mapping[str, Mapping[str, Any]], width: float) -> list[Flowable]:
    chart: Mapping[str, Any] | None = report.get("chart")
    rows: Sequence[Mapping[str, Any]] = report.get("rows") or []
    if not chart or not rows:
        return []
    x = str(chart.get("x"))
    x_kind = columns.get(x, {}).get("kind", "text")
    categories = [formatted(row.get(x), x_kind) for row in rows]
    groups: dict[str, list[tuple[str, list[float | None]]]] = {}
    for key in chart.get("series") or []:
        column = columns.get(key)
        if column is None:
            continue
        axis = AXIS_OF.get(column.get("kind", ""), "count")
        groups.setdefault(axis, []).append((str(column.get("label", key)), [_plotted(row.get(key)) for row in rows]))
    chart_type = "bar" if chart.get("type") == "bar" else "line"
    out: list[Flowable] = []
    colour = 0
    # The first series' unit is the report's subject: its chart is the large one.
    for position, (axis, series) in enumerate(groups.items()):
        height = 190 if position == 0 else 120
        out += [_plot(chart_type, axis, categories, series, width, height, colour), Spacer(1, 2 * mm)]
        colour += len(series)
    return out


# --- table ----------------------------------------------------------------------------------------
def _table(report: Mapping[str, Any], width: float, styles: dict[str, ParagraphStyle]) -> Table | None:
    columns: Sequence[Mapping[str, Any]] = report.get("columns") or []
    if not columns:
        return None
    rows: Sequence[Mapping[str, Any]] = report.get("rows") or []
    total: Mapping[str, Any] | None = report.get("total")
    texts = [c.get("kind", "text") == "text" for c in columns]
    header_styles = {
        True: ParagraphStyle("head", styles["cell"]),
        False: ParagraphStyle("head-figure", styles["cell"], alignment=TA_RIGHT),
    }
    text_style = styles["cell"]
    total_style = ParagraphStyle("total", text_style, fontName=CHINESE)
    header = [
        Paragraph(escape(str(c.get("label", c.get("key", "")))), header_styles[is_text])
        for c, is_text in zip(columns, texts, strict=True)
    ]

    def line(row: Mapping[str, Any], style: ParagraphStyle) -> list[Any]:
        cells: list[Any] = []
        for column, is_text in zip(columns, texts, strict=True):
            value = formatted(row.get(column["key"]), column.get("kind", "text"))
            cells.append(Paragraph(escape(value), style) if is_text else value)
        return cells

    body = [header, *(line(row, text_style) for row in rows)]
    if total is not None:
        body.append(line(total, total_style))
    # Text columns (month, doctor, department) take a larger share than figures.
    weights = [1.6 if is_text else 1.0 for is_text in texts]
    widths = [width * w / sum(weights) for w in weights]
    table = Table(body, colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 1), (-1, -1), FIGURES),
        ("FONTSIZE", (0, 1), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f9")]),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for index, is_text in enumerate(texts):
        if not is_text:
            commands.append(("ALIGN", (index, 1), (index, -1), "RIGHT"))
    if total is not None:
        commands += [
            ("FONTNAME", (0, -1), (-1, -1), FIGURES_BOLD),
            ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#e9edf3")),
        ]
    table.setStyle(TableStyle(commands))
    return table


# --- the document ---------------------------------------------------------------------------------
def _footer(title: str, as_of: str | None) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(CHINESE, 7.5)
        canvas.setFillColor(colors.grey)
        page_width = document.pagesize[0]
        canvas.drawString(MARGIN, MARGIN / 2, title + (f"　数据截至 {as_of}" if as_of else ""))
        canvas.drawRightString(page_width - MARGIN, MARGIN / 2, f"第 {document.page} 页")
        canvas.restoreState()

    return draw


def report_pdf(report: Mapping[str, Any], hospital_name: str, *, timezone: str = "Asia/Shanghai") -> bytes:
    """The report as a PDF document: A4, landscape when its table has more than PORTRAIT_COLUMNS
    columns. `timezone`: the hospital's, in which `as_of` is printed."""
    register_fonts()
    styles = paragraph_styles()
    columns: Sequence[Mapping[str, Any]] = report.get("columns") or []
    pagesize = landscape(A4) if len(columns) > PORTRAIT_COLUMNS else A4
    # SimpleDocTemplate's frame keeps 6 pt inside the margins; flowables must fit what is left.
    width = pagesize[0] - 2 * MARGIN - 2 * 6
    title = str(report.get("title") or "")
    as_of = _as_of(report, timezone)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=f"{hospital_name} {title}", author=hospital_name,
        # The same report always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )  # fmt: skip
    table = _table(report, width, styles)
    notes = [f"筛选：{_filters(report)}"]
    if as_of:
        notes.append(f"数据截至：{figure(as_of)}")
    if any(c.get("kind") == "money" for c in columns):
        notes.append("金额单位：元")
    story: list[Flowable] = [
        Paragraph(escape(hospital_name), styles["title"]),
        Paragraph(escape(title), styles["subtitle"]),
        Spacer(1, 2 * mm),
        Paragraph("　".join(notes), ParagraphStyle("filters", styles["base"], alignment=TA_CENTER)),
        Spacer(1, 3 * mm),
    ]
    summary: Sequence[Mapping[str, Any]] = report.get("summary") or []
    if summary:
        figures = [
            (escape(str(s.get("label", ""))), figure(formatted(s.get("value"), s.get("kind", "text")), bold=True))
            for s in summary
        ]
        story += [grid(figures, styles["base"], width, columns=4), Spacer(1, 3 * mm)]
    by_key = {str(c.get("key")): c for c in columns}
    story += _charts(report, by_key, width)
    if table is not None and report.get("rows"):
        story.append(table)
    else:
        story.append(Paragraph("所选范围内没有数据。", ParagraphStyle("empty", styles["base"], alignment=TA_CENTER)))
    footer = _footer(f"{hospital_name} {title}", as_of)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()

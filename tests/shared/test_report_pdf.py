"""The print view of a statistics report (shared/report_pdf.py) from hand-made reports in the shape
docs/statistics.md documents: heading and filters in words, summary figures, the chart drawn with
its legend, the table with its total, landscape when wide, long tables over several pages."""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader
from reportlab.lib.rl_accel import fp_str

from shared.report_pdf import PALETTE, report_pdf

HOSPITAL = "示例市第一人民医院"
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
# The first series' colour as the PDF sets it: "r g b rg" to fill, "r g b RG" to stroke.
FIRST = fp_str(*PALETTE[0].rgb())


def column(key: str, label: str, kind: str) -> dict[str, str]:
    return {"key": key, "label": label, "kind": kind}


def monthly(**changes: Any) -> dict[str, Any]:
    """门诊月度统计 over a year: ten columns (too wide for portrait), money and counts charted."""
    money = ("registration", "drug", "item", "refunds", "revenue", "insured", "self_pay")
    labels = ("挂号费", "药费", "检查治疗费", "退费", "净收入", "医保统筹", "个人支付")
    report: dict[str, Any] = {
        "key": "outpatient-monthly",
        "title": "门诊月度统计",
        "filters": {"date_from": "2026-01-01", "date_to": "2026-12-31", "department_id": 3, "doctor_id": None,
                    "method": "wechat", "year": None},
        "filter_labels": {"department_id": "内科"},
        "columns": [column("month", "月份", "text"), column("visits", "就诊人次", "count"),
                    column("cancelled", "退号", "count")]
                   + [column(k, label, "money") for k, label in zip(money, labels, strict=True)],
        "rows": [
            {"month": m, "visits": 100 + i, "cancelled": i, "registration": "1000.00", "drug": "5000.50",
             "item": "3000.00", "refunds": "-50.00", "revenue": f"{9000 + i}.50", "insured": "1200.00",
             "self_pay": "7800.50"}
            for i, m in enumerate(MONTHS)
        ],
        "total": {"month": "合计", "visits": 1266, "cancelled": 66, "registration": "12000.00", "drug": "60006.00",
                  "item": "36000.00", "refunds": "-600.00", "revenue": "108072.00", "insured": "14400.00",
                  "self_pay": "93606.00"},
        "summary": [],
        "chart": {"type": "line", "x": "month", "series": ["revenue", "visits"]},
        "as_of": "2026-11-29T02:00:00Z",
    }  # fmt: skip
    return report | changes


def doctors(**changes: Any) -> dict[str, Any]:
    """医生统计对比: four columns (portrait), a bar chart, a growth rate missing for some doctors."""
    report: dict[str, Any] = {
        "key": "doctors",
        "title": "医生统计对比",
        "filters": {"date_from": "2026-11-01", "date_to": "2026-11-30", "department_id": None, "method": None},
        "columns": [column("doctor", "医生", "text"), column("visits", "就诊人次", "count"),
                    column("revenue", "收入", "money"), column("growth", "环比增长", "percent")],
        "rows": [
            {"doctor": f"医生{i}", "visits": 10 * i, "revenue": f"{i * 1000}.40", "growth": None if i == 3 else "12.5"}
            for i in range(1, 9)
        ],
        "total": None,
        "summary": [{"key": "per_visit", "label": "次均费用", "kind": "money", "value": "1234.50"}],
        "chart": {"type": "bar", "x": "doctor", "series": ["revenue"]},
        "as_of": None,
    }  # fmt: skip
    return report | changes


def read(pdf: bytes) -> tuple[list[str], list[str], PdfReader]:
    """Each page's text and drawing instructions."""
    reader = PdfReader(io.BytesIO(pdf))
    texts = [page.extract_text() for page in reader.pages]
    drawings = [page.get_contents().get_data().decode("latin-1") for page in reader.pages]
    return texts, drawings, reader


def test_a_monthly_report_prints_heading_filters_chart_and_table_on_landscape_a4() -> None:
    texts, drawings, reader = read(report_pdf(monthly(), HOSPITAL))
    first, everything = texts[0], "\n".join(texts)
    for expected in (HOSPITAL, "门诊月度统计", "统计期间", "2026-01-01", "2026-12-31", "科室：内科", "支付方式：微信",
                     "数据截至", "2026-11-29 10:00", "金额单位：元"):  # fmt: skip
        assert expected in first, expected
    # Filters in words: no raw keys, ids or codes.
    for raw in ("department_id", "wechat", "科室：3", "doctor_id"):
        assert raw not in everything, raw
    # The chart's legends (and then the table's header) name the series; money and visits are on
    # charts of their own, each captioned with its unit.
    assert first.count("净收入") >= 2 and first.count("就诊人次") >= 2
    assert "金额（元）" in first and "人次 / 数量" in first
    assert f"{FIRST} RG" in drawings[0], "the first series is drawn as a line"
    for expected in ("2026-01", "2026-12", "9,000.50", "9,011.50", "-50.00", "合计", "108,072.00", "1,266"):
        assert expected in everything, expected
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert width > height, "ten columns are printed on landscape A4"


def test_a_comparison_is_a_bar_per_row_with_its_summary_and_missing_rates_as_dashes() -> None:
    texts, drawings, reader = read(report_pdf(doctors(), HOSPITAL))
    assert len(texts) == 1
    text = texts[0]
    for expected in ("医生统计对比", "次均费用", "1,234.50", "医生1", "医生8", "8,000.40", "12.5%", "—"):
        assert expected in text, expected
    # One filled bar per doctor (and the legend's swatch), no line.
    assert len(re.findall(rf"{re.escape(FIRST)} rg", drawings[0])) >= 8 + 1
    assert f"{FIRST} RG" not in drawings[0]
    assert reader.pages[0].mediabox.height > reader.pages[0].mediabox.width, "four columns fit portrait"
    assert "数据截至" not in text, "no as_of, no claim about how current it is"


def test_many_rows_continue_on_further_pages_with_the_header_on_each_and_the_total_at_the_end() -> None:
    rows = [{"doctor": f"收费员{i:03d}", "visits": i, "revenue": f"{i}.00", "growth": "1"} for i in range(1, 301)]
    total = {"doctor": "合计", "visits": 45150, "revenue": "45150.00", "growth": None}
    texts, _, _ = read(report_pdf(doctors(rows=rows, total=total), HOSPITAL))
    assert len(texts) > 3
    assert all("环比增长" in page for page in texts), "the table's header repeats on every page"
    assert all(f"第 {n} 页" in page for n, page in enumerate(texts, start=1))
    everything = "\n".join(texts)
    assert "收费员001" in everything and "收费员300" in everything
    assert "45,150.00" in texts[-1] and everything.count("合计") == 1


def test_a_report_without_rows_says_so_and_draws_no_chart() -> None:
    texts, drawings, _ = read(report_pdf(monthly(rows=[], total=None), HOSPITAL))
    assert "所选范围内没有数据" in texts[0]
    assert "金额（元）" not in texts[0] and f"{FIRST} RG" not in drawings[0]


def test_the_same_report_gives_the_same_bytes_and_markup_stays_text() -> None:
    odd = doctors(
        title="<b>A&B</b> 统计", rows=[{"doctor": "<i>王</i>", "visits": 1, "revenue": "1.00", "growth": "0"}]
    )
    pdf = report_pdf(odd, HOSPITAL)
    assert pdf == report_pdf(odd, HOSPITAL)
    texts, _, _ = read(pdf)
    assert "<b>A&B</b> 统计" in texts[0] and "<i>王</i>" in texts[0]

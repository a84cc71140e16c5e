"""The printable discharge settlement (住院结算单): A4, Chinese, drawn from the figures stored when the
settlement was written, never recomputed (fonts, money and styles: shared/pdf.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.amount_words import amount_in_words
from shared.pdf import escape, figure, money, paragraph_styles, register_fonts, ruled_table

METHOD_LABELS = {"cash": "现金", "card": "银行卡", "wechat": "微信", "alipay": "支付宝", "transfer": "转账"}
MARGIN = 15 * mm
# SimpleDocTemplate's frame keeps 6 pt inside the margins; tables must fit what is left.
WIDTH = A4[0] - 2 * MARGIN - 2 * 6


@dataclass(frozen=True)
class SettlementDocument:
    hospital_name: str
    number: str  # JS…
    stay_number: str  # ZY…
    patient_name: str
    sex: str | None
    age: int | None
    department_name: str
    ward_name: str
    bed_number: str
    charge_type_name: str
    admitted_on: str
    discharged_on: str
    days: int
    bed_days: int
    total: Decimal
    reimbursement_ratio: Decimal
    insured: Decimal
    self_pay: Decimal
    deposits: Decimal
    refunded: Decimal
    collected: Decimal
    method_label: str
    cashier: str
    settled_at_local: str
    categories: list[tuple[str, Decimal]] = field(default_factory=list)
    # A reversal's: the settlement it reverses and why.
    reverses_number: str | None = None
    reason: str | None = None


SEX = {"male": "男", "female": "女"}


def _grid(pairs: list[tuple[str, str]], base: ParagraphStyle, columns: int = 3) -> Table:
    cells = [Paragraph(f"{label}：{value}", base) for label, value in pairs]
    cells += [Paragraph("", base)] * (-len(cells) % columns)
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    table = Table(rows, colWidths=[WIDTH / columns] * columns)
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    return table


def _details(paper: SettlementDocument, base: ParagraphStyle) -> Table:
    pairs = [
        ("结算单号", figure(paper.number)),
        ("住院号", figure(paper.stay_number)),
        ("费别", escape(paper.charge_type_name)),
        ("姓名", escape(paper.patient_name)),
        ("性别", escape(SEX.get(paper.sex or "", paper.sex or ""))),
        ("年龄", figure(str(paper.age)) if paper.age is not None else ""),
        ("科室", escape(paper.department_name)),
        ("病区", escape(paper.ward_name)),
        ("床号", figure(paper.bed_number)),
        ("入院日期", figure(paper.admitted_on)),
        ("出院日期", figure(paper.discharged_on)),
        ("住院天数", figure(str(paper.days))),
    ]
    if paper.reverses_number:
        pairs.append(("原结算单号", figure(paper.reverses_number)))
    return _grid(pairs, base)


def _categories(paper: SettlementDocument, styles: dict[str, ParagraphStyle]) -> Table:
    cell, numeric = styles["cell"], styles["figure"]
    right = ParagraphStyle("right", cell, alignment=TA_RIGHT)
    rows = [[Paragraph("费用类别", cell), Paragraph("金额", right)]]
    for category, amount in paper.categories:
        rows.append([Paragraph(escape(category), cell), Paragraph(escape(money(amount)), numeric)])
    rows.append([Paragraph("合计", cell), Paragraph(figure(money(paper.total), bold=True), numeric)])
    # The total apart from the categories above it.
    return ruled_table(rows, [WIDTH * 0.7, WIDTH * 0.3], ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black))


def _summary(paper: SettlementDocument, base: ParagraphStyle) -> Table:
    if paper.collected:
        settled = ("补缴金额", f"{figure(money(paper.collected), bold=True)}（{escape(paper.method_label)}）")
    else:
        settled = ("退还金额", f"{figure(money(paper.refunded), bold=True)}（{escape(paper.method_label)}）")
    ratio = f"{(paper.reimbursement_ratio * 100).normalize():f}%"  # 0.70 → 70%
    pairs = [
        ("费用合计", figure(money(paper.total), bold=True)),
        ("医保统筹支付", f"{figure(money(paper.insured))}（比例 {figure(ratio)}）"),
        ("个人自付", figure(money(paper.self_pay))),
        ("预交款合计", figure(money(paper.deposits))),
        settled,
        ("床位天数", figure(str(paper.bed_days))),
    ]
    return _grid(pairs, base, columns=2)


def render_settlement(paper: SettlementDocument) -> bytes:
    """The settlement as a PDF document (A4 portrait; a long category list continues on further pages)."""
    register_fonts()
    styles = paragraph_styles()
    base = styles["base"]
    title = "住院结算冲销单" if paper.reverses_number else "住院结算单"
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{paper.hospital_name} {title} {paper.number}", author=paper.hospital_name,
        # The same settlement always gives the same bytes: no creation time or random id inside.
        invariant=True,
    )  # fmt: skip
    story = [
        Paragraph(escape(paper.hospital_name), styles["title"]),
        Paragraph(title, styles["subtitle"]),
        Spacer(1, 4 * mm),
        _details(paper, base),
        Spacer(1, 3 * mm),
        _categories(paper, styles),
        Spacer(1, 3 * mm),
        _summary(paper, base),
        Spacer(1, 2 * mm),
        Paragraph(f"费用合计（大写）：{amount_in_words(paper.total)}", base),
        Paragraph(f"个人自付（大写）：{amount_in_words(paper.self_pay)}", base),
    ]
    if paper.reason:
        story.append(Paragraph(f"冲销原因：{escape(paper.reason)}", base))
    story += [
        Spacer(1, 6 * mm),
        _grid(
            [("收费员", escape(paper.cashier)), ("结算时间", figure(paper.settled_at_local)), ("患者签字", "")],
            base,
        ),
        Spacer(1, 3 * mm),
        Paragraph("本结算单为住院费用结算凭证，请妥善保管。", styles["note"]),
    ]
    document.build(story)
    return buffer.getvalue()

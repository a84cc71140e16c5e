"""门诊年度统计 and 住院年度统计 alike: each month of a year beside the same month of the year before."""

from __future__ import annotations

from collections.abc import Mapping

from shared.i18n import Text, render
from tms.periods import month_name
from tms.reports.shape import MONTH, TOTAL, Column, Kind, Table, growth


def year_columns(count: str, this_year: Text, last_year: Text) -> tuple[Column, ...]:
    """The columns of a year report counting `count` (visits, admissions) and revenue."""
    return (
        MONTH, Column(count, this_year, Kind.count), Column(f"{count}_last_year", last_year, Kind.count),
        Column("revenue", Text("本年收入", "Revenue")),
        Column("revenue_last_year", Text("上年收入", "Revenue last year")),
        Column("growth", Text("收入同比", "Revenue YoY"), Kind.percent),
    )  # fmt: skip


def year_beside_last(year: int, count: str, counts: Mapping[int, int], revenue: Mapping[int, int]) -> Table:
    """`counts` and `revenue` (fen) by month (yyyymm) of `year` and the year before, as the rows of
    `year_columns(count, …)`, with revenue's growth and a total row."""
    rows = []
    for number in range(1, 13):
        now, before = year * 100 + number, (year - 1) * 100 + number
        rows.append({
            "month": month_name(number), count: counts.get(now, 0), f"{count}_last_year": counts.get(before, 0),
            "revenue": revenue.get(now, 0), "revenue_last_year": revenue.get(before, 0),
            "growth": growth(revenue.get(now, 0), revenue.get(before, 0)),
        })  # fmt: skip
    summed = (count, f"{count}_last_year", "revenue", "revenue_last_year")
    total: dict[str, object] = {"month": render(TOTAL), **{k: sum(int(r[k]) for r in rows) for k in summed}}  # type: ignore[call-overload]
    total["growth"] = growth(int(total["revenue"]), int(total["revenue_last_year"]))  # type: ignore[call-overload]
    return Table(rows=rows, total=total)

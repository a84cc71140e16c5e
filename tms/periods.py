"""Months and years at the hospital: the periods every report is cut into."""

from __future__ import annotations

from datetime import date, timedelta

from shared.errors import Invalid, field_error
from shared.i18n import Text, render
from tms.reports.shape import Filters

LONGEST = timedelta(days=366 * 5)


def months(first: date, last: date) -> list[int]:
    """Every month (yyyymm) from `first`'s to `last`'s."""
    answer = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        answer.append(year * 100 + month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return answer


def pieces(first: date, last: date) -> tuple[tuple[int, int] | None, list[tuple[date, date]]]:
    """[first, last] as the whole months it spans (yyyymm to yyyymm, or None) and the days at
    either end outside them: a two-year report reads monthly rollups and at most two short runs
    of daily ones."""
    start = first if first.day == 1 else _next_month(first)
    month_end = _next_month(last.replace(day=1)) - timedelta(days=1)
    end = last if last == month_end else last.replace(day=1) - timedelta(days=1)
    if start > end:
        return None, [(first, last)]
    edges = []
    if first < start:
        edges.append((first, start - timedelta(days=1)))
    if end < last:
        edges.append((end + timedelta(days=1), last))
    return (start.year * 100 + start.month, end.year * 100 + end.month), edges


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def month_name(number: int) -> str:
    """A month of a year report's rows: 1月, or Jan."""
    return render(Text(f"{number}月", ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())[number - 1]))


def month_label(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def resolved(keys: tuple[str, ...], filters: Filters, today: date, period: str = "year") -> Filters:
    """The filters a report takes, with its defaults: its period so far for a date range (this
    year, month or day), this year, today; anything it does not take dropped, so the answer echoes
    what was applied."""
    out = Filters(**{k: getattr(filters, k) for k in keys if k in Filters.model_fields})
    if "date_from" in keys:
        start = {"year": date(today.year, 1, 1), "month": today.replace(day=1), "day": today}[period]
        out.date_from = out.date_from or start
        out.date_to = out.date_to or today
        if out.date_to < out.date_from:
            raise _bad("date_to", Text("结束日期早于开始日期", "ends before it starts"))
        if out.date_to - out.date_from > LONGEST:
            raise _bad("date_to", Text("统计区间不能超过五年", "a period of at most five years"))
    if "year" in keys:
        out.year = out.year or today.year
    if "day" in keys:
        out.day = out.day or today
    return out


def _bad(name: str, why: Text) -> Invalid:
    return Invalid(Text(f"统计条件有误：{why.zh}", f"Bad report filter: {why.en}"), errors=[field_error(name, why)])

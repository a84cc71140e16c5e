"""The one shape every report answers (docs/statistics.md, Reports), and how its values are written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.i18n import Text, render


class Kind(StrEnum):
    text = "text"
    count = "count"
    money = "money"  # computed in integer fen, answered as yuan "12.50"
    percent = "percent"  # computed as a Decimal, answered as "12.5" (or null)
    days = "days"


class Filters(BaseModel):
    date_from: date | None = None
    date_to: date | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    method: str | None = None
    year: int | None = None
    day: date | None = None


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: Kind


class FigureOut(ColumnOut):
    value: Any


class Chart(BaseModel):
    type: Literal["line", "bar"]
    x: str
    series: list[str]


class ReportOut(BaseModel):
    key: str
    title: str
    filters: Filters
    # What the filters' ids stand for, as a reader says them: {"department_id": "内科"}.
    filter_labels: dict[str, str] = {}
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    summary: list[FigureOut]
    chart: Chart
    as_of: datetime | None


class ReportInfo(BaseModel):
    key: str
    title: str
    filters: list[str]
    chart: Literal["line", "bar"]


@dataclass(frozen=True)
class Column:
    key: str
    label: Text
    kind: Kind = Kind.money


@dataclass
class Table:
    """What a report's builder computes: values in fen (money) and Decimal (percent)."""

    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None
    summary: list[tuple[Column, Any]] = field(default_factory=list)


class Lookup:
    """What a builder needs besides the facts: department and doctor names (dbs's), for rows keyed
    by id, the hospital's present moment, and the window in which a batch counts as expiring."""

    def __init__(
        self, departments: dict[int, str], doctors: dict[int, str], now: datetime, expiry_warning_days: int = 90
    ) -> None:
        self._departments = departments
        self._doctors = doctors
        self.now = now
        self.expiry_warning_days = expiry_warning_days

    def department(self, id_: int | None) -> str:
        return self._departments.get(id_ or 0) or render(Text(f"科室 {id_}", f"Department {id_}"))

    def doctor(self, id_: int | None) -> str:
        return self._doctors.get(id_ or 0) or render(Text(f"医生 {id_}", f"Doctor {id_}"))


Builder = Callable[[AsyncSession, Filters, Lookup], Awaitable[Table]]


@dataclass(frozen=True)
class Definition:
    key: str
    title: Text
    filters: tuple[str, ...]
    columns: tuple[Column, ...]
    chart: Chart
    sources: tuple[str, ...]
    build: Builder
    # The period asked for when none is given: this year, this month or today, so far.
    period: Literal["year", "month", "day"] = "year"


CENT = Decimal("0.01")


TOTAL = Text("合计", "Total")
# The first column of every report by month.
MONTH = Column("month", Text("月份", "Month"), Kind.text)


def yuan(fen: int | None) -> str:
    return str((Decimal(fen or 0) / 100).quantize(CENT))


def growth(now: int, before: int) -> Decimal | None:
    """Year over year, in percent; none when there was nothing the year before."""
    if not before:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def written(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == Kind.money:
        return yuan(value)
    if kind == Kind.percent:
        return str(value)
    return value


def write_row(columns: Sequence[Column], row: dict[str, Any]) -> dict[str, Any]:
    return {c.key: written(c.kind, row.get(c.key)) for c in columns if c.key in row}

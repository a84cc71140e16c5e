"""Answering a report: its filters resolved, its builder run, its values written, its freshness."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.errors import NotFound
from shared.i18n import Text, render
from shared.tabular import Column, TableFormat, TableWriter
from tms.db import audit_log
from tms.ingest.service import current_as_of
from tms.periods import resolved
from tms.reports.shape import ColumnOut, Definition, FigureOut, Filters, Lookup, ReportInfo, ReportOut, write_row


def catalogue(definitions: Sequence[Definition]) -> list[ReportInfo]:
    return [
        ReportInfo(key=d.key, title=render(d.title), filters=list(d.filters), chart=d.chart.type) for d in definitions
    ]


def find(definitions: Sequence[Definition], key: str) -> Definition:
    for definition in definitions:
        if definition.key == key:
            return definition
    raise NotFound(Text(f"没有名为 {key} 的统计报表", f"No report named {key}"), code="unknown_report")


async def answer(session: AsyncSession, definition: Definition, filters: Filters, lookup: Lookup) -> ReportOut:
    applied = resolved(definition.filters, filters, lookup.now.date(), definition.period)
    table = await definition.build(session, applied, lookup)
    columns = definition.columns
    return ReportOut(
        key=definition.key,
        title=render(definition.title),
        filters=applied,
        filter_labels=_named(applied, lookup),
        columns=[ColumnOut(key=c.key, label=render(c.label), kind=c.kind) for c in columns],
        rows=[write_row(columns, row) for row in table.rows],
        total=write_row(columns, table.total) if table.total is not None else None,
        summary=[
            FigureOut(key=c.key, label=render(c.label), kind=c.kind, value=write_row([c], {c.key: v})[c.key])
            for c, v in table.summary
        ],
        chart=definition.chart,
        as_of=await current_as_of(session, definition.sources),
    )


async def export(
    session: AsyncSession, definition: Definition, filters: Filters, lookup: Lookup, format: TableFormat, timezone: str
) -> tuple[Path, str]:
    """The report as a spreadsheet: its table, its total, then its summary figures as label and
    value; one audit row (which report, which filters). Answers the file and its name."""
    report = await answer(session, definition, filters, lookup)
    columns = [Column(c.key, c.label) for c in report.columns]
    writer = TableWriter(format, columns, timezone, report.title)
    try:
        writer.add([*report.rows, *([report.total] if report.total else [])])
        if report.summary and len(columns) > 1:
            writer.add([{columns[0].key: f.label, columns[1].key: f.value} for f in report.summary])
        path = writer.finish()
    except BaseException:
        writer.discard()
        raise
    await audit.record(
        session, audit_log, action="export", entity="report", entity_id=definition.key,
        after={"format": format.value, "rows": writer.rows, "filters": report.filters.model_dump(mode="json")},
    )  # fmt: skip
    return path, f"{report.title}_{lookup.now:%Y%m%d}.{format.value}"


def _named(filters: Filters, lookup: Lookup) -> dict[str, str]:
    named = {}
    if filters.department_id:
        named["department_id"] = lookup.department(filters.department_id)
    if filters.doctor_id:
        named["doctor_id"] = lookup.doctor(filters.doctor_id)
    return named

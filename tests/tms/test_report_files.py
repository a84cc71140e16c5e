"""A report leaves as a spreadsheet (with tms:data:export as well as the report's permission, and
an audit row) and as a printed PDF with its chart — both carrying the figures the screen shows."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from shared.db import Database
from shared.migrations import sync_url
from tests.support.stack import Stack
from tests.tms.outpatient_feed import ZONE, generate
from tms.facts import HANDLERS
from tms.ingest.service import apply_page, cursor, ensure_cursors

PERIOD = {"date_from": "2025-11-01", "date_to": "2026-02-28"}


@pytest.fixture(scope="module")
def tms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    directory = tmp_path_factory.mktemp("tms-files")
    url = f"sqlite+aiosqlite:///{directory / 'tms.db'}"
    with Stack(directory, {"tms": url}) as stack:
        # Alone: no gateway to ask for revocations or a service token, and dbs unasked (names by id).
        stack.start("tms", feed_sources=[], check_revocations=False)
        asyncio.run(_ingest(url))
        yield stack, url


async def _ingest(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await ensure_cursors(session, ["oms"])
        for page in generate().pages(500):
            async with db.transaction() as session:
                await apply_page(session, "oms", await cursor(session, "oms"), page, HANDLERS, ZONE, complete=False)
    finally:
        await db.dispose()


def get(stack: Stack, path: str, permissions: list[str], **params: Any) -> httpx2.Response:
    return httpx2.get(f"{stack.url('tms')}{path}", params=params, headers=stack.bearer(permissions), timeout=30)


def test_the_spreadsheet_holds_the_reports_rows_and_total(tms: tuple[Stack, str]) -> None:
    stack, url = tms
    screen = get(stack, "/api/tms/reports/outpatient-monthly", ["tms:report:read"], **PERIOD).json()
    answer = get(stack, "/api/tms/reports/outpatient-monthly/export", ["tms:report:read", "tms:data:export"],
                 format="xlsx", **PERIOD)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "filename*=utf-8''%E9%97%A8%E8%AF%8A" in answer.headers["content-disposition"]  # 门诊月度统计_….xlsx
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [c["label"] for c in screen["columns"]]
    revenue = [c["key"] for c in screen["columns"]].index("revenue")
    assert [r[0] for r in rows[1:]] == [*(row["month"] for row in screen["rows"]), "合计"]
    assert [f"{r[revenue]:.2f}" for r in rows[1:]] == [*(row["revenue"] for row in screen["rows"]),
                                                     screen["total"]["revenue"]]  # fmt: skip
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT entity_id, after FROM audit_log WHERE action = 'export'")).all()
    engine.dispose()
    assert audited and audited[-1][0] == "outpatient-monthly" and '"rows": 5' in audited[-1][1]


def test_exporting_a_report_needs_the_export_permission(tms: tuple[Stack, str]) -> None:
    stack, _ = tms
    refused = get(stack, "/api/tms/reports/outpatient-monthly/export", ["tms:report:read"], format="csv")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    csv = get(stack, "/api/tms/reports/cashiers/export", ["tms:report:read", "tms:data:export"], format="csv",
              **PERIOD)  # fmt: skip
    assert csv.status_code == 200 and csv.content.startswith("\ufeff收费员".encode())


def test_the_printed_report_carries_its_title_chart_legend_and_figures(tms: tuple[Stack, str]) -> None:
    stack, _ = tms
    screen = get(stack, "/api/tms/reports/outpatient-yearly", ["tms:report:read"], year=2026).json()
    answer = get(stack, "/api/tms/reports/outpatient-yearly/pdf", ["tms:report:read"], year=2026)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "门诊年度统计" in words and "本年收入" in words and "上年收入" in words
    assert screen["total"]["revenue"].replace(".", "") in words.replace(",", "").replace(".", "")


def test_an_unknown_report_is_a_clear_404(tms: tuple[Stack, str]) -> None:
    stack, _ = tms
    answer = get(stack, "/api/tms/reports/nothing", ["tms:report:read"])
    problem = answer.json()
    assert answer.status_code == 404 and "没有名为 nothing 的统计报表" in problem["title"] + problem["detail"]


def test_a_period_that_ends_before_it_starts_names_the_field(tms: tuple[Stack, str]) -> None:
    stack, _ = tms
    answer = get(stack, "/api/tms/reports/outpatient-monthly", ["tms:report:read"], date_from="2026-02-01",
                 date_to="2026-01-01")  # fmt: skip
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["date_to"]
    assert "结束日期早于开始日期" in answer.text

"""导出 in a real browser (docs/exports.md): a clerk of the patient library with the export permission
but without `pii:read` opens 患者库, searches for one patient and presses 导出 → Excel: the file is
the search's one row, under the table's Chinese headers, 性别 in words, the ID card and phone masked
as on screen. A clerk without the export permission sees no 导出 on the same page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.test_console_outpatient import _admin_api, _create
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.support.browser import browser_available  # noqa: F401
from tests.support.clerks import user_with

pytestmark = pytest.mark.browser

ID_CARD = "11010519491231002X"
PHONE = "13912345678"


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _search(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("search-input").fill(text)
    expect(page.get_by_test_id("resource-table").locator(".el-table__row")).to_have_count(1)


def run_scenario(base: str, admin_user: str, admin_password: str, browsers: Browsers, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6]
    admin = _admin_api(base, admin_user, admin_password)
    try:
        _create(admin, "/api/oms/patients", {"name": f"导出患者{tag}", "id_card": ID_CARD, "phone": PHONE})
        exporter = user_with(admin, ["oms:patient:read", "oms:data:export"], real_name="档案管理员")
        reader = user_with(admin, ["oms:patient:read"], real_name="档案查阅员")
    finally:
        admin.close()

    page = browsers.page("reader")
    _login(page, base, *reader)
    _open_module_page(page, "oms", "patients")
    _search(page, f"导出患者{tag}")
    expect(page.get_by_test_id("export-open")).to_have_count(0)

    page = browsers.page("exporter")
    _login(page, base, *exporter)
    _open_module_page(page, "oms", "patients")
    _search(page, f"导出患者{tag}")
    page.get_by_test_id("export-open").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("患者库_") and saved.suffix == ".xlsx"

    rows = list(load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("姓名", "性别", "出生日期", "身份证号", "电话"), header
    assert len(rows) == 2, rows  # the search's one patient, not the whole library
    assert rows[1][:5] == (f"导出患者{tag}", "女", "1949-12-31", "1101**********002X", "139****5678")
    assert "状态" in header and rows[1][header.index("状态")] == "启用"
    assert not browsers.errors, browsers.errors


def test_a_list_exports_what_its_search_selects_masked_as_on_screen(
    platform: Any, browsers: Browsers, tmp_path: Path
) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers, tmp_path)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('exports')}")
        raise

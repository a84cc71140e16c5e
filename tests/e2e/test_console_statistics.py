"""The statistics pages and the 首页 dashboard in a real browser (docs/statistics.md, docs/console.md
"Statistics (tms) and the 首页 dashboard").

The superadmin makes an outpatient clinic with a shift today and registers three patients there with
the fee paid (two in cash, one by WeChat), through the API as the desks would. Once tms has read oms's
feed (数据同步 shows nothing behind), a manager whose role holds the statistics permissions opens every
report from the menu: each draws its chart with the series its columns name, and shows its table. 门诊当天统计
adds today's three visits and ¥30.00 up; a deep link with 微信 as the payment method shows ¥10.00. The
首页 card says the same, 导出 downloads a spreadsheet, 保存图片 a PNG, 打印 opens the PDF. No screen shows a
code, field path or permission string.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_console_outpatient import _admin_api, _create
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.oms.outpatient_desk import ALL_DAY, hospital_today
from tests.support.browser import assert_no_codes, browser_available  # noqa: F401
from tests.support.clerks import login, user_with

pytestmark = pytest.mark.browser

# Every report, in the menu's order (gateway/console/src/api/tms.ts REPORT_KEYS).
REPORTS = (
    "outpatient-today",
    "outpatient-monthly",
    "outpatient-yearly",
    "doctors",
    "inpatient-monthly",
    "inpatient-yearly",
    "pharmacy",
    "warehouse",
    "cashiers",
)
# tms polls a feed every few seconds when it had nothing new (feed_poll_seconds).
INGEST_WAIT_S = 60
FEE = "10.00"


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _ok(api: Any, path: str, **params: Any) -> Any:
    answer = api.get(path, params=params)
    assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
    return answer.json()


def _outpatient_day(admin: Any, tag: str) -> dict[str, Any]:
    """A clinic, a doctor with a shift today, and three visits registered there with the fee paid."""
    department = _create(
        admin, "/api/dbs/departments", {"code": f"TJ{tag}", "name": f"统计门诊{tag}", "kind": "outpatient"}
    )
    reg_type = _create(admin, "/api/dbs/registration-types", {"name": f"普通号{tag}", "fee": FEE})
    doctor = _create(
        admin,
        "/api/dbs/doctors",
        {
            "code": f"T{tag}", "name": f"赵医生{tag}", "sex": "female", "title": "attending",
            "department_id": department["id"], "registration_type_id": reg_type["id"], **ALL_DAY,
        },
    )  # fmt: skip
    schedule = _create(
        admin,
        "/api/dms/schedules",
        {
            "doctor_id": doctor["id"], "date": hospital_today().isoformat(), "shift": "morning",
            "registration_type_id": reg_type["id"], "quota": 10,
        },
    )  # fmt: skip
    for i, method in enumerate(("cash", "cash", "wechat")):
        patient = _create(
            admin, "/api/oms/patients", {"name": f"统计患者{tag}{i}", "sex": "male", "birth_date": f"1980-01-0{i + 1}"}
        )
        visit = admin.post(
            "/api/oms/visits",
            json={"patient_id": patient["id"], "schedule_id": schedule["id"], "payment_method": method},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert visit.status_code == 201, visit.text
    return {"department": department, "doctor": doctor}


def _wait_ingested(admin: Any) -> None:
    """Until tms has applied oms's feed up to its head and 门诊当天统计 counts the three visits."""
    deadline = time.monotonic() + INGEST_WAIT_S
    while True:
        feeds = {f["source"]: f for f in _ok(admin, "/api/tms/feeds")}
        today = _ok(admin, "/api/tms/reports/outpatient-today")
        if feeds["oms"]["behind"] == 0 and (today["total"] or {}).get("visits") == 3:
            return
        assert time.monotonic() < deadline, f"tms did not ingest within {INGEST_WAIT_S}s: {feeds} {today['total']}"
        time.sleep(0.5)


def _series(api: Any, key: str) -> list[str]:
    """The series a report's chart draws, as the API names them: the labels of its chart's columns."""
    report = _ok(api, f"/api/tms/reports/{key}")
    labels = {c["key"]: c["label"] for c in report["columns"]}
    names = [labels[s] for s in report["chart"]["series"]]
    assert names, f"{key} draws nothing"
    return names


def _open_report(page: Any, key: str, series: list[str]) -> Any:
    """From the menu; answers the table once the chart has drawn the expected series."""
    from playwright.sync_api import expect

    _open_module_page(page, "tms", key)
    expect(page.get_by_test_id("tms-report")).to_have_attribute("data-report", key)
    chart = page.get_by_test_id("report-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(chart).to_have_attribute("data-series", "|".join(series))
    assert chart.locator("canvas").count() >= 1, f"{key}: no canvas drawn"
    table = page.get_by_test_id("report-table")
    expect(table).to_be_visible()
    return table


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        _outpatient_day(admin, tag)
        permissions = ["tms:report:read", "tms:feed:read", "tms:data:export", "dbs:department:read", "dbs:doctor:read"]
        username, password = user_with(admin, permissions, real_name="院长")
        # The reports are ready to read only once tms has caught up with oms.
        _wait_ingested(admin)
        expected = {key: _series(admin, key) for key in REPORTS}
    finally:
        admin.close()

    page = browsers.page("manager")
    _login(page, base, username, password)

    # 首页: today's outpatients, linking to 门诊当天统计; no card of a module the manager does not hold.
    card = page.get_by_test_id("dash-today")
    expect(card).to_have_attribute("data-state", "ready")
    expect(card.get_by_test_id("dash-today-visits").get_by_test_id("figure-value")).to_have_text("3")
    expect(card.get_by_test_id("dash-today-revenue").get_by_test_id("figure-value")).to_have_text("¥30.00")
    expect(page.get_by_test_id("dash-beds")).to_have_count(0)
    assert_no_codes(page, "首页")

    # 数据同步: oms read up to its head.
    _open_module_page(page, "tms", "feeds")
    oms = (
        page.get_by_test_id("feeds-table").locator(".el-table__body tr").filter(has=page.locator('[data-source="oms"]'))
    )
    expect(oms.get_by_test_id("row-behind")).to_have_attribute("data-behind", "0")
    expect(oms.get_by_test_id("row-behind")).to_have_text("已同步")
    assert_no_codes(page, "数据同步")

    for key in REPORTS:
        table = _open_report(page, key, expected[key])
        assert_no_codes(page, key)
        if key == "outpatient-today":
            footer = table.locator(".el-table__footer")
            expect(footer).to_contain_text("30.00")
            expect(footer.locator("td").nth(1)).to_have_text("3")

    # A deep link carries the filters: 微信 alone took one fee.
    page.goto(f"{base}/tms/outpatient-today?method=wechat")
    expect(page.get_by_test_id("filter-method")).to_contain_text("微信")
    expect(page.get_by_test_id("report-chart")).to_have_attribute("data-rendered", "true")
    expect(page.get_by_test_id("report-table").locator(".el-table__footer")).to_contain_text("10.00")
    expect(page.get_by_test_id("report-table").locator(".el-table__footer")).not_to_contain_text("30.00")

    # What leaves the page: the spreadsheet, the chart as an image, the print view.
    manager = login(base, username, password)
    try:
        answer = manager.get("/api/tms/reports/outpatient-monthly/export", params={"format": "csv"})
        assert answer.status_code == 200, f"export: {answer.status_code} {answer.text}"
    finally:
        manager.close()
    _open_module_page(page, "tms", "outpatient-monthly")
    expect(page.get_by_test_id("report-chart")).to_have_attribute("data-rendered", "true")
    page.get_by_test_id("report-export").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.startswith("门诊月度统计"), download.value.suggested_filename
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as saved:
        assert saved.read(2) == b"PK", "the export is not an XLSX (zip) file"

    with page.expect_download() as image:
        page.get_by_test_id("report-save-image").click()
    assert image.value.suggested_filename.endswith(".png"), image.value.suggested_filename
    with open(image.value.path(), "rb") as saved:
        assert saved.read(8) == b"\x89PNG\r\n\x1a\n"

    with page.context.expect_page() as tab_info, page.expect_response(re.compile(r"/pdf\?")) as pdf_info:
        page.get_by_test_id("report-print").click()
    assert pdf_info.value.status == 200, pdf_info.value.status
    assert pdf_info.value.headers.get("content-type", "").startswith("application/pdf"), pdf_info.value.headers
    # The print view takes the filters shown.
    assert "date_from=" in pdf_info.value.url, pdf_info.value.url
    tab_info.value.wait_for_url(re.compile(r"^blob:"), wait_until="commit")
    tab_info.value.close()

    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def test_every_report_draws_its_chart_and_the_dashboard_counts_today(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('statistics')}")
        raise

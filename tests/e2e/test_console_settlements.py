"""The cashier's day in a real browser: a 医保 payment on 缴费 (charge type chosen, the split shown
before confirming), then 收费日结 (the open period, settling with a confirmation, the settlement
listed, the supervisor's day), all in Chinese. The `platform` fixture runs every component on
embedded SQLite; the master data comes from the API first (tests/e2e/test_console_outpatient.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_console_outpatient import _admin_api, _confirm, _create, _master_data, _money, _option, _pick_visit
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.support.browser import browser_available  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _registered_unpaid(api: Any, tag: str) -> tuple[dict, dict]:
    desk = _master_data(api, tag)
    schedule = _create(
        api,
        "/api/dms/schedules",
        {
            "doctor_id": desk.doctor["id"],
            "date": desk.today,
            "shift": "morning",
            "registration_type_id": desk.reg_type["id"],
            "quota": 5,
        },
    )
    patient = _create(api, "/api/oms/patients", {"name": f"医保患者{tag}", "sex": "female", "birth_date": "1975-03-02"})
    answer = api.post(
        "/api/oms/visits",
        json={"patient_id": patient["id"], "schedule_id": schedule["id"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    charge_type = _create(api, "/api/dbs/charge-types", {"name": f"职工医保{tag}", "reimbursement_ratio": "0.70"})
    return answer.json(), charge_type


def test_a_cashier_takes_an_insured_payment_and_settles_the_day(platform: Any, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:4].upper()
    api = _admin_api(platform.gateway_url, platform.admin_username, platform.admin_password)
    try:
        visit, charge_type = _registered_unpaid(api, tag)
        page = browsers.page("cashier")
        _login(page, platform.gateway_url, platform.admin_username, platform.admin_password)

        # 缴费 by 医保: the charge type is chosen and the split shown before anything is charged.
        _open_module_page(page, "oms", "payments")
        _pick_visit(page, visit["number"])
        page.get_by_test_id("method-insurance").click()
        page.get_by_test_id("charge-type").click()
        _option(page, charge_type["name"]).click()
        split = page.get_by_test_id("insured-split")
        expect(split).to_contain_text("医保统筹支付 ¥8.75")  # 12.50 × 70%
        expect(split).to_contain_text("个人支付 ¥3.75")
        page.get_by_test_id("pay-registration").click()
        box = page.locator(".el-message-box")
        expect(box).to_contain_text(charge_type["name"])
        expect(box).to_contain_text("医保统筹支付 ¥8.75")
        expect(box).to_contain_text("个人支付 ¥3.75")
        _confirm(page, "收费")
        expect(page.get_by_test_id("payment-result")).to_contain_text(_money("12.50"))

        # 收费日结: the open period, then settled with a confirmation.
        _open_module_page(page, "oms", "settlements")
        opened = page.get_by_test_id("settlement-open")
        expect(opened.get_by_test_id("total-net")).to_have_text(_money("12.50"))
        expect(opened.get_by_test_id("total-insured")).to_have_text(_money("8.75"))
        expect(opened.get_by_test_id("total-self")).to_have_text(_money("3.75"))
        expect(opened.get_by_test_id("by-method")).to_contain_text("医保")
        expect(opened.get_by_test_id("by-method")).to_contain_text("现金")
        page.get_by_test_id("settle").click()
        expect(page.locator(".el-message-box")).to_contain_text("收费 1 笔、退费 0 笔，实收合计 ¥12.50")
        _confirm(page, "交班结账")
        expect(opened).to_contain_text("自上次结账以来没有收费或退费记录")
        expect(page.get_by_test_id("settle")).to_be_disabled()
        rows = page.get_by_test_id("settlements-table").locator(".el-table__body tr.el-table__row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(_money("12.50"))
        expect(rows.first).to_contain_text(re.compile(r"JZ\d{8}-\d{4}"))

        # The superadmin holds the supervisor's permission: the hospital's day.
        day = page.get_by_test_id("settlement-day")
        expect(day.get_by_test_id("day-table")).to_contain_text(_money("12.50"))
        expect(day).to_contain_text("所有收费员均已结账")

        text = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
        for raw in ("insurance", "registration", "cash", "settlement", "oms:"):
            assert raw not in text, f"raw code {raw!r} on the page"
        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
    finally:
        api.close()

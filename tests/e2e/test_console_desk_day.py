"""A whole desk day in a real browser by a clerk who holds only the outpatient module, and the
result of a doctor's leave telling whom to phone (docs/outpatient.md, docs/console.md).

The superadmin, through the API as a hospital's IT would, makes the master data, today's
morning shift, a role with exactly what ticking 门诊 grants, a clerk holding it and a pharmacist
holding 药房. The clerk, in the console: 挂号 (快速建档, paid in cash, the receipt PDF) →
今日候诊 (接诊) → 划价 (a prescription of two drugs of the same price, searched in oms's price
list; an item order needing an examination) → 缴费 (both) → 项目检查 → 退费 (one chosen drug
line) → the pharmacist dispenses the rest through the API → 就诊记录 (已发药, one line 已退费)
→ 日结 (the day's payments). Nothing the clerk reads is a raw code.

The `platform` fixture (tests/conftest.py) runs every component as a real process on embedded
SQLite; Debian's Chromium (/usr/bin/chromium) is driven by Playwright's sync API.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from tests.e2e.test_console_outpatient import (
    OUTBOX_WAIT_S,
    Desk,
    _add_line,
    _admin_api,
    _create,
    _examine,
    _id_card,
    _master_data,
    _money,
    _open_receipt,
    _pay,
    _pick_visit,
    _png,
    _price,
    _receive,
    _refresh_until,
    _register,
)
from tests.e2e.test_console_system import Browsers, _login, _logout, _open_module_page, launch
from tests.pms.conftest import stock_up
from tests.support.browser import assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import login, module_permissions, user_with

pytestmark = pytest.mark.browser


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


# What a clerk must never read: field paths, English state codes, "#id" labels, permission strings.
RAW = re.compile(
    r"lines\.\d|\b(refunded|dispensed|priced|registered|in_consultation|bad_password)\b|payment #|schedule #"
    r"|\b(oms|dbs|dms|pms|system|pii):[a-z_*]+(:[a-z_]+)?\b"
)


def _wait(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + OUTBOX_WAIT_S
    while not (answer := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {OUTBOX_WAIT_S}s"
        time.sleep(0.5)
    return answer


def _schedule_today(api: Any, desk: Desk) -> dict:
    body = {
        "doctor_id": desk.doctor["id"],
        "date": desk.today,
        "shift": "morning",
        "registration_type_id": desk.reg_type["id"],
        "quota": 5,
    }
    return _create(api, "/api/dms/schedules", body)


def _twin_of(api: Any, drug: dict, tag: str) -> dict:
    """Another drug at the same price: refunding the wrong one of two would go unnoticed by sum."""
    fields = ("spec", "type_id", "origin_id", "unit_id", "price", "low_stock_threshold")
    return _create(
        api, "/api/dbs/drugs", {**{k: drug[k] for k in fields}, "code": f"YP{tag}T", "name": f"头孢克肟{tag}"}
    )


def _price_prescription(page: Any, desk: Desk, visit_id: int, names: list[str]) -> dict:
    """One prescription of these drugs, one of each; answers it as the server priced it."""
    from playwright.sync_api import expect

    page.get_by_test_id("pricing-tabs").get_by_role("tab", name="处方（药品）").click()
    for name in names:
        _add_line(page, "drug", name, 1)
    page.get_by_test_id("pricing-submit").click()
    result = page.get_by_test_id("pricing-result")
    expect(result).to_contain_text("CF")
    (order,) = desk.get("/api/oms/orders", visit_id=visit_id, kind="drug")["items"]
    expect(result).to_contain_text(f"已划价：{order['number']}，合计 {_money(order['total'])}")
    assert [line["name"] for line in order["lines"]] == names, order
    return order


def _refund_line(page: Any, desk: Desk, visit_number: str, order: dict, line: dict) -> dict:
    """Refunds the one chosen line of the paid prescription; answers the refund."""
    from playwright.sync_api import expect

    (payment,) = [
        p for p in desk.get("/api/oms/payments", visit_id=order["visit_id"])["items"] if p["order_id"] == order["id"]
    ]
    _open_module_page(page, "oms", "refunds")
    _pick_visit(page, visit_number)
    page.get_by_test_id("refund-payments").locator(".el-table__body tr").filter(has_text=payment["number"]).locator(
        ".el-radio"
    ).click()
    lines = page.get_by_test_id("refund-lines").locator(".el-table__body tr")
    expect(lines).to_have_count(2)
    # Nothing is chosen for the clerk: the refund waits until a line is ticked.
    expect(lines.locator(".el-checkbox.is-checked")).to_have_count(0)
    reason = "开错药，退其中一种"
    page.get_by_test_id("refund-reason").fill(reason)
    expect(page.get_by_test_id("refund-submit")).to_be_disabled()
    lines.filter(has_text=line["name"]).locator(".el-checkbox").click()
    page.get_by_test_id("refund-submit").click()
    box = page.locator(".el-message-box")
    # The confirmation names the line, its quantity and amount — and only that line.
    expect(box.get_by_test_id("refund-confirm-line")).to_have_count(1)
    expect(box.get_by_test_id("refund-confirm-line")).to_contain_text(line["name"])
    expect(box.get_by_test_id("refund-confirm-line")).to_contain_text(_money(line["amount"]))
    expect(box.get_by_test_id("refund-confirm-total")).to_contain_text(_money(line["amount"]))
    assert_no_raw_words(RAW, page, "the refund confirmation")
    page.locator(".el-message-box").get_by_role("button", name="退费").click()
    refund_row = page.get_by_test_id("payments-table").last.locator(".el-table__body tr").filter(has_text=reason)
    expect(refund_row).to_contain_text(_money(f"-{line['amount']}"))
    expect(refund_row).to_contain_text("退费")
    (refund,) = desk.get("/api/oms/payments", visit_id=order["visit_id"], kind="refund")["items"]
    assert refund["refunded_line_ids"] == [line["id"]], refund
    return refund


def _pharmacist_dispenses(
    pharmacist: httpx2.Client, warehouse: httpx2.Client, prescription: dict, refunded_line: str
) -> None:
    """At the pharmacy the refunded line is cancelled; the warehouse has delivered the rest, and the
    pharmacist hands it out."""

    def arrived() -> dict | None:
        orders = pharmacist.get("/api/pms/dispensing-orders").json()["items"]
        mine = [o for o in orders if o["order_id"] == prescription["id"]]
        return mine[0] if mine and any(line["cancelled"] for line in mine[0]["lines"]) else None

    order = _wait(arrived, "the refund reaching the pharmacy")
    assert [line["name"] for line in order["lines"] if line["cancelled"]] == [refunded_line], order
    for line in order["lines"]:
        if not line["cancelled"]:
            stock_up(warehouse, line["drug_id"], line["quantity"], code=line["code"], name=line["name"])
    answer = pharmacist.post(f"/api/pms/dispensing-orders/{order['id']}/dispense")
    assert answer.status_code == 200, answer.text


def _visit_record(page: Any, visit_number: str, refund: dict) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "visits")
    row = page.get_by_test_id("visits-table").locator(".el-table__body tr").filter(has_text=visit_number)
    _refresh_until(page, row.get_by_test_id("state-dispensed"), page.get_by_title("刷新"), "the visit as 已发药")
    row.get_by_test_id("row-view").click()
    drawer = page.get_by_test_id("visit-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_test_id("orders-table")).to_contain_text("已发药")
    # The visit's money: the fee, both orders, and the refund reversing one line.
    payments = drawer.get_by_test_id("payments-table").locator(".el-table__body tr")
    expect(payments).to_have_count(4)
    expect(payments.filter(has_text=refund["number"])).to_contain_text(_money(refund["amount"]))
    assert_no_raw_words(RAW, page, "the visit record")
    drawer.locator(".el-drawer__close-btn").click()
    expect(drawer).to_be_hidden()


def _day_payments(page: Any, net: Decimal) -> None:
    """The clerk's day (日结): the open period adds up to what was taken in, refunds netted."""
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "settlements")
    expect(page.get_by_test_id("settlement-open").get_by_test_id("total-net")).to_have_text(_money(net))
    assert_no_raw_words(RAW, page, "the day's payments")


def run_desk_day(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    api = _admin_api(base, admin_username, admin_password)
    try:
        desk = _master_data(api, tag)
        _schedule_today(api, desk)
        twin = _twin_of(api, desk.drug, tag)
        clerk_name, clerk_password = user_with(api, module_permissions(api, "oms"), "门诊收费员")
        pharmacist_name, pharmacist_password = user_with(api, module_permissions(api, "pms"), "药房药师")
        # What sms's outbox relay would do with its service token: deliver the drugs to the pharmacy.
        keeper_name, keeper_password = user_with(api, ["pms:delivery:write"], "药库保管员")
    finally:
        api.close()
    admin = _admin_api(base, admin_username, admin_password)  # the test's own look at the records
    pharmacist = login(base, pharmacist_name, pharmacist_password)
    warehouse = login(base, keeper_name, keeper_password)
    desk.api = admin
    try:
        page = browsers.page("clerk")
        _login(page, base, clerk_name, clerk_password)
        page.get_by_test_id("logout-button").wait_for()
        for absent in ("menu-system", "menu-dbs", "menu-dms", "menu-pms"):
            expect(page.get_by_test_id(absent)).to_have_count(0)

        patient = f"王五{tag[:3]}"
        birth = date(1979, 11, 3)
        visit_number = _register(page, desk, patient, birth, _id_card(birth, "135"), "13700001111", masked=True)
        assert_no_raw_words(RAW, page, "registration")
        (visit,) = desk.get("/api/oms/visits", q=visit_number)["items"]
        _receive(page, desk, visit_number, patient)

        # 划价 from oms's price list: no master-data permission needed.
        _open_module_page(page, "oms", "pricing")
        _pick_visit(page, visit_number)
        expect(page.get_by_test_id("line-editor-drug")).to_be_visible()
        prescription = _price_prescription(page, desk, visit["id"], [desk.drug["name"], twin["name"]])
        assert len({line["amount"] for line in prescription["lines"]}) == 1, prescription
        items = _price(page, desk, visit["id"], "item", desk.exam_item["name"], 1)
        assert_no_raw_words(RAW, page, "pricing")

        _open_module_page(page, "oms", "payments")
        _pick_visit(page, visit_number)
        _pay(page, prescription)
        _pay(page, items)
        expect(page.get_by_test_id("dues-table")).to_contain_text("没有待缴费用")
        assert_no_raw_words(RAW, page, "payments")

        _examine(page, desk, visit_number, _png())

        # The paid prescription reaches the pharmacy; the clerk refunds the second drug only.
        _wait(
            lambda: any(
                o["order_id"] == prescription["id"]
                for o in pharmacist.get("/api/pms/dispensing-orders").json()["items"]
            ),
            "the prescription reaching the pharmacy",
        )
        chosen = prescription["lines"][1]
        refund = _refund_line(page, desk, visit_number, prescription, chosen)
        states = [line["state"] for line in desk.get(f"/api/oms/orders/{prescription['id']}")["lines"]]
        assert states == ["paid", "refunded"], states
        # The refund's receipt (TF…) prints like any other.
        _open_receipt(page, page.get_by_test_id("payments-table").last.get_by_test_id("receipt-button").last)
        page.bring_to_front()

        _pharmacist_dispenses(pharmacist, warehouse, prescription, twin["name"])
        _visit_record(page, visit_number, refund)

        net = Decimal(desk.reg_type["fee"]) + Decimal(prescription["total"]) + Decimal(items["total"])
        _day_payments(page, net + Decimal(refund["amount"]))

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
    finally:
        admin.close()
        pharmacist.close()
        warehouse.close()


def test_a_desk_day_with_the_outpatient_module_alone(platform: Any, browsers: Browsers) -> None:
    try:
        run_desk_day(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('desk-day')}")
        raise


# --- a doctor's leave: whom to phone ------------------------------------------------------


def _show_leave(page: Any, doctor: str) -> Any:
    from playwright.sync_api import expect

    _open_module_page(page, "dms", "leaves")
    row = page.get_by_test_id("leaves-table").locator(".el-table__body tr").filter(has_text=doctor)
    expect(row).to_have_count(1)
    row.get_by_test_id("row-view").click()
    result = page.get_by_test_id("leave-result")
    expect(result).to_be_visible()
    return result


def run_leave(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    api = _admin_api(base, admin_username, admin_password)
    try:
        desk = _master_data(api, tag)
        schedule = _schedule_today(api, desk)
        booked = []
        for name, phone in ((f"赵甲{tag[:3]}", "13912345678"), (f"钱乙{tag[:3]}", None)):
            body = {"name": name, "sex": "male", "birth_date": "1970-01-01", **({"phone": phone} if phone else {})}
            patient = _create(api, "/api/oms/patients", body)
            visit = api.post(
                "/api/oms/visits",
                json={"patient_id": patient["id"], "schedule_id": schedule["id"]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert visit.status_code == 201, visit.text
            booked.append(visit.json())
        leave = {"doctor_id": desk.doctor["id"], "start_date": desk.today, "start_shift": "morning",
                 "end_date": desk.today, "end_shift": "afternoon", "reason": "临时外出会诊"}  # fmt: skip
        _create(api, "/api/dms/leaves", leave)
        dms = module_permissions(api, "dms")
        scheduler = user_with(api, [*dms, "oms:visit:read"], "排班员")
        scheduler_alone = user_with(api, dms, "排班员乙")
    finally:
        api.close()

    page = browsers.page("scheduler")
    _login(page, base, *scheduler)
    page.get_by_test_id("logout-button").wait_for()
    result = _show_leave(page, desk.doctor["name"])
    bookings = result.get_by_test_id("affected-bookings").locator(".el-table__body tr")
    expect(bookings).to_have_count(2)
    first = bookings.filter(has_text=booked[0]["number"])
    expect(first).to_contain_text(booked[0]["patient_name"])
    # Masked: the scheduler does not hold the right to personal data.
    expect(first.get_by_test_id("contact-phone")).to_have_text("139****5678")
    expect(first).to_contain_text("已挂号")
    expect(first).to_contain_text("上午")
    second = bookings.filter(has_text=booked[1]["number"])
    expect(second).to_contain_text(booked[1]["patient_name"])
    expect(result).not_to_contain_text("13912345678")
    expect(result.get_by_test_id("contacts-ask-desk")).to_have_count(0)
    assert_no_raw_words(RAW, page, "the leave result")
    result.get_by_role("button", name="关闭", exact=True).click()
    _logout(page)

    # Without the outpatient module: a sentence sends them to the desk, and no names.
    _login(page, base, *scheduler_alone)
    page.get_by_test_id("logout-button").wait_for()
    result = _show_leave(page, desk.doctor["name"])
    expect(result.get_by_test_id("contacts-ask-desk")).to_contain_text("门诊挂号处")
    expect(result.get_by_test_id("affected-bookings")).to_contain_text(booked[0]["number"])
    expect(result).not_to_contain_text(booked[0]["patient_name"])
    assert_no_raw_words(RAW, page, "the leave result without contacts")

    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def test_the_leave_result_lists_whom_to_phone(platform: Any, browsers: Browsers) -> None:
    try:
        run_leave(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('leave')}")
        raise

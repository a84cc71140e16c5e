"""The outpatient desk in a real browser, page after page in the order a clerk works
(docs/outpatient.md, docs/console.md):

排班表 (a morning shift today for one doctor) → 挂号 (快速建档, department → type → the
doctors with a shift today: a colleague without one is not offered; paid in cash; visit
number MZ…, queue number 1, the receipt PDF) → 今日候诊 (接诊) → 划价 (a prescription of
one drug × 2 priced by the server, an item order needing an examination) → 缴费 (both) →
项目检查 (result text and a PNG) → 发药 (the dispensing order arrives from oms through its
outbox) → 就诊记录 (已发药) → 退费 (the line of a second, paid prescription: a negative
reversing payment).

The superadmin works every page. The `platform` fixture (tests/conftest.py) runs registry,
gateway (serving gateway/console/dist), dbs, dms, oms and pms on embedded SQLite without demo
data, so the master data the desk needs (department, registration type, two doctors, two
drugs, a charge item) is created through the API first. Drives Debian's Chromium
(/usr/bin/chromium) with Playwright's sync API (never `playwright install`).
"""

from __future__ import annotations

import re
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from openpyxl import load_workbook

from shared.id_card import check_character
from shared.pii import mask_id_card
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.oms.outpatient_desk import ALL_DAY
from tests.pms.conftest import stock_up
from tests.support.browser import browser_available  # noqa: F401
from tests.support.clerks import user_with

pytestmark = pytest.mark.browser

HOSPITAL_ZONE = ZoneInfo("Asia/Shanghai")
# The oms outbox hands a paid prescription to pms, and pms reports the dispensing back, each
# within seconds; the pages show it on their refresh.
OUTBOX_WAIT_S = 20


def _money(value: str | Decimal) -> str:
    """As the console shows money (src/utils/format.ts)."""
    text = f"{Decimal(str(value)):.2f}"
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"


def _png() -> bytes:
    """A valid 2×2 RGB PNG, built here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# Chromium's built-in PDF viewer (an extension frame inside a tab showing a PDF).
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"


def _id_card(birth: date, sequence: str = "123") -> str:
    first17 = f"110105{birth:%Y%m%d}{sequence}"
    return first17 + check_character(first17)


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


# --- master data through the API --------------------------------------------------------


@dataclass
class Desk:
    """What the scenario works with, created through the API as the superadmin."""

    api: Any  # httpx2.Client with the admin's bearer token
    today: str
    department: dict
    reg_type: dict
    doctor: dict  # gets a morning shift today (in the console)
    colleague: dict  # same department and type, a shift tomorrow only
    drug: dict
    cheap_drug: dict
    exam_item: dict

    def get(self, path: str, **params: Any) -> Any:
        answer = self.api.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()


def _create(api: Any, path: str, body: dict) -> dict:
    answer = api.post(path, json=body)
    assert answer.status_code == 201, f"POST {path}: {answer.status_code} {answer.text}"
    return answer.json()


def _admin_api(base: str, username: str, password: str) -> Any:
    client = httpx2.Client(base_url=base, timeout=15)
    login = client.post("/api/auth/login", json={"username": username, "password": password})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    client.headers["Accept-Language"] = "zh-CN"
    return client


def _master_data(api: Any, tag: str) -> Desk:
    today = datetime.now(HOSPITAL_ZONE).date()
    department = _create(api, "/api/dbs/departments", {"code": f"K{tag}", "name": f"全科{tag}", "kind": "outpatient"})
    reg_type = _create(api, "/api/dbs/registration-types", {"name": f"普通号{tag}", "fee": "12.50"})

    def doctor(code: str, name: str) -> dict:
        return _create(
            api,
            "/api/dbs/doctors",
            {
                "code": code,
                "name": name,
                "sex": "female",
                "title": "attending",
                "department_id": department["id"],
                "registration_type_id": reg_type["id"],
                # Both shifts open whenever the test runs (the default hours end at 18:00).
                **ALL_DAY,
            },
        )

    on_duty = doctor(f"D{tag}A", f"李医生{tag}")
    colleague = doctor(f"D{tag}B", f"赵医生{tag}")
    # The colleague works tomorrow, not today: 挂号 must not offer them.
    _create(
        api,
        "/api/dms/schedules",
        {
            "doctor_id": colleague["id"],
            "date": (today + timedelta(days=1)).isoformat(),
            "shift": "morning",
            "registration_type_id": reg_type["id"],
            "quota": 10,
        },
    )

    kind = _create(api, "/api/dbs/drug-types", {"name": f"西药{tag}"})
    origin = _create(api, "/api/dbs/drug-origins", {"name": f"华北制药{tag}"})
    box = _create(api, "/api/dbs/units", {"name": f"盒{tag}"})

    def drug(code: str, name: str, price: str) -> dict:
        return _create(
            api,
            "/api/dbs/drugs",
            {
                "code": code,
                "name": name,
                "spec": "0.25g×24粒",
                "type_id": kind["id"],
                "origin_id": origin["id"],
                "unit_id": box["id"],
                "price": price,
                "low_stock_threshold": 10,
            },
        )

    category = _create(api, "/api/dbs/item-categories", {"name": f"检验费{tag}"})
    item_unit = _create(api, "/api/dbs/units", {"name": f"项{tag}"})
    exam_item = _create(
        api,
        "/api/dbs/charge-items",
        {
            "code": f"XM{tag}",
            "name": f"血常规{tag}",
            "category_id": category["id"],
            "unit_id": item_unit["id"],
            "price": "25.00",
            "scope": "outpatient",
            "needs_exam": True,
        },
    )
    return Desk(
        api=api,
        today=today.isoformat(),
        department=department,
        reg_type=reg_type,
        doctor=on_duty,
        colleague=colleague,
        drug=drug(f"YP{tag}A", f"阿莫西林胶囊{tag}", "18.55"),
        cheap_drug=drug(f"YP{tag}B", f"维生素C片{tag}", "6.80"),
        exam_item=exam_item,
    )


# --- steps in the browser ---------------------------------------------------------------


def _option(page: Any, text: str) -> Any:
    """The option of the select dropdown open now that shows `text`."""
    return page.locator(".el-select-dropdown__item:visible").filter(has_text=text)


def _confirm(page: Any, button: str) -> None:
    page.locator(".el-message-box").get_by_role("button", name=button).click()


def _pick_visit(page: Any, number: str) -> None:
    """Chooses the visit in the page's VisitPicker (today's visits are offered when it opens)."""
    from playwright.sync_api import expect

    picker = page.get_by_test_id("visit-picker")
    picker.click()
    picker.locator("input").fill(number)
    option = _option(page, number)
    expect(option).to_have_count(1)
    option.click()
    expect(picker).to_contain_text(number)


def _refresh_until(page: Any, locator: Any, refresh: Any, what: str) -> None:
    """Clicks the page's refresh until `locator` shows (a state that arrives through an outbox)."""
    from playwright.sync_api import expect

    deadline = time.monotonic() + OUTBOX_WAIT_S
    while True:
        try:
            expect(locator).to_be_visible(timeout=1_500)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not show within {OUTBOX_WAIT_S}s") from None
        refresh.click()


def _add_schedule(page: Any, desk: Desk) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "dms", "roster")
    grid = page.get_by_test_id("roster-grid")
    # Both doctors of dbs are rows; the colleague's shift of tomorrow is there.
    expect(grid.get_by_test_id(f"roster-row-{desk.doctor['id']}")).to_contain_text(desk.doctor["name"])
    tomorrow = (date.fromisoformat(desk.today) + timedelta(days=1)).isoformat()
    colleague_cell = grid.get_by_test_id(f"cell-{desk.colleague['id']}-{tomorrow}-morning")
    if colleague_cell.count():  # tomorrow may be in next week's roster
        expect(colleague_cell).to_contain_text("0/10")

    cell = grid.get_by_test_id(f"cell-{desk.doctor['id']}-{desk.today}-morning")
    cell.click()
    dialog = page.get_by_test_id("schedule-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(desk.doctor["name"])
    # The doctor's own registration type is preselected.
    expect(dialog.get_by_test_id("field-registration_type_id")).to_contain_text(desk.reg_type["name"])
    quota = dialog.get_by_test_id("field-quota").locator("input")
    quota.fill("5")
    quota.press("Tab")
    dialog.get_by_test_id("save-button").click()
    expect(dialog).to_be_hidden()
    expect(cell).to_contain_text(desk.reg_type["name"])
    expect(cell).to_contain_text("0/5")


def _quick_add_patient(page: Any, name: str, birth: date, id_card: str, phone: str, masked: bool = False) -> None:
    """`masked`: the clerk does not hold pii:read, so the ID card shows masked."""
    from playwright.sync_api import expect

    page.get_by_test_id("patient-quick-add").click()
    dialog = page.get_by_test_id("resource-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("field-name").fill(name)
    dialog.get_by_test_id("field-sex-male").click()
    birth_input = dialog.get_by_test_id("field-birth_date").locator("input")
    birth_input.fill(birth.isoformat())
    birth_input.press("Enter")
    dialog.get_by_test_id("field-id_card").fill(id_card)
    dialog.get_by_test_id("field-phone").fill(phone)
    dialog.get_by_test_id("save-button").click()
    expect(dialog).to_be_hidden()
    chosen = page.get_by_test_id("chosen-patient")
    expect(chosen).to_contain_text(name)
    expect(chosen).to_contain_text(mask_id_card(id_card) if masked else id_card)


def _register(page: Any, desk: Desk, patient: str, birth: date, id_card: str, phone: str, masked: bool = False) -> str:
    """Registers the patient with the doctor on duty, paid in cash; answers the visit number."""
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "registration")
    _quick_add_patient(page, patient, birth, id_card, phone, masked)

    page.get_by_test_id("reg-department").get_by_text(desk.department["name"], exact=True).click()
    page.get_by_test_id("reg-type").get_by_text(desk.reg_type["name"]).click()
    doctors = page.get_by_test_id("reg-doctors").locator(".el-table__body tr")
    # Only the doctor with a shift today: the colleague (tomorrow only) is not offered.
    expect(doctors).to_have_count(1)
    expect(doctors.first).to_contain_text(desk.doctor["name"])
    expect(doctors.first).to_contain_text("上午")
    expect(doctors.first).to_contain_text("5 / 5")
    expect(page.get_by_test_id("reg-doctors")).not_to_contain_text(desk.colleague["name"])
    doctors.first.click()

    page.get_by_test_id("method-cash").click()
    submit = page.get_by_test_id("register-submit")
    expect(submit).to_be_enabled()
    expect(submit).to_have_text("挂号并收费")
    submit.click()

    result = page.get_by_test_id("registration-result")
    expect(result).to_be_visible()
    number = page.get_by_test_id("visit-number")
    expect(number).to_have_text(re.compile(r"^MZ\d{8}-\d+$"))
    expect(page.get_by_test_id("queue-no")).to_have_text("1")
    expect(result).to_contain_text(_money(desk.reg_type["fee"]))
    expect(result).to_contain_text("已缴费")
    visit_number = number.inner_text().strip()
    _open_receipt(page, page.get_by_test_id("receipt-button"))
    return visit_number


def _open_receipt(page: Any, button: Any) -> None:
    """The receipt: fetched with the bearer token as a PDF and opened in a tab of its own."""
    with page.context.expect_page() as tab_info, page.expect_response(re.compile(r"/receipt\.pdf$")) as receipt_info:
        button.click()
    receipt = receipt_info.value
    assert receipt.status == 200, receipt.status
    assert receipt.headers.get("content-type", "").startswith("application/pdf"), receipt.headers
    tab = tab_info.value
    tab.wait_for_url(re.compile(r"^blob:"), wait_until="commit")
    # Only a PDF (the blob's type) makes Chromium load its PDF viewer in the tab.
    deadline = time.monotonic() + 10
    while not any(f.url.startswith(PDF_VIEWER) for f in tab.frames):
        assert time.monotonic() < deadline, f"no PDF viewer in the receipt's tab: {[f.url for f in tab.frames]}"
        tab.wait_for_timeout(200)
    tab.close()


def _receive(page: Any, desk: Desk, visit_number: str, patient: str) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "queue")
    # The only doctor with visits today is chosen at once.
    expect(page.get_by_test_id("queue-doctor")).to_contain_text(desk.doctor["name"])
    row = page.get_by_test_id("queue-table").locator(".el-table__body tr").filter(has_text=visit_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(patient)
    expect(row.get_by_test_id("state-registered")).to_be_visible()
    row.get_by_test_id("row-receive").click()
    expect(row.get_by_test_id("state-in_consultation")).to_be_visible()
    expect(row.get_by_test_id("row-receive")).to_have_count(0)


def _add_line(page: Any, kind: str, name: str, quantity: int) -> None:
    from playwright.sync_api import expect

    editor = page.get_by_test_id(f"line-editor-{kind}")
    editor.get_by_test_id("line-search").click()
    editor.get_by_test_id("line-search").locator("input").fill(name)
    option = _option(page, name)
    expect(option).to_have_count(1)
    option.click()
    row = editor.get_by_test_id("new-lines").locator(".el-table__body tr").filter(has_text=name)
    expect(row).to_have_count(1)
    if quantity != 1:
        field = row.get_by_test_id("line-quantity").locator("input")
        field.fill(str(quantity))
        field.press("Tab")
        expect(field).to_have_value(str(quantity))


def _price(page: Any, desk: Desk, visit_id: int, kind: str, name: str, quantity: int) -> dict:
    """Submits one order of one line; answers the order as the server priced it."""
    from playwright.sync_api import expect

    if kind == "item":
        page.get_by_test_id("pricing-tabs").get_by_role("tab", name="检查 / 治疗项目").click()
    else:
        page.get_by_test_id("pricing-tabs").get_by_role("tab", name="处方（药品）").click()
    _add_line(page, kind, name, quantity)
    before = {o["id"] for o in desk.get("/api/oms/orders", visit_id=visit_id, kind=kind)["items"]}
    page.get_by_test_id("pricing-submit").click()
    result = page.get_by_test_id("pricing-result")
    expect(result).to_contain_text("CF" if kind == "drug" else "XM")
    orders = [o for o in desk.get("/api/oms/orders", visit_id=visit_id, kind=kind)["items"] if o["id"] not in before]
    assert len(orders) == 1, orders
    order = orders[0]
    expect(result).to_contain_text(f"已划价：{order['number']}，合计 {_money(order['total'])}")
    row = page.get_by_test_id("orders-table").locator(".el-table__body tr").filter(has_text=order["number"])
    expect(row).to_contain_text(_money(order["total"]))
    expect(row).to_contain_text("待缴费")
    return order


def _pay(page: Any, order: dict) -> None:
    from playwright.sync_api import expect

    dues = page.get_by_test_id("dues-table")
    row = dues.locator(".el-table__body tr").filter(has_text=order["number"])
    expect(row).to_contain_text(_money(order["total"]))
    # Cash is the method chosen by default.
    expect(page.get_by_test_id("method-cash")).to_have_class(re.compile(r"is-active"))
    page.get_by_test_id(f"pay-order-{order['id']}").click()
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(_money(order["total"]))
    _confirm(page, "收费")
    paid = page.get_by_test_id("payment-result")
    expect(paid).to_contain_text(f"金额 {_money(order['total'])}")
    expect(dues).not_to_contain_text(order["number"])


def _examine(page: Any, desk: Desk, visit_number: str, png: bytes) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "exams")
    table = page.get_by_test_id("exams-table")
    row = table.locator(".el-table__body tr").filter(has_text=visit_number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(desk.exam_item["name"])
    row.get_by_test_id("row-enter").click()
    dialog = page.get_by_test_id("exam-dialog")
    expect(dialog).to_be_visible()
    text = "白细胞 6.1×10^9/L，未见异常"
    dialog.get_by_test_id("exam-text").fill(text)
    dialog.get_by_test_id("exam-files").locator("input[type=file]").set_input_files(
        {"name": "blood-count.png", "mimeType": "image/png", "buffer": png}
    )
    expect(dialog.locator(".el-upload-list")).to_contain_text("blood-count.png")
    dialog.get_by_test_id("save-button").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)  # no longer waiting

    page.get_by_test_id("exam-state").get_by_text("已检查").click()
    row = table.locator(".el-table__body tr").filter(has_text=visit_number)
    expect(row).to_contain_text("已检查")
    row.get_by_test_id("row-view").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("exam-result-text")).to_have_text(text)
    files = dialog.get_by_test_id("exam-result-files")
    expect(files).to_contain_text("blood-count.png")
    expect(files).to_contain_text(f"{len(png)} B")
    dialog.get_by_role("button", name="关闭", exact=True).click()
    expect(dialog).to_be_hidden()


def _dispense(page: Any, prescription: dict, patient: str) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "pms", "dispensing")
    table = page.get_by_test_id("dispensing-table")
    row = table.locator(".el-table__body tr").filter(has_text=prescription["number"])
    _refresh_until(page, row, page.get_by_title("刷新"), f"the dispensing order of {prescription['number']}")
    expect(row).to_contain_text(patient)
    row.get_by_test_id("row-dispense").click()
    expect(page.locator(".el-message-box")).to_contain_text(prescription["number"])
    _confirm(page, "发药")
    expect(row).to_have_count(0)
    page.get_by_test_id("dispensing-state").get_by_text("已发药").click()
    expect(table.locator(".el-table__body tr").filter(has_text=prescription["number"])).to_have_count(1)


def _visit_dispensed(page: Any, visit_number: str) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "visits")
    row = page.get_by_test_id("visits-table").locator(".el-table__body tr").filter(has_text=visit_number)
    expect(row).to_have_count(1)
    # pms reports the dispensing back through its own outbox.
    _refresh_until(page, row.get_by_test_id("state-dispensed"), page.get_by_title("刷新"), "the visit as 已发药")
    expect(row.get_by_test_id("state-dispensed")).to_have_text("已发药")
    row.get_by_test_id("row-view").click()
    drawer = page.get_by_test_id("visit-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_test_id("orders-table")).to_contain_text("已发药")
    drawer.locator(".el-drawer__close-btn").click()
    expect(drawer).to_be_hidden()


def _refund(page: Any, desk: Desk, visit_number: str, order: dict) -> None:
    from playwright.sync_api import expect

    payments = [
        p for p in desk.get("/api/oms/payments", visit_id=order["visit_id"])["items"] if p["order_id"] == order["id"]
    ]
    assert len(payments) == 1, payments
    payment = payments[0]

    _open_module_page(page, "oms", "refunds")
    _pick_visit(page, visit_number)
    row = page.get_by_test_id("refund-payments").locator(".el-table__body tr").filter(has_text=payment["number"])
    expect(row).to_contain_text(_money(order["total"]))
    row.locator(".el-radio").click()
    lines = page.get_by_test_id("refund-lines").locator(".el-table__body tr")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text(desk.cheap_drug["name"])
    # Nothing is preselected: the clerk ticks the line to refund.
    expect(lines.first.locator(".el-checkbox")).not_to_have_class(re.compile(r"is-checked"))
    lines.first.locator(".el-checkbox").click()
    reason = "患者不需要此药"
    page.get_by_test_id("refund-reason").fill(reason)
    page.get_by_test_id("refund-submit").click()
    expect(page.locator(".el-message-box")).to_contain_text(_money(order["total"]))
    _confirm(page, "退费")

    history = page.get_by_test_id("payments-table").last
    refund_row = history.locator(".el-table__body tr").filter(has_text=reason)
    expect(refund_row).to_have_count(1)
    expect(refund_row).to_contain_text(_money(f"-{order['total']}"))
    expect(refund_row).to_contain_text("退费")
    refunds = desk.get("/api/oms/payments", visit_id=order["visit_id"], kind="refund")["items"]
    assert [(r["refund_of"], r["amount"], r["reason"]) for r in refunds] == [
        (payment["id"], f"-{order['total']}", reason)
    ], refunds


# --- the scenario -----------------------------------------------------------------------


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    api = _admin_api(base, admin_username, admin_password)
    try:
        desk = _master_data(api, tag)
        patient = f"张三{tag[:3]}"
        birth = date(1985, 3, 12)
        id_card = _id_card(birth)
        phone = "13912345678"

        page = browsers.page("clerk")
        _login(page, base, admin_username, admin_password)
        page.get_by_test_id("logout-button").wait_for()

        # 排班表 → 挂号 → 今日候诊
        _add_schedule(page, desk)
        visit_number = _register(page, desk, patient, birth, id_card, phone)
        visits = desk.get("/api/oms/visits", q=visit_number)["items"]
        assert len(visits) == 1 and visits[0]["fee_paid"] and visits[0]["queue_no"] == 1, visits
        visit_id = visits[0]["id"]
        _receive(page, desk, visit_number, patient)

        # 划价: the server's price, never the page's.
        _open_module_page(page, "oms", "pricing")
        _pick_visit(page, visit_number)
        prescription = _price(page, desk, visit_id, "drug", desk.drug["name"], 2)
        (line,) = prescription["lines"]
        assert line["quantity"] == 2 and line["unit_price"] == desk.drug["price"], line
        assert Decimal(prescription["total"]) == Decimal(line["unit_price"]) * 2, prescription
        items = _price(page, desk, visit_id, "item", desk.exam_item["name"], 1)
        assert items["lines"][0]["needs_exam"], items

        # 缴费: both orders, in cash.
        _open_module_page(page, "oms", "payments")
        _pick_visit(page, visit_number)
        _pay(page, prescription)
        _pay(page, items)
        expect(page.get_by_test_id("dues-table")).to_contain_text("没有待缴费用")
        expect(page.get_by_test_id("payments-table").locator(".el-table__body tr")).to_have_count(3)

        # 项目检查 → 发药 → 就诊记录
        _examine(page, desk, visit_number, _png())
        # The warehouse delivers the drug to the pharmacy (as sms's outbox would), then it is handed out.
        stock_up(desk.api, desk.drug["id"], 2, code=desk.drug["code"], name=desk.drug["name"])
        _dispense(page, prescription, patient)
        _visit_dispensed(page, visit_number)

        # 退费: a second prescription, paid, refunded line by line before it is dispensed.
        _open_module_page(page, "oms", "pricing")
        _pick_visit(page, visit_number)
        second = _price(page, desk, visit_id, "drug", desk.cheap_drug["name"], 1)
        _open_module_page(page, "oms", "payments")
        _pick_visit(page, visit_number)
        _pay(page, second)
        _refund(page, desk, visit_number, second)

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
    finally:
        api.close()


def test_outpatient_desk(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('outpatient')}")
        raise


# 导出 (docs/exports.md): a clerk without `pii:read` exports one searched patient; the file is that row,
# under the Chinese headers, 性别 in words, ID card and phone masked as on screen.
EXPORT_ID_CARD = "11010519491231002X"
EXPORT_PHONE = "13912345678"


def _search_one(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("search-input").fill(text)
    expect(page.get_by_test_id("resource-table").locator(".el-table__row")).to_have_count(1)


def run_export_scenario(base: str, admin_user: str, admin_password: str, browsers: Browsers, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6]
    admin = _admin_api(base, admin_user, admin_password)
    try:
        patient = {"name": f"导出患者{tag}", "id_card": EXPORT_ID_CARD, "phone": EXPORT_PHONE}
        _create(admin, "/api/oms/patients", patient)
        exporter = user_with(admin, ["oms:patient:read", "oms:data:export"], real_name="档案管理员")
        reader = user_with(admin, ["oms:patient:read"], real_name="档案查阅员")
    finally:
        admin.close()

    page = browsers.page("reader")
    _login(page, base, *reader)
    _open_module_page(page, "oms", "patients")
    _search_one(page, f"导出患者{tag}")
    expect(page.get_by_test_id("export-open")).to_have_count(0)

    page = browsers.page("exporter")
    _login(page, base, *exporter)
    _open_module_page(page, "oms", "patients")
    _search_one(page, f"导出患者{tag}")
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
        run_export_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers, tmp_path)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('exports')}")
        raise

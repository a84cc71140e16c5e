"""The inpatient desk (住院) in a real browser (docs/inpatient.md, docs/console.md "Inpatient (hms)").

A clerk whose role holds the inpatient module (and reading the patient library, departments,
doctors, charge types and charge items it chooses from) opens 床位一览, presses 入院登记 on a free bed:
the admission opens with that bed chosen and its department shown; the patient is found in oms's
library (直接入院), the doctor, diagnosis, charge type and a first deposit are filled in, and the stay
opens with its ZY number. There 预交款 takes a second deposit, 项目记账 books an inpatient item, and the
header adds them up. Back on the bed board the bed is occupied, naming the patient. Then 出院结算:
the preview's figures, the settlement (its total as `expected_total`), and the bed is free again.
No screen shows a raw state, field path or permission string.

The superadmin makes the master data and the ward through the API, as a hospital's IT would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_console_outpatient import ALL_DAY, _admin_api, _create, _option
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.support.browser import assert_no_codes, assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import module_permissions, user_with

pytestmark = pytest.mark.browser

# What an inpatient clerk must never read: the service's states and kinds, field paths, permissions.
RAW = re.compile(
    r"\b(free|occupied|cleaning|closed|admitted|settled|booked|payment|settlement_refund|settlement_collect"
    r"|bed_day|stay_settled|bed_taken|account_changed)\b|deposit\.amount|lines\.\d|\bhms:[a-z_*]+(:[a-z_]+)?\b"
)


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _master_data(admin: Any, tag: str) -> dict[str, dict]:
    department = _create(
        admin, "/api/dbs/departments", {"code": f"ZY{tag}", "name": f"内科病区{tag}", "kind": "inpatient"}
    )
    reg_type = _create(admin, "/api/dbs/registration-types", {"name": f"普通号{tag}", "fee": "10.00"})
    doctor = _create(
        admin,
        "/api/dbs/doctors",
        {
            "code": f"D{tag}", "name": f"王医生{tag}", "sex": "male", "title": "attending",
            "department_id": department["id"], "registration_type_id": reg_type["id"], **ALL_DAY,
        },
    )  # fmt: skip
    charge_type = _create(admin, "/api/dbs/charge-types", {"name": f"自费{tag}", "reimbursement_ratio": "0.00"})
    category = _create(admin, "/api/dbs/item-categories", {"name": f"护理费{tag}"})
    unit = _create(admin, "/api/dbs/units", {"name": f"次{tag}"})
    item = _create(
        admin,
        "/api/dbs/charge-items",
        {
            "code": f"HL{tag}", "name": f"一级护理{tag}", "category_id": category["id"], "unit_id": unit["id"],
            "price": "36.00", "scope": "inpatient", "needs_exam": False,
        },
    )  # fmt: skip
    ward = _create(
        admin, "/api/hms/wards", {"code": f"W{tag}", "name": f"三病区{tag}", "department_id": department["id"]}
    )
    bed = _create(admin, "/api/hms/beds", {"ward_id": ward["id"], "number": "01", "daily_price": "50.00"})
    _create(admin, "/api/hms/beds", {"ward_id": ward["id"], "number": "02", "daily_price": "50.00"})
    patient = _create(
        admin, "/api/oms/patients", {"name": f"住院患者{tag}", "sex": "female", "birth_date": "1960-05-06"}
    )
    return {"department": department, "doctor": doctor, "charge_type": charge_type, "item": item,
            "ward": ward, "bed": bed, "patient": patient}  # fmt: skip


def _confirm(page: Any, button: str) -> None:
    page.locator(".el-message-box").get_by_role("button", name=button).click()


def _select(page: Any, select: Any, text: str) -> None:
    from playwright.sync_api import expect

    select.click()
    option = _option(page, text)
    expect(option).to_have_count(1)
    option.click()


def _bed_board(page: Any, bed_id: int) -> Any:
    _open_module_page(page, "hms", "bed-board")
    bed = page.get_by_test_id(f"bed-{bed_id}")
    bed.wait_for()
    return bed


def _admit(page: Any, data: dict[str, dict]) -> str:
    """入院登记 from the free bed on the bed board; answers the ZY number."""
    from playwright.sync_api import expect

    bed = _bed_board(page, data["bed"]["id"])
    expect(bed).to_have_attribute("data-state", "free")
    bed.get_by_test_id("bed-admit").click()
    page.wait_for_url("**/hms/admission?bed_id=*")
    # The bed chosen, its department following from its ward.
    expect(page.get_by_test_id("admission-bed")).to_contain_text(f"{data['ward']['name']} · 01")
    expect(page.get_by_test_id("admission-department")).to_contain_text(data["department"]["name"])

    page.get_by_test_id("admission-source-direct").click()
    name = data["patient"]["name"]
    page.get_by_test_id("patient-search").fill(name)
    page.get_by_test_id("patient-search").press("Enter")
    expect(page.get_by_test_id("admission-patient")).to_contain_text(name)

    # The ward's department has one doctor: chosen already.
    expect(page.get_by_test_id("admission-doctor")).to_contain_text(data["doctor"]["name"])
    # Nothing is sent before the diagnosis is given: the message shows under the field.
    page.get_by_test_id("admission-submit").click()
    expect(page.get_by_test_id("form-item-diagnosis").locator(".el-form-item__error")).to_have_text("请填写诊断")
    page.get_by_test_id("admission-diagnosis").fill("社区获得性肺炎")
    _select(page, page.get_by_test_id("admission-charge-type"), data["charge_type"]["name"])
    page.get_by_test_id("admission-deposit").fill("1000")
    page.get_by_test_id("admission-submit").click()

    page.wait_for_url(re.compile(r".*/hms/stays/\d+$"))
    number = page.get_by_test_id("stay-number")
    expect(number).to_have_text(re.compile(r"^ZY\d{8}-\d{5}$"))
    expect(page.locator(".admission-success")).to_contain_text(number.inner_text())
    expect(page.get_by_test_id("stay-patient")).to_have_text(name)
    expect(page.get_by_test_id("stay-bed")).to_have_text(f"{data['ward']['name']} · 01")
    expect(page.get_by_test_id("stay-deposits")).to_have_text("¥1000.00")
    return number.inner_text()


def _pay_deposit(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator("#tab-deposits").click()
    page.get_by_test_id("deposit-pay").click()
    dialog = page.get_by_test_id("deposit-dialog")
    expect(dialog).to_be_visible()
    # Refused, not corrected: −5 stays −5 and nothing is sent.
    dialog.get_by_test_id("deposit-amount").fill("-5")
    dialog.get_by_test_id("deposit-submit").click()
    expect(dialog.get_by_test_id("form-item-amount").locator(".el-form-item__error")).to_contain_text("大于 0")
    expect(dialog.get_by_test_id("deposit-amount")).to_have_value("-5")
    dialog.get_by_test_id("deposit-amount").fill("500")
    dialog.get_by_test_id("deposit-method-wechat").click()
    dialog.get_by_test_id("deposit-submit").click()
    expect(page.locator(".el-message-box")).to_contain_text("¥500.00")
    _confirm(page, "确定")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("stay-deposits")).to_have_text("¥1500.00")
    rows = page.get_by_test_id("tab-pane-deposits").get_by_test_id("deposits-table")
    expect(rows.locator(".el-table__body tr")).to_have_count(2)
    expect(rows).to_contain_text("微信")


def _book_item(page: Any, item: dict) -> None:
    from playwright.sync_api import expect

    page.locator("#tab-items").click()
    editor = page.get_by_test_id("line-editor-item")
    editor.get_by_test_id("line-search").click()
    editor.get_by_test_id("line-search").locator("input").fill(item["code"])
    option = _option(page, item["name"])
    expect(option).to_have_count(1)
    option.click()
    field = editor.get_by_test_id("new-lines").get_by_test_id("line-quantity").locator("input")
    field.fill("2")
    field.press("Tab")
    page.get_by_test_id("items-book").click()
    expect(page.get_by_test_id("items-confirm")).to_contain_text(f"{item['name']} × 2")
    _confirm(page, "记账")
    rows = page.get_by_test_id("item-rows").locator(".el-table__body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("¥72.00")
    expect(rows.first.get_by_test_id("item-state")).to_have_text("已记账")
    expect(page.get_by_test_id("stay-charges")).to_have_text("¥72.00")
    expect(page.get_by_test_id("stay-balance")).to_have_text("¥1428.00")


def _settle(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator("#tab-settlement").click()
    figures = page.get_by_test_id("tab-pane-settlement").get_by_test_id("settlement-figures")
    # The item and the bed-day still due (at least one night, ¥50.00): ¥122.00, all self-paid.
    expect(figures.get_by_test_id("figure-total")).to_have_text(re.compile(r"^¥\d+\.\d{2}$"))
    total = figures.get_by_test_id("figure-total").inner_text()
    expect(figures.get_by_test_id("figure-self-pay")).to_have_text(total)
    expect(figures.get_by_test_id("figure-outcome")).to_have_attribute("data-outcome", "refund")
    page.get_by_test_id("settle-submit").click()
    expect(page.locator(".el-message-box")).to_contain_text(total)
    _confirm(page, "出院结算")
    expect(page.get_by_test_id("stay-state")).to_have_text("已出院结算")
    expect(page.get_by_test_id("stay-settlement-row")).to_have_count(1)
    expect(page.get_by_test_id("settlement-number")).to_have_text(re.compile(r"^JS"))


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        permissions = [
            *module_permissions(admin, "hms"),
            "oms:patient:read",
            "dbs:department:read",
            "dbs:doctor:read",
            "dbs:charge_type:read",
            "dbs:charge_item:read",
        ]
        username, password = user_with(admin, permissions, real_name="住院处")
    finally:
        admin.close()

    page = browsers.page("clerk")
    _login(page, base, username, password)
    _admit(page, data)
    assert_no_codes(page, "住院详情")
    _pay_deposit(page)
    _book_item(page, data["item"])
    page.locator("#tab-account").click()
    expect(page.get_by_test_id("account-total")).to_have_text("¥72.00")
    assert_no_raw_words(RAW, page, "费用明细")

    bed = _bed_board(page, data["bed"]["id"])
    expect(bed).to_have_attribute("data-state", "occupied")
    expect(bed.get_by_test_id("bed-patient")).to_have_text(data["patient"]["name"])
    expect(bed.get_by_test_id("bed-balance")).to_have_text("¥1428.00")
    assert_no_codes(page, "床位一览")
    assert_no_raw_words(RAW, page, "床位一览")

    bed.get_by_test_id("bed-open-stay").click()
    page.wait_for_url(re.compile(r".*/hms/stays/\d+$"))
    _settle(page)
    assert_no_raw_words(RAW, page, "出院结算")

    bed = _bed_board(page, data["bed"]["id"])
    expect(bed).to_have_attribute("data-state", "free")
    expect(bed.get_by_test_id("bed-occupant")).to_have_count(0)

    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def test_admission_deposit_item_and_settlement(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('inpatient')}")
        raise

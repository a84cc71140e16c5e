"""The warehouse (仓库) in a real browser, in the order a store-keeper works (docs/warehouse.md,
docs/console.md):

入库单 (a draft written in the console: warehouse, supplier and handler chosen by name, a drug
searched by code, batch, dates, purchase price and quantity; saved, then 确认入库) → 库存查询 (the
batch with its quantity, its value at purchase and at selling price, its expiry marked as near) →
操作记录 (the ledger row 入库 +quantity with the RK number and the store-keeper) → 过期提醒 (the
batch listed as 即将过期) → 库存不足 (the drug's threshold raised above its stock, so it is listed
with its shortfall) → 冲销 (the order reversed with a reason: 冲销入库 −quantity in the ledger).
A colleague who may only read inbound orders sees a draft without 确认入库.

The superadmin, through the API as a hospital's IT would, makes the master data (drug, supplier,
warehouse, handler) and two roles: the store-keeper's, holding only warehouse permissions and the
master-data reads the forms need, and the reader's. The `platform` fixture (tests/conftest.py)
runs every component as a real process on embedded SQLite; Debian's Chromium
(/usr/bin/chromium) is driven by Playwright's sync API.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_console_outpatient import _admin_api, _create, _money, _option
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.support.browser import assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import login, user_with

pytestmark = pytest.mark.browser

HOSPITAL_ZONE = ZoneInfo("Asia/Shanghai")

# The forms name warehouses, suppliers, handlers and drugs: the store-keeper reads them in dbs.
MASTER_READS = ["dbs:drug:read", "dbs:supplier:read", "dbs:warehouse:read", "dbs:handler:read"]
STORE_KEEPER = [
    "sms:inbound:read",
    "sms:inbound:write",
    "sms:stock:read",
    "sms:alert:read",
    "sms:threshold:read",
    "sms:threshold:write",
    *MASTER_READS,
]
READER = ["sms:inbound:read", "sms:stock:read", *MASTER_READS]

# What a store-keeper must never read: states, movement kinds, field paths, permission strings.
RAW = re.compile(
    r"\b(draft|posted|reversed|inbound_reversal|inbound|expiring|expired)\b|lines\.\d"
    r"|\b(sms|dbs|system):[a-z_*]+(:[a-z_]+)?\b"
)


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _master_data(api: Any, tag: str) -> dict[str, dict]:
    kind = _create(api, "/api/dbs/drug-types", {"name": f"西药{tag}"})
    origin = _create(api, "/api/dbs/drug-origins", {"name": f"华北制药{tag}"})
    box = _create(api, "/api/dbs/units", {"name": f"盒{tag}"})
    drug = _create(
        api,
        "/api/dbs/drugs",
        {
            "code": f"YP{tag}",
            "name": f"阿莫西林胶囊{tag}",
            "spec": "0.25g×24粒",
            "type_id": kind["id"],
            "origin_id": origin["id"],
            "unit_id": box["id"],
            "price": "20.00",
            "low_stock_threshold": 10,
        },
    )
    return {
        "drug": drug,
        "supplier": _create(api, "/api/dbs/suppliers", {"name": f"国药控股{tag}", "contact": "王经理"}),
        # Disabled while the form is open: sms refuses it, and the console says so under the field.
        "old_supplier": _create(api, "/api/dbs/suppliers", {"name": f"华润医药{tag}"}),
        "warehouse": _create(api, "/api/dbs/warehouses", {"name": f"西药库{tag}", "location": "一号楼地下一层"}),
        "handler": _create(api, "/api/dbs/handlers", {"name": f"张保管{tag}"}),
    }


# --- steps in the browser ---------------------------------------------------------------


def _choose(page: Any, scope: Any, testid: str, text: str) -> None:
    """Picks `text` in a (filterable) select of the form."""
    from playwright.sync_api import expect

    select = scope.get_by_test_id(testid)
    select.click()
    select.locator("input").fill(text)
    option = _option(page, text)
    expect(option).to_have_count(1)
    option.click()
    expect(select).to_contain_text(text)


def _date(row: Any, testid: str, day: str) -> None:
    field = row.get_by_test_id(testid).locator("input")
    field.fill(day)
    field.press("Enter")


def _write_draft(page: Any, admin: Any, data: dict[str, dict], batch: str, produced: str, expires: str) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "sms", "inbound")
    page.get_by_test_id("create-button").click()
    dialog = page.get_by_test_id("inbound-dialog")
    expect(dialog).to_be_visible()

    # Saving an empty draft is refused by the page, under each field, in words.
    dialog.get_by_test_id("save-draft").click()
    expect(dialog.get_by_test_id("form-item-warehouse_id")).to_contain_text("请选择仓库")
    expect(dialog.get_by_test_id("line-error-quantity")).to_contain_text("数量须为 1–1000000 的整数")

    _choose(page, dialog, "field-warehouse_id", data["warehouse"]["name"])
    _choose(page, dialog, "field-supplier_id", data["old_supplier"]["name"])
    _choose(page, dialog, "field-handler_id", data["handler"]["name"])
    dialog.get_by_test_id("field-remark").fill("随货同行单 0001")

    row = dialog.get_by_test_id("inbound-lines").locator(".el-table__body tr").first
    drug = row.get_by_test_id("line-drug")
    drug.click()
    drug.locator("input").fill(data["drug"]["code"])
    option = _option(page, data["drug"]["name"])
    expect(option).to_have_count(1)
    # The drug is chosen by what a store-keeper reads: code, name and spec.
    expect(option).to_contain_text(data["drug"]["code"])
    expect(option).to_contain_text(data["drug"]["spec"])
    option.click()
    row.get_by_test_id("line-batch_no").fill(batch)
    # An expiry date before the production date is refused under the field.
    _date(row, "line-production_date", produced)
    _date(row, "line-expiry_date", produced)
    expect(row.get_by_test_id("line-error-expiry_date")).to_contain_text("有效期必须晚于生产日期")
    _date(row, "line-expiry_date", expires)
    expect(row.get_by_test_id("line-error-expiry_date")).to_have_count(0)
    # An el-input carries its test id on the <input> itself.
    price = row.get_by_test_id("line-purchase_price")
    price.fill("12.5")
    price.press("Tab")
    expect(price).to_have_value("12.50")
    row.get_by_test_id("line-quantity").locator("input").fill("40")
    expect(dialog.get_by_test_id("inbound-total")).to_have_text(_money("500.00"))

    disabled = admin.post(f"/api/dbs/suppliers/{data['old_supplier']['id']}/disable")
    assert disabled.status_code == 200, disabled.text
    dialog.get_by_test_id("save-draft").click()
    expect(dialog.get_by_test_id("form-item-supplier_id")).to_contain_text("所选供货商已停用")
    _choose(page, dialog, "field-supplier_id", data["supplier"]["name"])
    expect(dialog.get_by_test_id("form-item-supplier_id")).not_to_contain_text("已停用")

    dialog.get_by_test_id("save-draft").click()
    expect(dialog).to_be_hidden()


def _post(page: Any, number: str) -> None:
    from playwright.sync_api import expect

    row = page.get_by_test_id("inbound-table").locator(".el-table__body tr").filter(has_text=number)
    expect(row.get_by_test_id("inbound-state")).to_have_text("草稿")
    row.get_by_test_id("row-post").click()
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(number)
    expect(box).to_contain_text(_money("500.00"))
    box.get_by_role("button", name="确认入库").click()
    expect(row.get_by_test_id("inbound-state")).to_have_text("已入库")
    expect(row.get_by_test_id("row-post")).to_have_count(0)
    expect(row.get_by_test_id("row-reverse")).to_be_visible()


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        keeper_name, keeper_password = user_with(admin, STORE_KEEPER, real_name="库管员")
        reader_name, reader_password = user_with(admin, READER, real_name="仓库查询员")
        keeper = login(base, keeper_name, keeper_password)

        today = datetime.now(HOSPITAL_ZONE).date()
        produced = (today - timedelta(days=30)).isoformat()
        # Within the 90 days of the expiry alert: marked as near on 库存查询 and listed in 过期提醒.
        expires = (today + timedelta(days=60)).isoformat()
        batch = f"B{tag}"

        page = browsers.page("keeper")
        _login(page, base, keeper_name, keeper_password)
        page.get_by_test_id("logout-button").wait_for()

        # 入库单: the draft, written in the console, then posted.
        _write_draft(page, admin, data, batch, produced, expires)
        (order,) = keeper.get("/api/sms/inbound-orders", params={"q": data["supplier"]["name"]}).json()["items"]
        assert order["state"] == "draft", order
        assert order["warehouse_id"] == data["warehouse"]["id"] and order["handler_id"] == data["handler"]["id"], order
        (line,) = order["lines"]
        assert line["drug_id"] == data["drug"]["id"] and line["batch_no"] == batch, line
        assert (line["production_date"], line["expiry_date"]) == (produced, expires), line
        assert (line["purchase_price"], line["quantity"]) == ("12.50", 40), line
        assert keeper.get("/api/sms/stock", params={"batch_no": batch}).json()["total"] == 0, "a draft moves no stock"
        _post(page, order["number"])
        assert_no_raw_words(RAW, page, "入库单")

        # The order with its lines.
        rows = page.get_by_test_id("inbound-table").locator(".el-table__body tr")
        rows.filter(has_text=order["number"]).get_by_test_id("row-view").click()
        drawer = page.get_by_test_id("inbound-drawer")
        expect(drawer.get_by_test_id("drawer-number")).to_have_text(order["number"])
        expect(drawer.get_by_test_id("drawer-lines")).to_contain_text(batch)
        expect(drawer).to_contain_text(data["handler"]["name"])
        drawer.locator(".el-drawer__close-btn").click()

        # 库存查询: the batch, valued at 12.50 and at the drug's 20.00.
        _open_module_page(page, "sms", "stock")
        stock = page.get_by_test_id("stock-table").locator(".el-table__body tr").filter(has_text=batch)
        expect(stock).to_have_count(1)
        expect(stock).to_contain_text(data["drug"]["name"])
        expect(stock).to_contain_text(data["warehouse"]["name"])
        expect(stock).to_contain_text(data["supplier"]["name"])
        expect(stock.get_by_test_id("row-quantity")).to_have_text("40")
        expect(stock.get_by_test_id("row-purchase-value")).to_have_text(_money(Decimal("12.50") * 40))
        expect(stock.get_by_test_id("row-selling-value")).to_have_text(_money(Decimal("20.00") * 40))
        expect(stock.get_by_test_id("expiry-cell")).to_have_attribute("data-expiry", "expiring")
        expect(stock.get_by_test_id("expiry-cell")).to_contain_text("即将过期")
        assert_no_raw_words(RAW, page, "库存查询")

        # 操作记录: the ledger row of the posting.
        _open_module_page(page, "sms", "movements")
        ledger = page.get_by_test_id("movements-table").locator(".el-table__body tr").filter(has_text=order["number"])
        expect(ledger).to_have_count(1)
        expect(ledger.get_by_test_id("row-movement")).to_have_text("入库")
        expect(ledger.get_by_test_id("row-quantity")).to_have_text("+40")
        expect(ledger).to_contain_text(batch)
        expect(ledger).to_contain_text(keeper_name)
        assert_no_raw_words(RAW, page, "操作记录")

        # 过期提醒: the batch expires within the default 90 days.
        _open_module_page(page, "sms", "expiry")
        near = page.get_by_test_id("expiry-table").locator(".el-table__body tr").filter(has_text=batch)
        expect(near.get_by_test_id("row-status")).to_have_text("即将过期")
        expect(near).to_contain_text("还剩 60 天")
        assert_no_raw_words(RAW, page, "过期提醒")

        # 库存不足: 40 is above the default threshold; raised to 100 the drug is 60 short.
        _open_module_page(page, "sms", "low-stock")
        table = page.get_by_test_id("low-stock-table")
        expect(table.locator(".el-table__body tr").filter(has_text=data["drug"]["name"])).to_have_count(0)
        page.get_by_test_id("threshold-button").click()
        dialog = page.get_by_test_id("threshold-dialog")
        drug = dialog.get_by_test_id("line-drug")
        drug.click()
        drug.locator("input").fill(data["drug"]["code"])
        _option(page, data["drug"]["name"]).click()
        field = dialog.get_by_test_id("field-threshold").locator("input")
        expect(field).not_to_have_value("")
        field.fill("100")
        dialog.get_by_test_id("save-button").click()
        expect(dialog).to_be_hidden()
        short = table.locator(".el-table__body tr").filter(has_text=data["drug"]["name"])
        expect(short.get_by_test_id("row-quantity")).to_have_text("40")
        expect(short.get_by_test_id("row-shortfall")).to_have_text("60")
        assert keeper.get(f"/api/sms/thresholds/{data['drug']['id']}").json()["threshold"] == 100

        # 冲销: the posted order is taken back out with a reason, on a reversing order of its own.
        _open_module_page(page, "sms", "inbound")
        posted = page.get_by_test_id("inbound-table").locator(".el-table__body tr").filter(has_text=order["number"])
        posted.get_by_test_id("row-reverse").click()
        box = page.locator(".el-message-box")
        expect(box).to_contain_text(order["number"])
        box.get_by_role("button", name="冲销").click()
        # A reversal without a reason is refused in the box.
        expect(box).to_contain_text("请填写冲销原因")
        box.locator("input").fill("批号录错，退回供货商")
        box.get_by_role("button", name="冲销").click()
        expect(posted.get_by_test_id("inbound-state")).to_have_text("已冲销")
        expect(posted.get_by_test_id("row-reverse")).to_have_count(0)
        orders = keeper.get("/api/sms/inbound-orders").json()["items"]
        (reversal,) = [o for o in orders if o["reverses_id"] == order["id"]]
        assert reversal["state"] == "posted" and reversal["reason"] == "批号录错，退回供货商", reversal
        _open_module_page(page, "sms", "movements")
        back = page.get_by_test_id("movements-table").locator(".el-table__body tr").filter(has_text=reversal["number"])
        expect(back.get_by_test_id("row-movement")).to_have_text("冲销入库")
        expect(back.get_by_test_id("row-quantity")).to_have_text("−40")
        expect(back).to_contain_text("批号录错，退回供货商")
        assert_no_raw_words(RAW, page, "操作记录（冲销）")

        # A second draft, written through the API: the reader sees it, but nothing to post it with.
        draft = keeper.post(
            "/api/sms/inbound-orders",
            json={
                "warehouse_id": data["warehouse"]["id"],
                "supplier_id": data["supplier"]["id"],
                "handler_id": data["handler"]["id"],
                "lines": [
                    {
                        "drug_id": data["drug"]["id"],
                        "batch_no": f"C{tag}",
                        "production_date": produced,
                        "expiry_date": (today + timedelta(days=400)).isoformat(),
                        "purchase_price": "11.00",
                        "quantity": 5,
                    }
                ],
            },
        )
        assert draft.status_code == 201, draft.text
        reader = browsers.page("reader")
        _login(reader, base, reader_name, reader_password)
        _open_module_page(reader, "sms", "inbound")
        rows = reader.get_by_test_id("inbound-table").locator(".el-table__body tr")
        expect(rows.filter(has_text=draft.json()["number"]).get_by_test_id("inbound-state")).to_have_text("草稿")
        expect(rows.filter(has_text=order["number"])).to_have_count(1)
        expect(reader.get_by_test_id("row-post")).to_have_count(0)
        expect(reader.get_by_test_id("row-reverse")).to_have_count(0)
        expect(reader.get_by_test_id("create-button")).to_have_count(0)
        # Nor the alerts the role does not hold.
        expect(reader.get_by_test_id("menu-sms-low-stock")).to_have_count(0)

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
        keeper.close()
    finally:
        admin.close()


def test_store_keeper_receives_drugs(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('warehouse')}")
        raise

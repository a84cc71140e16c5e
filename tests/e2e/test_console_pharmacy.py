"""The pharmacy (药房) in a real browser, in the order a pharmacist works (docs/pharmacy.md,
docs/console.md):

发药 of a prescription one of whose drugs is not on the shelf: refused with the server's message
naming the drug and how many are missing, and 报缺 offered → 报缺 opens prefilled with that drug
and quantity, and is filed → once the warehouse has delivered, 发药 succeeds and each line shows
the batch it came from → 药房详情 (the batch with what is left, its value, its expiry marked as
near; the ledger with 药房入库 +10 and 发药 −2) → 药房入库 (the delivery with its CK number and
lines) → 批次追溯 (the recall list of the batch names the patient, and exports as CSV).

The superadmin, through the API as a hospital's IT would, makes two drugs and the roles: the
pharmacist's (every pharmacy permission, and reading drugs, warehouses and suppliers in dbs) and
a keeper's holding only `pms:delivery:write`, who delivers as sms's outbox relay would. The
prescription arrives as oms's outbox sends it. The `platform` fixture (tests/conftest.py) runs
every component as a real process; Debian's Chromium is driven by Playwright's sync API.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_console_outpatient import _admin_api, _create, _money
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.e2e.test_console_warehouse import _choose, _master_data
from tests.pms.conftest import delivery_body, delivery_line
from tests.support.browser import assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import login, module_permissions, user_with

pytestmark = pytest.mark.browser

HOSPITAL_ZONE = ZoneInfo("Asia/Shanghai")

# What a pharmacist must never read: states, movement kinds, field paths, permission strings.
RAW = re.compile(
    r"\b(open|sent|partly_fulfilled|fulfilled|cancelled|pending|dispensed|delivery|dispense|expiring|expired"
    r"|insufficient_stock)\b|lines\.\d|\b(pms|sms|dbs|system|service):[a-z_*]+(:[a-z_]+)?\b"
)


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _deliver(keeper: Any, data: dict, drug: dict, quantity: int, batch: str, expires: str) -> dict:
    """An outbound order of the warehouse, as sms's outbox relay posts it."""
    line = delivery_line(
        drug["id"], quantity, code=drug["code"], name=drug["name"], spec=drug["spec"], unit="盒",
        batch_no=batch, expiry_date=expires, supplier_id=data["supplier"]["id"], purchase_price="12.50",
    )  # fmt: skip
    body = delivery_body(line, warehouse_id=data["warehouse"]["id"])
    answer = keeper.post(
        "/api/pms/deliveries", json=body, headers={"Idempotency-Key": f"sms-outbound-{body['outbound_id']}"}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _prescription(pharmacy: Any, tag: str, drugs: list[tuple[dict, int]]) -> dict:
    """A paid prescription as oms's outbox sends it to the pharmacy."""
    order_id = random.randrange(1, 2**31)
    body = {
        "source": "oms",
        "order_id": order_id,
        "order_number": f"CF{tag}",
        "visit_number": f"MZ{tag}",
        "patient_name": f"王召回{tag}",
        "doctor_name": "李医生",
        "department_name": "内科",
        "lines": [
            {
                "line_id": i + 1,
                "drug_id": d["id"],
                "code": d["code"],
                "name": d["name"],
                "spec": d["spec"],
                "unit": "盒",
                "quantity": n,
            }
            for i, (d, n) in enumerate(drugs)
        ],
    }
    answer = pharmacy.post(
        "/api/pms/dispensing-orders", json=body, headers={"Idempotency-Key": f"oms-order-{order_id}"}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _press_dispense(page: Any, order_number: str) -> None:
    row = page.get_by_test_id("dispensing-table").locator(".el-table__body tr").filter(has_text=order_number)
    row.get_by_test_id("row-dispense").click()
    page.locator(".el-message-box").get_by_role("button", name="发药").click()


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        first = data["drug"]
        fields = ("spec", "type_id", "origin_id", "unit_id", "price")
        second = _create(
            admin,
            "/api/dbs/drugs",
            {"code": f"YQ{tag}", "name": f"布洛芬缓释胶囊{tag}", **{k: first[k] for k in fields}},
        )
        reads = ["dbs:drug:read", "dbs:warehouse:read", "dbs:supplier:read"]
        pharmacist_name, pharmacist_password = user_with(admin, [*module_permissions(admin, "pms"), *reads], "药房药师")
        keeper_name, keeper_password = user_with(admin, ["pms:delivery:write"], "药库保管员")
        store_name, store_password = user_with(
            admin, ["sms:return:read", "dbs:warehouse:read", "dbs:supplier:read"], "药库管理员"
        )
    finally:
        admin.close()
    pharmacist = login(base, pharmacist_name, pharmacist_password)
    keeper = login(base, keeper_name, keeper_password)
    try:
        today = datetime.now(HOSPITAL_ZONE).date()
        batch = f"B{tag}"
        near = (today + timedelta(days=60)).isoformat()  # within 90 days: marked 即将过期
        delivery = _deliver(keeper, data, first, 10, batch, near)
        order = _prescription(pharmacist, tag, [(first, 2), (second, 3)])

        page = browsers.page("pharmacist")
        _login(page, base, pharmacist_name, pharmacist_password)
        page.get_by_test_id("logout-button").wait_for()

        # 发药 with the second drug not on the shelf: the server's message, and 报缺 offered.
        _open_module_page(page, "pms", "dispensing")
        _press_dispense(page, order["order_number"])
        box = page.locator(".el-message-box").filter(has=page.get_by_test_id("dispense-short"))
        expect(box.get_by_test_id("dispense-short-message")).to_contain_text(f"{second['name']} 库存不足：需要 3，缺 3")
        assert_no_raw_words(RAW, page, "发药（库存不足）")
        box.locator(".dispense-file-shortage").click()

        # 报缺, prefilled with the drug and the shortfall.
        page.wait_for_url("**/pms/shortages")
        dialog = page.get_by_test_id("shortage-dialog")
        expect(dialog.get_by_test_id("shortage-prefilled")).to_be_visible()
        expect(dialog.get_by_test_id("line-drug")).to_contain_text(second["name"])
        expect(dialog.get_by_test_id("line-quantity").locator("input")).to_have_value("3")
        dialog.get_by_test_id("field-remark").fill("门诊处方缺药")
        dialog.get_by_test_id("shortage-submit").click()
        expect(dialog).to_be_hidden()
        (request,) = pharmacist.get("/api/pms/shortage-requests").json()["items"][:1]
        assert request["remark"] == "门诊处方缺药", request
        assert [(x["drug_id"], x["code"], x["name"], x["quantity"]) for x in request["lines"]] == [
            (second["id"], second["code"], second["name"], 3)
        ], request
        row = page.get_by_test_id("shortages-table").locator(".el-table__body tr").filter(has_text=request["number"])
        expect(row.get_by_test_id("row-state")).to_have_text(re.compile("^(待发送|仓库已接收)$"))
        assert_no_raw_words(RAW, page, "报缺")

        # The warehouse delivers; 发药 now hands out, and each line names its batch.
        _deliver(keeper, data, second, 5, f"C{tag}", (today + timedelta(days=400)).isoformat())
        _open_module_page(page, "pms", "dispensing")
        _press_dispense(page, order["order_number"])
        expect(page.locator(".el-message--success").filter(has_text=order["patient_name"])).to_have_count(1)
        page.get_by_test_id("dispensing-state").get_by_text("已发药").click()
        done = (
            page.get_by_test_id("dispensing-table")
            .locator(".el-table__body tr")
            .filter(has_text=order["order_number"])
            .first
        )
        done.locator(".el-table__expand-icon").click()
        lines = page.get_by_test_id("dispensing-lines")
        expect(lines.get_by_test_id("line-batch").filter(has_text=batch)).to_contain_text(f"有效期至 {near}")
        expect(lines.get_by_test_id("line-batch").filter(has_text=batch)).to_contain_text("× 2")

        # 药房详情: 8 left of the batch, valued at 12.50, expiring; the ledger's two rows.
        _open_module_page(page, "pms", "stock")
        shelf = page.get_by_test_id("pms-stock-table").locator(".el-table__body tr").filter(has_text=batch)
        expect(shelf).to_have_count(1)
        expect(shelf).to_contain_text(first["name"])
        expect(shelf.get_by_test_id("row-quantity")).to_have_text("8")
        expect(shelf.get_by_test_id("row-value")).to_have_text(_money(Decimal("12.50") * 8))
        expect(shelf.get_by_test_id("expiry-cell")).to_have_attribute("data-expiry", "expiring")
        assert_no_raw_words(RAW, page, "药房详情")
        page.get_by_test_id("stock-tabs").get_by_text("操作记录").click()
        ledger = page.get_by_test_id("pms-movements-table").locator(".el-table__body tr")
        taken = ledger.filter(has_text=order["number"]).filter(has_text=batch)
        expect(taken.get_by_test_id("row-movement")).to_have_text("发药")
        expect(taken.get_by_test_id("row-quantity")).to_have_text("−2")
        expect(taken).to_contain_text(pharmacist_name)
        arrived = ledger.filter(has_text=delivery["outbound_number"])
        expect(arrived.get_by_test_id("row-movement")).to_have_text("药房入库")
        expect(arrived.get_by_test_id("row-quantity")).to_have_text("+10")
        assert_no_raw_words(RAW, page, "操作记录")

        # 药房入库: the delivery, its CK number, its lines.
        _open_module_page(page, "pms", "deliveries")
        received = (
            page.get_by_test_id("deliveries-table").locator(".el-table__body tr").filter(has_text=delivery["number"])
        )
        expect(received).to_contain_text(delivery["outbound_number"])
        expect(received).to_contain_text(data["warehouse"]["name"])
        received.get_by_test_id("row-view").click()
        drawer = page.get_by_test_id("delivery-drawer")
        expect(drawer.get_by_test_id("delivery-lines")).to_contain_text(batch)
        expect(drawer.get_by_test_id("delivery-lines")).to_contain_text(data["supplier"]["name"])
        assert_no_raw_words(RAW, page, "药房入库")
        drawer.locator(".el-drawer__close-btn").click()

        # 批次追溯: the batch's recall list names the patient, and downloads as CSV.
        _open_module_page(page, "pms", "trace")
        page.get_by_test_id("trace-batch").fill(batch)
        page.get_by_test_id("trace-search").click()
        expect(page.get_by_test_id("trace-recall-title")).to_contain_text(f"批号 {batch}，共 1 人次")
        recall = page.get_by_test_id("trace-table").locator(".el-table__body tr")
        expect(recall).to_have_count(1)
        expect(recall.get_by_test_id("row-patient")).to_have_text(order["patient_name"])
        expect(recall).to_contain_text(order["visit_number"])
        with page.expect_download() as download:
            page.get_by_test_id("trace-export").click()
        assert download.value.suggested_filename == f"召回名单-{batch}.csv"
        csv = open(download.value.path(), encoding="utf-8-sig").read()
        assert csv.splitlines()[0].startswith("批号,药品编码,药品名称"), csv
        assert f"{batch},{first['code']},{first['name']}," in csv and order["patient_name"] in csv, csv
        assert_no_raw_words(RAW, page, "批次追溯")
        # And from the patient's side: the batches of the visit.
        page.get_by_test_id("trace-mode").get_by_text("按患者").click()
        page.get_by_test_id("trace-visit").fill(order["visit_number"])
        page.get_by_test_id("trace-search").click()
        expect(page.get_by_test_id("trace-table").locator(".el-table__body tr")).to_have_count(2)

        # 退药: the patient gives both drugs back. Meanwhile another pharmacist took the second back
        # through the API, so ticking it too is refused with the server's message (409) and the
        # dialog then shows it as returned; the first alone goes back into the batch it came from.
        _open_module_page(page, "pms", "dispensing")
        page.get_by_test_id("dispensing-state").get_by_text("已发药").click()
        done = (
            page.get_by_test_id("dispensing-table")
            .locator(".el-table__body tr")
            .filter(has_text=order["order_number"])
            .first
        )
        done.get_by_test_id("row-return").click()
        dialog = page.get_by_test_id("drug-return-dialog")
        back = dialog.get_by_test_id("drug-return-lines").locator(".el-table__body tr")
        expect(back).to_have_count(2)
        back.filter(has_text=second["name"]).locator(".el-checkbox").click()
        dialog.get_by_test_id("drug-return-reason").fill("医生停药")
        answer = pharmacist.post(
            f"/api/pms/dispensing-orders/{order['id']}/returns", json={"line_ids": [2], "reason": "患者过敏"}
        )
        assert answer.status_code == 201, answer.text
        dialog.get_by_test_id("drug-return-submit").click()
        expect(page.locator(".el-message--error")).to_contain_text(f"“{second['name']}”未发药或已退药")
        expect(back.filter(has_text=second["name"]).get_by_test_id("line-returned")).to_have_text("已退药")
        back.filter(has_text=first["name"]).locator(".el-checkbox").click()
        assert_no_raw_words(RAW, page, "退药")
        dialog.get_by_test_id("drug-return-submit").click()
        expect(page.locator(".el-message--success").filter(has_text="TY")).to_have_count(1)
        expect(dialog).to_be_hidden()

        # 退药记录: both returns of the order; the first drug's 2 went back into its batch.
        page.get_by_test_id("open-drug-returns").click()
        page.wait_for_url("**/pms/drug-returns")
        returns = (
            page.get_by_test_id("drug-returns-table").locator(".el-table__body tr").filter(has_text=order["number"])
        )
        expect(returns).to_have_count(2)
        mine = returns.filter(has_text="医生停药")
        expect(mine).to_contain_text(order["patient_name"])
        expect(mine).to_contain_text(pharmacist_name)
        mine.locator(".el-table__expand-icon").click()
        expect(page.get_by_test_id("return-batch").filter(has_text=batch)).to_contain_text("退回 2")
        assert_no_raw_words(RAW, page, "退药记录")
        shelf = pharmacist.get("/api/pms/stock", params={"batch_no": batch}).json()["items"]
        assert [row["quantity"] for row in shelf] == [10], shelf

        # 退库: an expired batch sent back 入库 is stopped as pms would stop it (its 422 on the
        # destination); sent for 销毁 it leaves the shelf and the warehouse lists it (药品回收).
        expired_batch = f"E{tag}"
        _deliver(keeper, data, first, 4, expired_batch, (today - timedelta(days=1)).isoformat())
        _open_module_page(page, "pms", "warehouse-returns")
        page.get_by_test_id("warehouse-return-create").click()
        form = page.get_by_test_id("warehouse-return-dialog")
        _choose(page, form, "field-warehouse", data["warehouse"]["name"])
        _choose(page, form, "batch-select", expired_batch)
        expect(form.get_by_test_id("expiry-cell")).to_have_attribute("data-expiry", "expired")
        form.get_by_test_id("line-quantity").locator("input").fill("4")
        form.get_by_test_id("line-reason").fill("效期已过")
        expect(form).to_contain_text("已过期的批号只能退回销毁")
        form.get_by_test_id("warehouse-return-submit").click()
        expect(page.locator(".el-message--error").filter(has_text="只能退回销毁")).to_have_count(1)
        form.get_by_test_id("destination-disposal").click()
        expect(form).not_to_contain_text("已过期的批号只能退回销毁")
        assert_no_raw_words(RAW, page, "退库")
        form.get_by_test_id("warehouse-return-submit").click()
        page.locator(".el-message-box").get_by_role("button", name="提交退库").click()
        expect(form).to_be_hidden()
        (sent,) = pharmacist.get("/api/pms/warehouse-returns").json()["items"][:1]
        assert [(x["batch_no"], x["quantity"]) for x in sent["lines"]] == [(expired_batch, 4)], sent
        row = (
            page.get_by_test_id("warehouse-returns-table").locator(".el-table__body tr").filter(has_text=sent["number"])
        )
        expect(row.get_by_test_id("row-destination")).to_have_text("销毁")
        expect(row).to_contain_text(data["warehouse"]["name"])
        assert_no_raw_words(RAW, page, "退库列表")

        # 药品回收 at the warehouse, once pms's outbox has delivered the return.
        store = login(base, store_name, store_password)
        try:
            deadline = time.monotonic() + 30
            while not store.get("/api/sms/returns", params={"q": sent["number"]}).json()["items"]:
                assert time.monotonic() < deadline, "the return never reached the warehouse"
                time.sleep(0.5)
        finally:
            store.close()
        keeper_page = browsers.page("store")
        _login(keeper_page, base, store_name, store_password)
        keeper_page.get_by_test_id("logout-button").wait_for()
        _open_module_page(keeper_page, "sms", "returns")
        got = keeper_page.get_by_test_id("returns-table").locator(".el-table__body tr").filter(has_text=sent["number"])
        expect(got.get_by_test_id("row-destination")).to_have_text("销毁")
        expect(got).to_contain_text(data["warehouse"]["name"])
        got.get_by_test_id("row-view").click()
        drawer = keeper_page.get_by_test_id("return-drawer")
        received = drawer.get_by_test_id("return-lines").locator(".el-table__body tr")
        expect(received).to_have_count(1)
        expect(received).to_contain_text(expired_batch)
        expect(received).to_contain_text("4 盒")
        expect(received).to_contain_text("效期已过")
        expect(drawer.get_by_test_id("drawer-destination")).to_have_text("销毁")
        assert_no_raw_words(RAW, keeper_page, "药品回收")
        # In English the destination is a word too.
        drawer.locator(".el-drawer__close-btn").click()
        keeper_page.get_by_text("EN", exact=True).first.click()
        expect(got.get_by_test_id("row-destination")).to_have_text("Disposal")

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
    finally:
        pharmacist.close()
        keeper.close()


def test_pharmacist_day(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('pharmacy')}")
        raise

"""The warehouse answers the pharmacy, in a real browser (docs/warehouse.md, docs/console.md):

a pharmacist files a shortage request (报缺) at pms through the API; pms's outbox carries it to
sms. The store-keeper finds it on 报缺单 with the warehouse's stock of the drug, presses 出库: the
outbound form opens filled from the request (the warehouse that holds the drug, the drug, the
quantity still waited for). Asking for more than the warehouse holds is refused by sms with a
message naming the drug, and nothing is written; the corrected order goes out under the same
form (the same Idempotency-Key), the request becomes 部分出库, and the order is on 出库单 with the
batch it took. No raw state code, field path or permission string is on screen.

The master data and the stock (an inbound order posted through the API) are made by the
superadmin and the store-keeper as in tests/e2e/test_console_warehouse.py.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.e2e.test_console_outpatient import _admin_api
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.e2e.test_console_warehouse import HOSPITAL_ZONE, MASTER_READS, _choose, _master_data
from tests.support.browser import assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import login, user_with

pytestmark = pytest.mark.browser

STORE_KEEPER = [
    "sms:inbound:read",
    "sms:inbound:write",
    "sms:stock:read",
    "sms:shortage:read",
    "sms:outbound:read",
    "sms:outbound:write",
    *MASTER_READS,
]
PHARMACIST = ["pms:shortage:read", "pms:shortage:write"]

RAW = re.compile(
    r"\b(open|partly_fulfilled|fulfilled|insufficient_stock|batch_expired)\b|lines\.\d"
    r"|\b(sms|dbs|pms|system):[a-z_*]+(:[a-z_]+)?\b"
)


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _stock(keeper: Any, data: dict[str, dict], batch: str, quantity: int) -> None:
    """An inbound order for the drug, posted: `quantity` units of `batch` in the warehouse."""
    today = datetime.now(HOSPITAL_ZONE).date()
    draft = keeper.post(
        "/api/sms/inbound-orders",
        json={
            "warehouse_id": data["warehouse"]["id"],
            "supplier_id": data["supplier"]["id"],
            "handler_id": data["handler"]["id"],
            "lines": [
                {
                    "drug_id": data["drug"]["id"],
                    "batch_no": batch,
                    "production_date": (today - timedelta(days=30)).isoformat(),
                    "expiry_date": (today + timedelta(days=400)).isoformat(),
                    "purchase_price": "12.50",
                    "quantity": quantity,
                }
            ],
        },
    )
    assert draft.status_code == 201, draft.text
    posted = keeper.post(f"/api/sms/inbound-orders/{draft.json()['id']}/post")
    assert posted.status_code == 200, posted.text


def _received(keeper: Any, number: str) -> dict:
    """The shortage request as sms received it from pms's outbox."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for request in keeper.get("/api/sms/shortage-requests", params={"size": 50}).json()["items"]:
            if request["number"] == number:
                return request
        time.sleep(0.5)
    raise AssertionError(f"shortage request {number} never reached the warehouse")


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        keeper_name, keeper_password = user_with(admin, STORE_KEEPER, real_name="库管员")
        pharmacist_name, pharmacist_password = user_with(admin, PHARMACIST, real_name="药师")
        keeper = login(base, keeper_name, keeper_password)
        pharmacist = login(base, pharmacist_name, pharmacist_password)
        batch = f"F{tag}"
        _stock(keeper, data, batch, 40)

        drug = data["drug"]
        filed = pharmacist.post(
            "/api/pms/shortage-requests",
            json={
                "remark": "门诊药房缺货",
                "lines": [
                    {
                        "drug_id": drug["id"],
                        "code": drug["code"],
                        "name": drug["name"],
                        "spec": drug["spec"],
                        "unit": "盒",
                        "quantity": 60,
                    }
                ],
            },
        )
        assert filed.status_code == 201, filed.text
        request = _received(keeper, filed.json()["number"])
        assert request["state"] == "open" and request["lines"][0]["in_stock"] == 40, request

        page = browsers.page("keeper")
        _login(page, base, keeper_name, keeper_password)
        page.get_by_test_id("logout-button").wait_for()

        # 报缺单: the request, waiting, with the warehouse's stock of the drug.
        _open_module_page(page, "sms", "shortages")
        row = (
            page.get_by_test_id("shortages-table")
            .locator(".el-table__body > tbody > tr")
            .filter(has_text=request["number"])
        )
        expect(row.get_by_test_id("state-tag")).to_have_text("待出库")
        expect(row.get_by_test_id("row-lines")).to_contain_text(f"{drug['name']} 0/60")
        row.locator(".el-table__expand-icon").click()
        lines = page.get_by_test_id("shortage-lines").filter(has_text=drug["name"])
        expect(lines.get_by_test_id("line-remaining")).to_have_text("60")
        expect(lines.get_by_test_id("line-in-stock")).to_have_text("40")
        expect(lines).to_contain_text(data["warehouse"]["name"])
        assert_no_raw_words(RAW, page, "报缺单")

        # 出库: the form, filled from the request.
        row.get_by_test_id("row-outbound").click()
        dialog = page.get_by_test_id("outbound-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_test_id("field-shortage")).to_contain_text(request["number"])
        expect(dialog.get_by_test_id("field-warehouse_id")).to_contain_text(data["warehouse"]["name"])
        line = dialog.get_by_test_id("outbound-lines").locator(".el-table__body tr").first
        expect(line.get_by_test_id("line-drug")).to_contain_text(drug["name"])
        expect(line.get_by_test_id("line-remaining")).to_have_text("60")
        expect(line.get_by_test_id("line-stock")).to_have_text("40")
        quantity = line.get_by_test_id("line-quantity").locator("input")
        expect(quantity).to_have_value("60")

        # 60 asked, 40 there: sms refuses, naming the drug; nothing is written.
        dialog.get_by_test_id("outbound-submit").click()
        page.locator(".el-message-box").get_by_role("button", name="确认出库").click()
        expect(page.locator(".el-message").filter(has_text=drug["name"]).first).to_be_visible()
        expect(dialog).to_be_visible()
        assert keeper.get("/api/sms/outbound-orders", params={"drug_id": drug["id"]}).json()["total"] == 0

        # A chosen batch needs the reason, refused in the form before anything is sent.
        line.get_by_test_id("line-batch").click()
        option = page.locator(".el-select-dropdown__item:visible").filter(has_text=batch)
        expect(option).to_contain_text("库存 40")
        option.click()
        dialog.get_by_test_id("outbound-submit").click()
        expect(line.get_by_test_id("line-error-reason")).to_contain_text("请填写原因")
        line.get_by_test_id("line-reason").fill("先发整箱")

        quantity.fill("30")
        dialog.get_by_test_id("outbound-submit").click()
        page.locator(".el-message-box").get_by_role("button", name="确认出库").click()
        expect(dialog).to_be_hidden()

        (order,) = keeper.get("/api/sms/outbound-orders", params={"drug_id": drug["id"]}).json()["items"]
        assert order["shortage_request_id"] == request["id"], order
        (sent,) = order["lines"]
        assert sent["quantity"] == 30 and sent["reason"] == "先发整箱", sent
        assert [(b["batch_no"], b["quantity"]) for b in sent["batches"]] == [(batch, 30)], sent
        expect(row.get_by_test_id("state-tag")).to_have_text("部分出库")
        expect(row.get_by_test_id("row-lines")).to_contain_text(f"{drug['name']} 30/60")
        assert_no_raw_words(RAW, page, "报缺单（出库后）")

        # 出库单: the order, naming the request, with the batch it took.
        _open_module_page(page, "sms", "outbound")
        listed = page.get_by_test_id("outbound-table").locator(".el-table__body tr").filter(has_text=order["number"])
        expect(listed).to_have_count(1)
        expect(listed.get_by_test_id("row-shortage")).to_have_text(request["number"])
        expect(listed.get_by_test_id("row-lines")).to_contain_text(f"{drug['name']} × 30")
        expect(listed).to_contain_text(data["warehouse"]["name"])
        listed.get_by_test_id("row-view").click()
        drawer = page.get_by_test_id("outbound-drawer")
        expect(drawer.get_by_test_id("drawer-number")).to_have_text(order["number"])
        expect(drawer.get_by_test_id("drawer-shortage")).to_have_text(request["number"])
        expect(drawer.get_by_test_id("batch-no")).to_have_text(batch)
        expect(drawer.get_by_test_id("batch-quantity")).to_have_text("30")
        expect(drawer).to_contain_text("先发整箱")
        assert_no_raw_words(RAW, page, "出库单")

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
        keeper.close()
        pharmacist.close()
    finally:
        admin.close()


def test_store_keeper_answers_a_shortage_request(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('warehouse-flow')}")
        raise


# --- purchases, stock-takes and disposals ---------------------------------------------------------

KEEPER_ALL = [
    *STORE_KEEPER,
    "sms:purchase:read",
    "sms:purchase:write",
    "sms:purchase:approve",
    "sms:stocktake:read",
    "sms:stocktake:write",
    "sms:stocktake:approve",
    "sms:disposal:read",
    "sms:disposal:write",
    "sms:threshold:read",
    "sms:threshold:write",
]
APPROVER = [
    "sms:purchase:read",
    "sms:purchase:approve",
    "sms:stocktake:read",
    "sms:stocktake:approve",
    "sms:stock:read",
    *MASTER_READS,
]
RAW_MORE = re.compile(
    r"\b(draft|approved|received|cancelled|counting|submitted|own_order|own_stocktake|stock_moved)\b|lines\.\d"
    r"|\b(sms|dbs|pms|system):[a-z_*]+(:[a-z_]+)?\b"
)


def _no_raw(page: Any, where: str) -> None:
    text = page.locator("main, .el-main, body").first.inner_text()
    found = RAW_MORE.search(text)
    assert found is None, f"{where}: raw code {found.group(0)!r} on screen"


def _inbound(keeper: Any, data: dict[str, dict], batch: str, quantity: int, produced: str, expires: str) -> None:
    draft = keeper.post(
        "/api/sms/inbound-orders",
        json={
            "warehouse_id": data["warehouse"]["id"],
            "supplier_id": data["supplier"]["id"],
            "handler_id": data["handler"]["id"],
            "lines": [
                {
                    "drug_id": data["drug"]["id"],
                    "batch_no": batch,
                    "production_date": produced,
                    "expiry_date": expires,
                    "purchase_price": "12.50",
                    "quantity": quantity,
                }
            ],
        },
    )
    assert draft.status_code == 201, draft.text
    assert keeper.post(f"/api/sms/inbound-orders/{draft.json()['id']}/post").status_code == 200


def _pick_drug(page: Any, scope: Any, drug: dict) -> None:
    from playwright.sync_api import expect

    select = scope.get_by_test_id("line-drug")
    select.click()
    select.locator("input").fill(drug["code"])
    option = page.locator(".el-select-dropdown__item:visible").filter(has_text=drug["name"])
    expect(option).to_have_count(1)
    option.click()


def _box(page: Any, button: str) -> None:
    page.locator(".el-message-box").get_by_role("button", name=button).click()


def run_more(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        drug = data["drug"]
        keeper_name, keeper_password = user_with(admin, KEEPER_ALL, real_name="库管员")
        approver_name, approver_password = user_with(admin, APPROVER, real_name="仓库主管")
        keeper = login(base, keeper_name, keeper_password)
        today = datetime.now(HOSPITAL_ZONE).date()
        good, old = f"G{tag}", f"E{tag}"
        _inbound(
            keeper, data, good, 40, (today - timedelta(days=30)).isoformat(), (today + timedelta(days=400)).isoformat()
        )
        _inbound(
            keeper, data, old, 5, (today - timedelta(days=400)).isoformat(), (today - timedelta(days=1)).isoformat()
        )
        # 40 unexpired units under a threshold of 100: the proposal asks for 60.
        assert keeper.put(f"/api/sms/thresholds/{drug['id']}", json={"threshold": 100}).status_code == 200

        page = browsers.page("keeper")
        _login(page, base, keeper_name, keeper_password)
        page.get_by_test_id("logout-button").wait_for()

        # 采购单: a draft proposed from stock, refused to its writer's approval, approved by another.
        _open_module_page(page, "sms", "purchases")
        page.get_by_test_id("create-button").click()
        dialog = page.get_by_test_id("purchase-dialog")
        _choose(page, dialog, "field-supplier_id", data["supplier"]["name"])
        _choose(page, dialog, "field-warehouse_id", data["warehouse"]["name"])
        dialog.get_by_test_id("propose").click()
        proposed = dialog.get_by_test_id("purchase-lines").locator(".el-table__body tr")
        line = proposed.filter(has=page.get_by_test_id("line-drug").filter(has_text=drug["name"]))
        expect(line).to_have_count(1)
        # Other drugs the pharmacy still waits for (an earlier test's request) are proposed to every
        # warehouse too: this order buys ours alone.
        while proposed.count() > 1:
            proposed.filter(
                has_not=page.get_by_test_id("line-drug").filter(has_text=drug["name"])
            ).first.get_by_test_id("line-remove").click()
        expect(line.get_by_test_id("line-drug")).to_contain_text(drug["name"])
        expect(line.get_by_test_id("line-quantity").locator("input")).to_have_value("60")
        expect(line.get_by_test_id("line-price")).to_have_value("12.50")
        expect(line.get_by_test_id("line-hint")).to_contain_text("库存不足")
        expect(dialog.get_by_test_id("purchase-total")).to_contain_text("750.00")
        dialog.get_by_test_id("save-draft").click()
        expect(dialog).to_be_hidden()
        (order,) = keeper.get("/api/sms/purchase-orders", params={"warehouse_id": data["warehouse"]["id"]}).json()[
            "items"
        ]
        row = page.get_by_test_id("purchases-table").locator(".el-table__body tr").filter(has_text=order["number"])
        expect(row.get_by_test_id("state-tag")).to_have_text("草稿")
        row.get_by_test_id("row-approve").click()
        _box(page, "审核")
        expect(page.locator(".el-message").filter(has_text="不能由您审核").first).to_be_visible()
        expect(row.get_by_test_id("state-tag")).to_have_text("草稿")
        _no_raw(page, "采购单")

        approver = browsers.page("approver")
        _login(approver, base, approver_name, approver_password)
        _open_module_page(approver, "sms", "purchases")
        theirs = (
            approver.get_by_test_id("purchases-table").locator(".el-table__body tr").filter(has_text=order["number"])
        )
        expect(theirs.get_by_test_id("row-edit")).to_have_count(0)
        theirs.get_by_test_id("row-approve").click()
        _box(approver, "审核")
        expect(theirs.get_by_test_id("state-tag")).to_have_text("已审核")
        # Receiving is the store-keeper's (it writes an inbound order): not offered to the approver.
        expect(theirs.get_by_test_id("row-receive")).to_have_count(0)

        # 到货: the batch that came, written as a draft inbound order, opened from the purchase order.
        page.get_by_test_id("search-button").click()
        expect(row.get_by_test_id("state-tag")).to_have_text("已审核")
        row.get_by_test_id("row-receive").click()
        receipt = page.get_by_test_id("receive-dialog")
        _choose(page, receipt, "field-handler_id", data["handler"]["name"])
        arrived = receipt.get_by_test_id("receive-lines").locator(".el-table__body tr").first
        arrived.get_by_test_id("line-batch_no").fill(f"P{tag}")
        for testid, day in (
            ("line-production_date", today - timedelta(days=10)),
            ("line-expiry_date", today + timedelta(days=700)),
        ):
            field = arrived.get_by_test_id(testid).locator("input")
            field.fill(day.isoformat())
            field.press("Enter")
        expect(arrived.get_by_test_id("line-quantity").locator("input")).to_have_value("60")
        receipt.get_by_test_id("receive-submit").click()
        expect(receipt).to_be_hidden()
        expect(row.get_by_test_id("state-tag")).to_have_text("已到货")
        received = keeper.get(f"/api/sms/purchase-orders/{order['id']}").json()
        inbound = keeper.get(f"/api/sms/inbound-orders/{received['inbound_order_id']}").json()
        assert inbound["state"] == "draft" and inbound["lines"][0]["quantity"] == 60, inbound
        row.get_by_test_id("row-inbound").click()
        expect(page.get_by_test_id("inbound-drawer").get_by_test_id("drawer-number")).to_have_text(inbound["number"])
        page.get_by_test_id("inbound-drawer").locator(".el-drawer__close-btn").click()
        _no_raw(page, "采购单（到货）")

        # 盘点: a sheet of both batches, counted and submitted.
        _open_module_page(page, "sms", "stocktakes")
        page.get_by_test_id("create-button").click()
        create = page.get_by_test_id("stocktake-create-dialog")
        _choose(page, create, "field-warehouse_id", data["warehouse"]["name"])
        create.get_by_test_id("stocktake-create-submit").click()
        sheet_drawer = page.get_by_test_id("stocktake-drawer")
        expect(sheet_drawer.get_by_test_id("drawer-progress")).to_have_text("已盘 0 / 2")
        lines = sheet_drawer.get_by_test_id("stocktake-lines").locator(".el-table__body tr")
        for batch, counted, book in ((good, "38", "40"), (old, "5", "5")):
            line = lines.filter(has_text=batch)
            expect(line.get_by_test_id("line-book")).to_have_text(book)
            field = line.get_by_test_id("line-counted").locator("input")
            field.fill(counted)
            field.press("Enter")
        expect(sheet_drawer.get_by_test_id("drawer-progress")).to_have_text("已盘 2 / 2")
        expect(lines.filter(has_text=good).get_by_test_id("line-difference")).to_have_text("−2")
        expect(lines.filter(has_text=old).get_by_test_id("expiry-cell")).to_have_attribute("data-expiry", "expired")
        expect(sheet_drawer.get_by_test_id("drawer-differences")).to_have_text("1 个批号有差异")
        sheet_drawer.get_by_test_id("drawer-submit").click()
        _box(page, "提交审核")
        expect(sheet_drawer.get_by_test_id("state-tag")).to_have_text("待审核")
        _no_raw(page, "盘点")
        sheet_drawer.locator(".el-drawer__close-btn").click()
        (sheet,) = keeper.get("/api/sms/stocktakes", params={"warehouse_id": data["warehouse"]["id"]}).json()["items"]

        # 报损销毁: the expired batch, marked as such, more than it holds refused, then 2 of it.
        _open_module_page(page, "sms", "disposals")
        page.get_by_test_id("create-button").click()
        form = page.get_by_test_id("disposal-dialog")
        _choose(page, form, "field-warehouse_id", data["warehouse"]["name"])
        _pick_drug(page, form, drug)
        form.get_by_test_id("field-batch_id").click()
        expired_option = page.locator(".el-select-dropdown__item:visible").filter(has_text=old)
        expect(expired_option.get_by_test_id("batch-option")).to_have_attribute("data-expired", "true")
        expect(expired_option).to_contain_text("已过期")
        expect(
            page.locator(".el-select-dropdown__item:visible").filter(has_text=good).get_by_test_id("batch-option")
        ).to_have_attribute("data-expired", "false")
        expired_option.click()
        form.get_by_test_id("field-quantity").locator("input").fill("6")
        form.get_by_test_id("field-reason").fill("过期")
        form.get_by_test_id("disposal-submit").click()
        expect(form.get_by_test_id("form-item-quantity")).to_contain_text("超过该批号库存（5）")
        form.get_by_test_id("field-quantity").locator("input").fill("2")
        expect(form.get_by_test_id("disposal-loss")).to_contain_text("25.00")
        form.get_by_test_id("disposal-submit").click()
        _box(page, "报损")
        expect(form).to_be_hidden()
        disposed = page.get_by_test_id("disposals-table").locator(".el-table__body tr").filter(has_text=old)
        expect(disposed.get_by_test_id("row-quantity")).to_have_text("2")
        expect(disposed.get_by_test_id("row-expired")).to_have_text("过期批号")
        _no_raw(page, "报损销毁")

        # The sheet's book quantity of the expired batch is stale now: the approval refuses, naming it.
        _open_module_page(approver, "sms", "stocktakes")
        mine = (
            approver.get_by_test_id("stocktakes-table").locator(".el-table__body tr").filter(has_text=sheet["number"])
        )
        mine.get_by_test_id("row-view").click()
        their_drawer = approver.get_by_test_id("stocktake-drawer")
        their_drawer.get_by_test_id("drawer-approve").click()
        _box(approver, "审核")
        expect(their_drawer.get_by_test_id("stock-moved")).to_be_visible()
        stale = their_drawer.get_by_test_id("stocktake-lines").locator(".el-table__body tr").filter(has_text=old)
        expect(stale.get_by_test_id("line-batch_no")).to_have_attribute("data-moved", "true")
        fine = their_drawer.get_by_test_id("stocktake-lines").locator(".el-table__body tr").filter(has_text=good)
        expect(fine.get_by_test_id("line-batch_no")).to_have_attribute("data-moved", "false")
        assert keeper.get(f"/api/sms/stocktakes/{sheet['id']}").json()["state"] == "submitted"
        _no_raw(approver, "盘点（审核）")

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
        keeper.close()
    finally:
        admin.close()


def test_store_keeper_buys_counts_and_disposes(platform: Any, browsers: Browsers) -> None:
    try:
        run_more(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('warehouse-more')}")
        raise

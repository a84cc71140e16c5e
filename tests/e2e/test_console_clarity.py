"""Console screens that misled the clerk (issue 9, "At the desk"), in a real browser against a
real platform (docs/console.md):

- 发药 lists a line refunded at the desk struck through with 已退费, counts only what is handed
  out, and its confirmation names only those lines.
- 退费 preselects nothing (two lines of the same price: the one ticked is the one refunded); the
  button waits for a line; the confirmation names each line, its quantity and amount, and the total.
- Inputs keep what was typed (quantity 0, −3, 2.5; a price of −5; a quota of 0): the field's
  message shows under it and nothing is sent, where el-input-number used to clamp silently.
- A server message about `lines.0.quantity` reads 第 1 行 · 数量.
- Walking the Chinese console after a desk day and a wrong password, no code shows: no
  `bad_password`, `dispensing_order`, `lines.0.quantity`, `#7`, `dbs:doctor:read`.

The master data and the desk's earlier steps are made through the API as the superadmin; what
is judged is what the screens show. Drives Debian's Chromium with Playwright (never
`playwright install`).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest

from tests.e2e.test_console_outpatient import _add_line, _admin_api, _confirm, _create, _money, _pick_visit
from tests.e2e.test_console_system import Browsers, _login, _open_module_page, launch
from tests.pms.conftest import stock_up
from tests.support.browser import assert_no_codes, browser_available  # noqa: F401

pytestmark = pytest.mark.browser

HOSPITAL_ZONE = ZoneInfo("Asia/Shanghai")
# Doctor's hours under which a morning shift takes registrations whenever the test runs.
ALL_DAY = {"am_start": "00:00", "am_end": "23:58", "pm_start": "23:58", "pm_end": "23:59"}
SAME_PRICE = "9.90"

# The operation log's raw actions and entities, as the services store them.
RAW_LOG_WORDS = re.compile(
    r"\b(create|update|delete|paid|refunded|dispense|cancel|examine|state|registered|release|drug|visit|"
    r"order|payment|schedule|booking|user|role|patient|department|doctor)\b"
)


def _wait(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.3)


@dataclass
class World:
    """A desk day made through the API: a visit with three paid prescriptions."""

    base: str
    api: Any
    admin: tuple[str, str]
    today: str
    doctor: dict
    drug_a: dict
    drug_b: dict  # same price as drug_a
    visit: dict
    partly_refunded: dict  # drug_a × 2 + drug_b × 3, drug_b refunded before dispensing
    twin_lines: dict  # drug_a × 1 + drug_b × 1, paid: refunded in the browser
    scheduler: tuple[str, str]  # holds dms only: the roster explains what it cannot read

    def get(self, path: str, **params: Any) -> Any:
        answer = self.api.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def post(self, path: str, body: dict, status: int = 201, **headers: str) -> Any:
        answer = self.api.post(path, json=body, headers=headers)
        assert answer.status_code == status, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def pending_at_pharmacy(self, order_number: str) -> dict | None:
        orders = self.get("/api/pms/dispensing-orders", state="pending", size=100)["items"]
        return next((o for o in orders if o["order_number"] == order_number), None)


def _paid_prescription(w: World, lines: list[tuple[dict, int]]) -> dict:
    body = {"lines": [{"drug_id": d["id"], "quantity": q} for d, q in lines]}
    order = w.post(f"/api/oms/visits/{w.visit['id']}/prescriptions", body)
    w.post(
        "/api/oms/payments",
        {"visit_id": w.visit["id"], "order_id": order["id"], "method": "cash"},
        **{"Idempotency-Key": uuid.uuid4().hex},
    )
    return order


def _payment_of(w: World, order: dict) -> dict:
    (payment,) = [
        p
        for p in w.get("/api/oms/payments", visit_id=w.visit["id"])["items"]
        if p["order_id"] == order["id"] and p["kind"] != "refund"
    ]
    return payment


def _scheduler(api: Any, base: str, tag: str) -> tuple[str, str]:
    """A user who may only read the roster, past the first-login password change."""
    role = _create(api, "/api/system/roles", {"name": f"排班员{tag}", "permissions": ["dms:schedule:read"]})
    username = f"paiban{tag.lower()}"
    created = _create(api, "/api/system/users", {"username": username, "real_name": "排班员", "role_ids": [role["id"]]})
    with httpx2.Client(base_url=base, timeout=15) as client:
        login = client.post("/api/auth/login", json={"username": username, "password": created["initial_password"]})
        assert login.status_code == 200, login.text
        changed = client.post(
            "/api/auth/password",
            json={"current_password": created["initial_password"], "new_password": "Paiban2026desk"},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert changed.status_code == 200, changed.text
    return username, "Paiban2026desk"


def _make_world(base: str, username: str, password: str) -> World:
    tag = uuid.uuid4().hex[:5].upper()
    api = _admin_api(base, username, password)
    today = datetime.now(HOSPITAL_ZONE).date()
    department = _create(api, "/api/dbs/departments", {"code": f"Q{tag}", "name": f"内科{tag}", "kind": "outpatient"})
    reg_type = _create(api, "/api/dbs/registration-types", {"name": f"专家号{tag}", "fee": "20.00"})
    doctor = _create(
        api,
        "/api/dbs/doctors",
        {
            "code": f"Q{tag}",
            "name": f"孙医生{tag}",
            "sex": "male",
            "title": "attending",
            "department_id": department["id"],
            "registration_type_id": reg_type["id"],
        },
    )
    if "am_start" in doctor:  # the doctor's hours decide which shift takes registrations now
        fields = ("code", "name", "sex", "title", "department_id", "registration_type_id", "phone", "introduction")
        answer = api.put(f"/api/dbs/doctors/{doctor['id']}", json={**{k: doctor[k] for k in fields}, **ALL_DAY})
        assert answer.status_code == 200, answer.text
    kind = _create(api, "/api/dbs/drug-types", {"name": f"中成药{tag}"})
    origin = _create(api, "/api/dbs/drug-origins", {"name": f"同仁堂{tag}"})
    box = _create(api, "/api/dbs/units", {"name": f"瓶{tag}"})

    def drug(code: str, name: str) -> dict:
        body = {"code": code, "name": name, "spec": "100ml", "type_id": kind["id"], "origin_id": origin["id"],
                "unit_id": box["id"], "price": SAME_PRICE, "low_stock_threshold": 10}  # fmt: skip
        return _create(api, "/api/dbs/drugs", body)

    drug_a, drug_b = drug(f"QA{tag}", f"感冒灵颗粒{tag}"), drug(f"QB{tag}", f"止咳糖浆{tag}")
    # On the pharmacy's shelf, as the warehouse delivers them: what is shown here is the dispensing.
    for d in (drug_a, drug_b):
        stock_up(api, d["id"], 20, code=d["code"], name=d["name"])
    schedule = _create(
        api,
        "/api/dms/schedules",
        {"doctor_id": doctor["id"], "date": today.isoformat(), "shift": "morning",
         "registration_type_id": reg_type["id"], "quota": 10},
    )  # fmt: skip
    patient = _create(api, "/api/oms/patients", {"name": f"周八{tag[:2]}", "sex": "male", "birth_date": "1980-05-01"})
    registered = api.post(
        "/api/oms/visits",
        json={"patient_id": patient["id"], "schedule_id": schedule["id"], "payment_method": "cash"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert registered.status_code == 201, registered.text
    visit = registered.json()
    received = api.post(f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    assert received.status_code == 200, received.text
    scheduler = _scheduler(api, base, tag)

    w = World(base, api, (username, password), today.isoformat(), doctor, drug_a, drug_b, visit, {}, {}, scheduler)
    w.partly_refunded = _paid_prescription(w, [(drug_a, 2), (drug_b, 3)])
    _wait(lambda: w.pending_at_pharmacy(w.partly_refunded["number"]), "the prescription at the pharmacy")
    line_b = next(li for li in w.partly_refunded["lines"] if li["item_id"] == drug_b["id"])
    payment = _payment_of(w, w.partly_refunded)
    w.post("/api/oms/refunds", {"payment_id": payment["id"], "line_ids": [line_b["id"]], "reason": "患者不要糖浆"})

    def refunded_at_pharmacy() -> bool:
        found = w.pending_at_pharmacy(w.partly_refunded["number"])
        return bool(found) and [li["cancelled"] for li in found["lines"] if li["line_id"] == line_b["id"]] == [True]

    _wait(refunded_at_pharmacy, "the refunded line marked at the pharmacy")
    w.twin_lines = _paid_prescription(w, [(drug_a, 1), (drug_b, 1)])
    # A wrong password, for the login log.
    wrong = httpx2.post(f"{base}/api/auth/login", json={"username": username, "password": "not-the-password-1"})
    assert wrong.status_code == 401, wrong.text
    return w


@pytest.fixture(scope="module")
def world(platform: Any) -> Iterator[World]:
    w = _make_world(platform.gateway_url, platform.admin_username, platform.admin_password)
    try:
        yield w
    finally:
        w.api.close()


@pytest.fixture(scope="module")
def session(world: World) -> Iterator[tuple[Browsers, Any]]:
    """One logged-in Chinese console for the module's tests."""
    with launch() as browsers:
        page = browsers.page("clerk")
        _login(page, world.base, *world.admin)
        page.get_by_test_id("logout-button").wait_for()
        yield browsers, page


@pytest.fixture
def page(session: tuple[Browsers, Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    browsers, page = session
    yield page
    if request.config.getoption("verbose") > 1:
        print(f"screenshots: {browsers.screenshots(request.node.name)}")
    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def _goto(page: Any, world: World, path: str) -> None:
    page.goto(world.base + path)
    page.wait_for_url(f"**{path}")


# --- 发药 ---------------------------------------------------------------------------------


def test_dispensing_strikes_refunded_lines_and_hands_out_only_the_rest(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    order = world.partly_refunded
    _open_module_page(page, "pms", "dispensing")
    row = page.get_by_test_id("dispensing-table").locator(".el-table__body tr").filter(has_text=order["number"])
    expect(row).to_have_count(1)
    # Two lines on the order, one to hand out.
    expect(row.get_by_test_id("lines-to-dispense")).to_have_text("1 / 2 项")

    row.locator(".el-table__expand-icon").click()
    lines = page.get_by_test_id("dispensing-lines").locator(".el-table__body tr")
    expect(lines).to_have_count(2)
    refunded = lines.filter(has_text=world.drug_b["name"])
    expect(refunded).to_have_class(re.compile(r"dispensing__line--refunded"))
    expect(refunded.get_by_test_id("line-refunded")).to_have_text("已退费")
    assert "line-through" in refunded.locator("td").first.evaluate("td => getComputedStyle(td).textDecorationLine")
    kept = lines.filter(has_text=world.drug_a["name"])
    expect(kept).not_to_have_class(re.compile(r"dispensing__line--refunded"))
    expect(kept.get_by_test_id("line-refunded")).to_have_count(0)

    row.get_by_test_id("row-dispense").click()
    box = page.locator(".el-message-box")
    expect(box.get_by_test_id("dispense-confirm-line")).to_have_count(1)
    expect(box.get_by_test_id("dispense-confirm-line")).to_contain_text(world.drug_a["name"])
    expect(box.get_by_test_id("dispense-confirm-line")).to_contain_text("× 2")
    expect(box).not_to_contain_text(world.drug_b["name"])
    expect(box).to_contain_text("另有 1 项已退费，不发放")
    _confirm(page, "发药")
    expect(row).to_have_count(0)

    # The refunded line stays refunded: the order is dispensed, that line is not.
    def settled() -> dict | None:
        found = world.get(f"/api/oms/orders/{order['id']}")
        return found if found["state"] == "dispensed" else None

    lines_after = {li["item_id"]: li["state"] for li in _wait(settled, "the order dispensed at oms")["lines"]}
    assert lines_after == {world.drug_a["id"]: "dispensed", world.drug_b["id"]: "refunded"}, lines_after


# --- 退费 ---------------------------------------------------------------------------------


def test_refund_preselects_nothing_and_names_each_line(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    order = world.twin_lines
    payment = _payment_of(world, order)
    _open_module_page(page, "oms", "refunds")
    _pick_visit(page, world.visit["number"])
    page.get_by_test_id("refund-payments").locator(".el-table__body tr").filter(has_text=payment["number"]).locator(
        ".el-radio"
    ).click()
    lines = page.get_by_test_id("refund-lines").locator(".el-table__body tr")
    expect(lines).to_have_count(2)
    for i in range(2):
        expect(lines.nth(i).locator(".el-checkbox")).not_to_have_class(re.compile(r"is-checked"))
    page.get_by_test_id("refund-reason").fill("开错了糖浆")
    submit = page.get_by_test_id("refund-submit")
    # A reason alone refunds nothing: a line must be ticked.
    expect(submit).to_be_disabled()
    expect(page.get_by_test_id("refund-pick-hint")).to_have_text("请勾选要退费的明细")

    # Two lines of the same price: the one ticked is the one refunded.
    lines.filter(has_text=world.drug_b["name"]).locator(".el-checkbox").click()
    expect(submit).to_be_enabled()
    submit.click()
    box = page.locator(".el-message-box")
    named = box.get_by_test_id("refund-confirm-line")
    expect(named).to_have_count(1)
    expect(named).to_contain_text(world.drug_b["name"])
    expect(named).to_contain_text("× 1")
    expect(named).to_contain_text(_money(SAME_PRICE))
    expect(box.get_by_test_id("refund-confirm-total")).to_have_text(f"合计退费 {_money(SAME_PRICE)}")
    expect(box).not_to_contain_text(world.drug_a["name"])
    _confirm(page, "退费")
    expect(
        page.get_by_test_id("payments-table").last.locator(".el-table__body tr").filter(has_text="开错了糖浆")
    ).to_have_count(1)

    states = {li["item_id"]: li["state"] for li in world.get(f"/api/oms/orders/{order['id']}")["lines"]}
    assert states == {world.drug_a["id"]: "paid", world.drug_b["id"]: "refunded"}, states


# --- inputs that clamped -------------------------------------------------------------------


def test_a_quantity_typed_wrong_is_refused_not_changed(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "oms", "pricing")
    _pick_visit(page, world.visit["number"])
    page.get_by_test_id("pricing-tabs").get_by_role("tab", name="处方（药品）").click()
    _add_line(page, "drug", world.drug_a["name"], 1)
    row = page.get_by_test_id("line-editor-drug").get_by_test_id("new-lines").locator(".el-table__body tr").first
    field = row.get_by_test_id("line-quantity").locator("input")
    before = len(world.get("/api/oms/orders", visit_id=world.visit["id"], kind="drug")["items"])
    for typed in ("0", "-3", "2.5"):
        field.fill(typed)
        field.press("Tab")
        expect(field).to_have_value(typed)
        expect(row.get_by_test_id("line-quantity-error")).to_have_text("数量须为 1–9999 的整数")
        page.get_by_test_id("pricing-submit").click()
        expect(page.locator(".el-message").filter(has_text="请先改正标红的内容").first).to_be_visible()
    assert len(world.get("/api/oms/orders", visit_id=world.visit["id"], kind="drug")["items"]) == before

    field.fill("3")
    field.press("Tab")
    expect(row.get_by_test_id("line-quantity-error")).to_have_count(0)
    page.get_by_test_id("pricing-submit").click()
    expect(page.get_by_test_id("pricing-result")).to_contain_text("CF")
    orders = world.get("/api/oms/orders", visit_id=world.visit["id"], kind="drug")["items"]
    assert len(orders) == before + 1
    newest = max(orders, key=lambda o: o["id"])
    assert [li["quantity"] for li in newest["lines"]] == [3], newest


def test_a_negative_price_and_a_fractional_threshold_are_refused(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    _goto(page, world, "/dbs/drugs")
    page.get_by_test_id("create-button").click()
    dialog = page.get_by_test_id("resource-dialog")
    expect(dialog).to_be_visible()
    price = dialog.get_by_test_id("field-price")
    price.fill("-5")
    price.press("Tab")
    expect(price).to_have_value("-5")
    expect(dialog.get_by_test_id("form-item-price").locator(".el-form-item__error")).to_have_text(
        "零售价（元）须为不小于 0 的金额，最多两位小数"
    )
    threshold = dialog.get_by_test_id("field-low_stock_threshold").locator("input")
    threshold.fill("2.5")
    threshold.press("Tab")
    expect(threshold).to_have_value("2.5")
    expect(dialog.get_by_test_id("form-item-low_stock_threshold").locator(".el-form-item__error")).to_contain_text(
        "的整数"
    )
    dialog.get_by_test_id("save-button").click()
    expect(dialog).to_be_visible()
    expect(price).to_have_value("-5")
    expect(dialog.get_by_test_id("form-item-price").locator(".el-form-item__error")).to_be_visible()
    dialog.get_by_role("button", name="取消").click()


def test_a_quota_of_zero_is_refused(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    _open_module_page(page, "dms", "roster")
    page.get_by_test_id("next-week").click()
    grid = page.get_by_test_id("roster-grid")
    cell = grid.locator(f"[data-testid^='cell-{world.doctor['id']}-'][data-testid$='-afternoon']").first
    cell.click()
    dialog = page.get_by_test_id("schedule-dialog")
    expect(dialog).to_be_visible()
    quota = dialog.get_by_test_id("field-quota").locator("input")
    for typed in ("0", "2.5", "501"):
        quota.fill(typed)
        quota.press("Tab")
        expect(quota).to_have_value(typed)
        expect(dialog.get_by_test_id("form-item-quota").locator(".el-form-item__error")).to_have_text(
            "号源须为 1–500 的整数"
        )
        expect(dialog.get_by_test_id("save-button")).to_be_disabled()
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()


# --- server messages name fields in words ---------------------------------------------------


def test_a_server_field_path_reads_as_row_and_field(world: World, page: Any) -> None:
    """The server's own answer to a quantity of 0 (sent as if the console had let it through)."""
    from playwright.sync_api import expect

    def zero_quantity(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        for line in body.get("lines", []):
            line["quantity"] = 0
        route.continue_(post_data=json.dumps(body))

    _open_module_page(page, "oms", "pricing")
    _pick_visit(page, world.visit["number"])
    page.get_by_test_id("pricing-tabs").get_by_role("tab", name="处方（药品）").click()
    _add_line(page, "drug", world.drug_a["name"], 1)
    page.route(re.compile(r"/api/oms/visits/\d+/prescriptions$"), zero_quantity)
    try:
        page.get_by_test_id("pricing-submit").click()
        message = page.locator(".el-message--error").last
        expect(message).to_contain_text("第 1 行 · 数量：不能小于 1")
        expect(message).not_to_contain_text("lines.0.quantity")
    finally:
        page.unroute(re.compile(r"/api/oms/visits/\d+/prescriptions$"))


# --- no codes anywhere ---------------------------------------------------------------------


def test_the_chinese_console_shows_no_codes(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    # 操作日志 after the desk day: actions, entities and subjects in words.
    _goto(page, world, "/system/operation-log")
    table = page.get_by_test_id("operation-log-table")
    expect(table.locator(".el-table__body tr").first).to_be_visible()
    assert_no_codes(page, "操作日志")
    raw = sorted(set(RAW_LOG_WORDS.findall(table.inner_text())))
    assert not raw, f"操作日志 shows raw actions or entities: {raw}"
    expect(table).to_contain_text("收费")
    expect(table).to_contain_text("退费")
    payment = _payment_of(world, world.partly_refunded)
    expect(table.get_by_test_id("row-subject").filter(has_text=payment["number"]).first).to_be_visible()
    # A schedule by its doctor, date and shift in words (dms rows: filter by the module).
    shift_label = f"{world.doctor['name']} {world.today} 上午"
    page.get_by_test_id("module-filter").click()
    page.locator(".el-select-dropdown__item:visible").filter(has_text="排班").first.click()
    expect(table.get_by_test_id("row-subject").filter(has_text=shift_label).first).to_be_visible()

    # 登录日志: the wrong password in words.
    _goto(page, world, "/system/login-log")
    log = page.get_by_test_id("login-log-table")
    expect(log.locator(".el-table__body tr").filter(has_text="密码错误").first).to_be_visible()
    assert_no_codes(page, "登录日志")

    _goto(page, world, "/system/roles")
    expect(page.get_by_test_id("roles-table").locator(".el-table__body tr").first).to_be_visible()
    assert_no_codes(page, "角色管理")

    # The desk pages with data on them.
    _open_module_page(page, "pms", "dispensing")
    page.get_by_test_id("dispensing-state").get_by_text("已发药").click()
    expect(page.get_by_test_id("dispensing-table")).to_contain_text(world.partly_refunded["number"])
    assert_no_codes(page, "发药")
    _open_module_page(page, "oms", "visits")
    expect(page.get_by_test_id("visits-table")).to_contain_text(world.visit["number"])
    assert_no_codes(page, "就诊记录")
    _open_module_page(page, "oms", "refunds")
    _pick_visit(page, world.visit["number"])
    assert_no_codes(page, "退费")
    _open_module_page(page, "dms", "roster")
    expect(page.get_by_test_id("roster-grid")).to_contain_text(world.doctor["name"])
    assert_no_codes(page, "排班表")
    _goto(page, world, "/system/users")
    expect(page.get_by_test_id("users-table").locator(".el-table__body tr").first).to_be_visible()
    assert_no_codes(page, "用户管理")


def test_a_missing_permission_is_named_in_words(world: World, session: tuple[Browsers, Any]) -> None:
    from playwright.sync_api import expect

    browsers, _ = session
    page = browsers.page("scheduler")
    _login(page, world.base, *world.scheduler)
    _open_module_page(page, "dms", "roster")
    expect(page.get_by_test_id("roster-grid")).to_contain_text(world.doctor["name"])  # from this week's schedules
    expect(page.locator("#app")).to_contain_text("数据中心 · 医生 · 查看")
    assert_no_codes(page, "排班表（无医生档案权限）")


def test_the_operation_log_speaks_english_when_chosen(world: World, page: Any) -> None:
    from playwright.sync_api import expect

    _goto(page, world, "/system/operation-log")
    page.get_by_test_id("language-en").click()
    try:
        table = page.get_by_test_id("operation-log-table")
        expect(table).to_contain_text("Take payment")
        expect(table).to_contain_text("Payment")
        expect(table).not_to_contain_text("收费")
    finally:
        page.get_by_test_id("language-zh").click()

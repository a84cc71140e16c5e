"""System management in a real browser: roles, users, a forced password change, menus and
routes that follow permissions, the gateway refusing a module the user lacks, and a forced
logout from 在线会话 (docs/system-api.md, docs/console.md).

The superadmin creates a role 门诊管理员 holding only the oms permissions (the oms module
ticked in the permission tree) and a user with it, and reads the one-time password. The new
user logs in, must change the password (a weak one first: the server's message shows under
the field), then sees only 门诊 (no 系统管理, 数据中心, 排班 or 药房); /system/users typed by
hand shows the 403 page; called by hand with the console's own token, the pharmacy API
(pms is running) and the master-data API answer 403 while the outpatient API answers 200.
The superadmin (in a second browser context) force-logs-out that user from 在线会话; the
user's next call answers 401 and the console returns to its login page.

日志查询 (docs/logging.md): an audit administrator (built-in 审计管理员) finds, under the
X-Request-ID a refused login carried, the gateway's line, with level and service in words and
the whole line as JSON in 详情; a system administrator (built-in 系统管理员, no
`system:applog:read`) has no such menu entry and the API answers 403.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright's sync API (never
`playwright install`); the `platform` fixture (tests/conftest.py) runs registry, gateway
(serving gateway/console/dist), dbs, dms, oms and pms on embedded SQLite.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, browser_available  # noqa: F401

pytestmark = pytest.mark.browser

# "That session ends within seconds" (docs/system-api.md): how long a revoked token may live on.
REVOCATION_WAIT_S = 20


ROLE_NAME = "门诊管理员"
NEW_PASSWORD = "Oms2026console"
WEAK_PASSWORD = "onlyletters"  # no digit: the policy refuses it

# How the console keeps its session (src/stores/auth.ts) and a call made by hand with it.
FETCH_WITH_CONSOLE_TOKEN = """async (url) => {
    const session = JSON.parse(localStorage.getItem('hamp.session') || 'null')
    const token = session && session.accessToken
    const answer = await fetch(url, {headers: token ? {Authorization: 'Bearer ' + token} : {}})
    return {status: answer.status, body: await answer.text(), hadToken: Boolean(token)}
}"""
FETCH_WITH_TOKEN = """async ([url, token]) => {
    const answer = await fetch(url, {headers: {Authorization: 'Bearer ' + token}})
    return {status: answer.status, body: await answer.text()}
}"""


@dataclass
class Browsers:
    """One Chromium; each person gets a context of their own (their own localStorage)."""

    chromium: Any
    pages: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def page(self, who: str) -> Any:
        if who not in self.pages:
            context = self.chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("pageerror", lambda exc: self.errors.append(f"{who}: {exc}"))
            self.pages[who] = page
        return self.pages[who]

    def screenshots(self, name: str) -> list[str]:
        paths = []
        for who, page in self.pages.items():
            path = f"/tmp/hamp-console-{name}-{who}-{int(time.time())}.png"
            try:
                page.screenshot(path=path, full_page=True)
                paths.append(path)
            except Exception as exc:  # the browser may already be gone
                paths.append(f"(no screenshot of {who}: {exc})")
        return paths


@contextmanager
def launch() -> Iterator[Browsers]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield Browsers(chromium)
        finally:
            chromium.close()


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


# --- steps ------------------------------------------------------------------------------


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def _logout(page: Any) -> None:
    page.get_by_test_id("logout-button").click()
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    page.wait_for_url("**/login**")


def _open_menu_item(page: Any, group: str, item_id: str) -> None:
    """Clicks an item of a menu group, unfolding the group first if it is folded. With every
    module running the menu is longer than the window: the click waits until the group has
    finished unfolding (its height transition), or it may land beside the moving item."""
    from playwright.sync_api import expect

    item = page.get_by_test_id(item_id)
    submenu = page.get_by_test_id(group)
    if not item.is_visible():
        submenu.locator(".el-sub-menu__title").click()
    expect(submenu).to_have_class(re.compile(r"\bis-opened\b"))
    expect(submenu.locator("ul.el-menu").first).not_to_have_attribute("style", re.compile(r"max-height|overflow"))
    item.scroll_into_view_if_needed()
    item.click()


def _open_system_page(page: Any, name: str, table: str) -> None:
    _open_menu_item(page, "menu-system", f"menu-system-{name}")
    page.wait_for_url(f"**/system/{name}")
    page.get_by_test_id(table).wait_for()


def _choose(page: Any, text: str) -> None:
    """Clicks an option of the select dropdown that is open now."""
    page.locator(".el-select-dropdown__item:visible").get_by_text(text, exact=True).click()


def _open_module_page(page: Any, module: str, path: str) -> None:
    """Opens a page of 排班 / 门诊 / 药房 from the menu."""
    _open_menu_item(page, f"menu-{module}", f"menu-{module}-{path}")
    page.wait_for_url(f"**/{module}/{path}")


def _tree_box(page: Any, tree: Any, testid: str) -> Any:
    """The checkbox of one node of the permission tree."""
    return tree.locator(".el-tree-node__content").filter(has=page.get_by_test_id(testid)).locator(".el-checkbox").first


def _create_oms_role(page: Any) -> None:
    from playwright.sync_api import expect

    _open_system_page(page, "roles", "roles-table")
    page.get_by_test_id("create-button").click()
    dialog = page.get_by_test_id("role-dialog")
    dialog.get_by_test_id("field-name").fill(ROLE_NAME)
    dialog.get_by_test_id("field-description").fill("只管理门诊（浏览器测试）")
    tree = dialog.get_by_test_id("permission-tree")
    oms = tree.locator(".el-tree-node__content").filter(has=page.get_by_test_id("perm-module-oms"))
    expect(oms).to_have_count(1)
    oms.locator(".el-checkbox").first.click()
    # Every oms box is ticked (one resource checked here), nothing of the other modules.
    expect(_tree_box(page, tree, "perm-resource-oms:patient")).to_have_class(re.compile(r"is-checked"))
    expect(_tree_box(page, tree, "perm-module-oms")).to_have_class(re.compile(r"is-checked"))
    for other in ("system", "dbs", "dms", "pms"):
        expect(_tree_box(page, tree, f"perm-module-{other}")).not_to_have_class(
            re.compile(r"is-(checked|indeterminate)")
        )
    dialog.get_by_test_id("save-button").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("roles-table")).to_contain_text(ROLE_NAME)


def _create_user(page: Any, username: str, real_name: str) -> str:
    """Creates the user with the role; answers the one-time password the console shows."""
    from playwright.sync_api import expect

    _open_system_page(page, "users", "users-table")
    # The superadmin's own row offers no 停用.
    admin_actions = page.get_by_test_id("users-table").get_by_test_id("user-actions-admin")
    expect(admin_actions.get_by_test_id("row-edit")).to_be_visible()
    expect(admin_actions.get_by_test_id("row-disable")).to_have_count(0)

    page.get_by_test_id("create-button").click()
    dialog = page.get_by_test_id("user-dialog")
    dialog.get_by_test_id("field-username").fill(username)
    dialog.get_by_test_id("field-real_name").fill(real_name)
    dialog.get_by_test_id("field-role_ids").click()
    _choose(page, ROLE_NAME)
    dialog.locator(".el-dialog__header").click()  # closes the dropdown, not the dialog
    expect(dialog.get_by_test_id("field-role_ids")).to_contain_text(ROLE_NAME)
    dialog.get_by_test_id("save-button").click()

    shown = page.get_by_test_id("password-dialog")
    expect(shown).to_be_visible()
    expect(shown).to_contain_text("只显示这一次")
    expect(shown.get_by_test_id("password-username")).to_have_text(username)
    password = shown.get_by_test_id("initial-password").inner_text().strip()
    assert password, "no one-time password shown"
    shown.get_by_test_id("password-dialog-close").click()
    expect(shown).to_be_hidden()
    row = page.get_by_test_id("users-table").locator(".el-table__body tr").filter(has_text=username)
    expect(row).to_contain_text(ROLE_NAME)
    return password


def _change_initial_password(page: Any, initial: str) -> None:
    from playwright.sync_api import expect

    page.wait_for_url("**/change-password**")
    form = page.get_by_test_id("change-password-page")
    # Nothing else is reachable first: the app sends every route back here.
    expect(page.get_by_test_id("main-menu")).to_have_count(0)

    form.get_by_test_id("field-current_password").fill(initial)
    form.get_by_test_id("field-new_password").fill(WEAK_PASSWORD)
    form.get_by_test_id("field-confirm_password").fill(WEAK_PASSWORD)
    form.get_by_test_id("password-submit").click()
    # The server's policy message (422 errors[field=new_password]) under the field.
    error = form.get_by_test_id("form-item-new_password").locator(".el-form-item__error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/change-password"))

    form.get_by_test_id("field-new_password").fill(NEW_PASSWORD)
    form.get_by_test_id("field-confirm_password").fill(NEW_PASSWORD)
    form.get_by_test_id("password-submit").click()
    page.wait_for_url(lambda url: "/change-password" not in url and "/login" not in url)
    page.get_by_test_id("logout-button").wait_for()


def _top_menu(page: Any) -> list[str]:
    return page.get_by_test_id("main-menu").evaluate(
        "menu => [...menu.children].map(li => li.getAttribute('data-testid')).filter(Boolean)"
    )


def _force_logout(page: Any, username: str) -> None:
    from playwright.sync_api import expect

    _open_system_page(page, "sessions", "sessions-table")
    page.get_by_test_id("search-input").fill(username)
    page.get_by_test_id("search-input").press("Enter")
    rows = page.get_by_test_id("sessions-table").locator(".el-table__body tr")
    expect(rows.first).to_contain_text(username)
    # The change of password ended the user's other sessions: one is left.
    expect(rows).to_have_count(1)
    rows.first.get_by_test_id("row-force-logout").click()
    page.locator(".el-message-box").get_by_role("button", name="强制下线").click()
    expect(page.get_by_test_id("sessions-table").locator(".el-table__body tr")).to_have_count(0)


def _wait_for_401(page: Any, base: str, token: str) -> dict:
    deadline = time.monotonic() + REVOCATION_WAIT_S
    while True:
        answer = page.evaluate(FETCH_WITH_TOKEN, [base + "/api/oms/patients?size=1", token])
        if answer["status"] == 401 or time.monotonic() > deadline:
            return answer
        time.sleep(1)


# --- the scenario -----------------------------------------------------------------------


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    suffix = uuid.uuid4().hex[:6]
    username = f"omsadmin{suffix}"
    real_name = f"门诊员{suffix}"

    # 1. The superadmin: an oms-only role, a user with it, the one-time password; logs out.
    page = browsers.page("first")
    _login(page, base, admin_username, admin_password)
    page.get_by_test_id("logout-button").wait_for()
    expect(page.get_by_test_id("menu-system")).to_be_visible()
    _create_oms_role(page)
    initial = _create_user(page, username, real_name)
    _logout(page)

    # 2. The new user: forced to change the password before anything else.
    _login(page, base, username, initial)
    _change_initial_password(page, initial)

    # 3. Only 门诊 (every module runs: no 系统管理, 数据中心, 排班 or 药房).
    expect(page.get_by_test_id("menu-oms")).to_be_visible()
    for absent in ("menu-system", "menu-dbs", "menu-dms", "menu-pms"):
        expect(page.get_by_test_id(absent)).to_have_count(0)
    assert _top_menu(page) == ["menu-home", "menu-oms"], _top_menu(page)

    # 4. A system page typed by hand: the 403 page.
    page.goto(base + "/system/users")
    page.wait_for_url("**/403")
    expect(page.get_by_test_id("error-403")).to_be_visible()

    # 5. By hand with the console's token: the pharmacy and master-data APIs are refused
    #    (403); the outpatient API, which the role grants, answers.
    token = page.evaluate("() => JSON.parse(localStorage.getItem('hamp.session')).accessToken")
    oms = page.evaluate(FETCH_WITH_CONSOLE_TOKEN, base + "/api/oms/patients?size=1")
    assert oms["status"] == 200, oms
    pms = page.evaluate(FETCH_WITH_CONSOLE_TOKEN, base + "/api/pms/dispensing-orders")
    assert pms["hadToken"], pms
    assert pms["status"] == 403, (
        f"GET /api/pms/dispensing-orders without a pms permission answered {pms['status']}: {pms['body']}"
    )
    dbs = page.evaluate(FETCH_WITH_CONSOLE_TOKEN, base + "/api/dbs/departments?size=1")
    assert dbs["status"] == 403, (
        f"GET /api/dbs/departments without a dbs permission answered {dbs['status']}: {dbs['body']}"
    )

    _open_module_page(page, "oms", "patients")
    page.get_by_test_id("resource-table").wait_for()

    # 6. The superadmin, in a browser of its own, ends the user's session in 在线会话.
    admin = browsers.page("admin")
    _login(admin, base, admin_username, admin_password)
    admin.get_by_test_id("logout-button").wait_for()
    _force_logout(admin, username)

    # 7. The user's next call answers 401, and the console goes back to its login page.
    answer = _wait_for_401(page, base, token)
    assert answer["status"] == 401, f"the user's token still works {REVOCATION_WAIT_S}s after force logout: {answer}"
    page.get_by_role("button", name="刷新").click()
    page.wait_for_url("**/login**")
    expect(page.get_by_test_id("login-username")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('hamp.session')") is None

    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def test_oms_only_administrator(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('system')}")
        raise


# --- 日志查询 (docs/logging.md) ------------------------------------------------------------

APPLOG_PASSWORD = "Logs2026console"


def _api_user(client: Any, builtin: str, username: str, real_name: str) -> None:
    """A user holding one of the built-in roles (三员), its first password already changed."""
    roles = client.get("/api/system/roles", params={"size": 100})
    roles.raise_for_status()
    role_id = next(r["id"] for r in roles.json()["items"] if r["builtin"] == builtin)
    body = {"username": username, "real_name": real_name, "role_ids": [role_id]}
    created = client.post("/api/system/users", json=body)
    assert created.status_code == 201, created.text
    initial = created.json()["initial_password"]
    login = client.post("/api/auth/login", json={"username": username, "password": initial})
    login.raise_for_status()
    changed = client.post(
        "/api/auth/password",
        json={"current_password": initial, "new_password": APPLOG_PASSWORD},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert changed.status_code == 200, changed.text


def test_app_logs_for_the_auditor(platform: Any, browsers: Browsers) -> None:
    """An audit administrator finds, in 日志查询, the line a refused login left under the request id
    the caller sent: level and service in words, the whole line as JSON in 详情, and the typed
    password nowhere. A system administrator (no `system:applog:read`) has no such menu entry and
    the API refuses them."""
    import httpx2
    from playwright.sync_api import expect

    base = platform.gateway_url
    suffix = uuid.uuid4().hex[:6]
    auditor, sysadmin = f"auditor{suffix}", f"sysadm{suffix}"
    request_id = f"e2eapplog{uuid.uuid4().hex}"
    wrong_password = f"Wrong{suffix}2026"
    with httpx2.Client(base_url=base, timeout=30) as client:
        admin = {"username": platform.admin_username, "password": platform.admin_password}
        client.headers["Authorization"] = f"Bearer {client.post('/api/auth/login', json=admin).json()['access_token']}"
        _api_user(client, "audit_admin", auditor, "日志审计员")
        _api_user(client, "system_admin", sysadmin, "日志系统员")
        del client.headers["Authorization"]
        refused = client.post(
            "/api/auth/login",
            json={"username": sysadmin, "password": wrong_password},
            headers={"X-Request-ID": request_id},
        )
        assert refused.status_code == 401, refused.text
        assert refused.headers["X-Request-ID"] == request_id

    try:
        # 1. The auditor opens 日志查询 from the menu and narrows it to the request id.
        page = browsers.page("auditor")
        _login(page, base, auditor, APPLOG_PASSWORD)
        _open_system_page(page, "app-logs", "app-logs-table")
        page.get_by_test_id("request-id-filter").fill(request_id)
        page.get_by_test_id("request-id-filter").press("Enter")
        rows = page.get_by_test_id("app-logs-table").locator(".el-table__body tr")
        expect(rows).to_have_count(1)
        row = rows.first
        expect(row).to_contain_text(request_id)
        expect(row).to_contain_text(sysadmin)
        cells = row.locator("td")
        # Time, level, service, user, request id, message, actions: level and service in words.
        expect(cells.nth(1)).to_have_text("信息")
        expect(cells.nth(2)).to_have_text("网关")
        expect(cells.nth(5)).to_contain_text("refused")
        # The id, wider than its column, reads from its start (ending in …), inside its cell.
        cell = cells.nth(4).bounding_box()
        shown_id = row.get_by_test_id("request-id-link").locator("span").bounding_box()
        assert cell and shown_id, (cell, shown_id)
        assert cell["x"] <= shown_id["x"] and shown_id["x"] + shown_id["width"] <= cell["x"] + cell["width"], (
            cell,
            shown_id,
        )

        # 2. 详情: the same words, and the whole line as JSON, without the password typed.
        row.get_by_test_id("detail-button").click()
        drawer = page.get_by_test_id("app-log-drawer")
        expect(drawer.locator(".el-descriptions")).to_contain_text("信息")
        expect(drawer.locator(".el-descriptions")).to_contain_text("网关")
        raw = drawer.get_by_test_id("app-log-raw")
        expect(raw).to_be_visible()
        line = json.loads(raw.inner_text())
        assert line["request_id"] == request_id, line
        assert (line["component"], line["level"], line["username"]) == ("gateway", "INFO", sysadmin), line
        assert wrong_password not in raw.inner_text()
        page.keyboard.press("Escape")
        expect(raw).to_be_hidden()

        # 3. The system administrator: 系统管理 without 日志查询; the page typed by hand is the 403
        #    page; the API, called with the console's token, answers 403.
        other = browsers.page("sysadmin")
        _login(other, base, sysadmin, APPLOG_PASSWORD)
        other.get_by_test_id("menu-system").locator(".el-sub-menu__title").click()
        expect(other.get_by_test_id("menu-system-users")).to_be_visible()
        expect(other.get_by_test_id("menu-system-app-logs")).to_have_count(0)
        other.goto(base + "/system/app-logs")
        other.wait_for_url("**/403")
        refused_api = other.evaluate(FETCH_WITH_CONSOLE_TOKEN, f"{base}/api/system/app-logs?request_id={request_id}")
        assert refused_api["hadToken"], refused_api
        assert refused_api["status"] == 403, refused_api
        assert request_id not in refused_api["body"]

        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"
    except BaseException:
        print(f"screenshots: {browsers.screenshots('app-logs')}")
        raise

"""The console in a real browser: log in, open 科室 from the menu, create a department, find
it again with the search box, and see the server's duplicate-name error next to the field.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright's sync API (never
`playwright install`); the `platform` fixture (tests/conftest.py) runs registry, gateway
(serving gateway/console/dist) and dbs on embedded SQLite.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, browser_available  # noqa: F401

pytestmark = pytest.mark.browser


@dataclass
class Browser:
    page: Any
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> str:
        path = f"/tmp/hamp-console-{name}-{int(time.time())}.png"
        try:
            self.page.screenshot(path=path, full_page=True)
        except Exception as exc:  # the browser may already be gone
            return f"(no screenshot: {exc})"
        return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        state = Browser(page)
        page.on("pageerror", lambda exc: state.errors.append(str(exc)))
        try:
            yield state
        finally:
            context.close()
            chromium.close()


def _login(page: Any, platform: Any) -> None:
    page.goto(platform.gateway_url + "/")
    # Without a session the console sends us to its login page.
    page.wait_for_url("**/login**")
    page.get_by_test_id("login-username").fill(platform.admin_username)
    page.get_by_test_id("login-password").fill(platform.admin_password)
    page.get_by_test_id("login-password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.get_by_test_id("logout-button").wait_for()


def _open_departments(page: Any) -> None:
    item = page.get_by_test_id("menu-dbs-departments")
    if not item.is_visible():
        page.get_by_test_id("menu-dbs").locator(".el-sub-menu__title").click()
    item.click()
    page.wait_for_url("**/dbs/departments")
    page.get_by_test_id("resource-table").wait_for()


def _submit_department(page: Any, code: str, name: str) -> None:
    page.get_by_test_id("create-button").click()
    dialog = page.get_by_test_id("resource-dialog")
    dialog.get_by_test_id("field-code").fill(code)
    dialog.get_by_test_id("field-name").fill(name)
    dialog.get_by_test_id("field-kind").click()
    page.locator(".el-select-dropdown__item:visible").get_by_text("门诊", exact=True).click()
    dialog.get_by_test_id("save-button").click()


def _server_duplicate_message(platform: Any, code: str, name: str) -> str:
    """What the API itself says, in Chinese, about a second department with this name."""
    with httpx2.Client(base_url=platform.gateway_url, timeout=10) as client:
        login = client.post(
            "/api/auth/login", json={"username": platform.admin_username, "password": platform.admin_password}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}", "Accept-Language": "zh-CN"}
        answer = client.post(
            "/api/dbs/departments", json={"code": code, "name": name, "kind": "outpatient"}, headers=headers
        )
    assert answer.status_code == 409, answer.text
    messages = [e["message"] for e in answer.json().get("errors", []) if e.get("field") == "name"]
    assert messages, answer.text
    return messages[0]


def test_create_search_and_duplicate_department(platform: Any, browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.page
    suffix = uuid.uuid4().hex[:8].upper()
    code, name = f"E2E{suffix}", f"浏览器测试科{suffix}"
    try:
        _login(page, platform)
        _open_departments(page)

        _submit_department(page, code, name)
        expect(page.get_by_test_id("resource-dialog")).to_be_hidden()

        page.get_by_test_id("search-input").fill(code)
        page.get_by_test_id("search-input").press("Enter")
        rows = page.get_by_test_id("resource-table").locator(".el-table__body tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(name)
        expect(rows.first).to_contain_text(code)
        expect(rows.first).to_contain_text("门诊")

        # The same name again under another code: the server refuses it and the console
        # shows the server's own message under the name field, keeping the dialog open.
        _submit_department(page, f"E2F{suffix}", name)
        dialog = page.get_by_test_id("resource-dialog")
        error = dialog.get_by_test_id("form-item-name").locator(".el-form-item__error")
        expect(error).to_be_visible()
        expect(error).to_have_text(_server_duplicate_message(platform, f"E2G{suffix}", name))
        expect(dialog).to_be_visible()

        assert not browser.errors, f"JavaScript errors on the page: {browser.errors}"
    except BaseException:
        print(f"screenshot: {browser.screenshot('departments')}")
        raise

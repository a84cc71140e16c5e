"""Sessions and passwords in a real browser: an expired password opens the change form saying so,
and the login log shows logouts and password changes in Chinese, filtered by event.

The `platform` fixture (tests/conftest.py) runs every component; a password is made old by
editing the gateway's SQLite database, as the API tests do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, update

from gateway.settings import GatewaySettings
from gateway.system.models import User as UserRow
from shared.clock import utcnow
from shared.migrations import sync_url
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, browser_available  # noqa: F401

pytestmark = pytest.mark.browser

FIRST_PASSWORD = "Browser-pass-31"


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()
            chromium.close()


def _admin_token(client: httpx2.Client, platform: Any) -> str:
    body = {"username": platform.admin_username, "password": platform.admin_password}
    login = client.post("/api/auth/login", json=body)
    login.raise_for_status()
    return login.json()["access_token"]


def _ready_user(platform: Any) -> str:
    """A user with a role, first password changed, then logged out once: answers the name."""
    with httpx2.Client(base_url=platform.gateway_url, timeout=30) as admin:
        admin.headers["Authorization"] = f"Bearer {_admin_token(admin, platform)}"
        role = admin.post(
            "/api/system/roles",
            json={"name": f"会话测试{uuid.uuid4().hex[:6]}", "permissions": ["system:user:read"], "data_scope": "all"},
        )
        role.raise_for_status()
        username = f"s{uuid.uuid4().hex[:8]}"
        created = admin.post(
            "/api/system/users", json={"username": username, "real_name": "会话测试", "role_ids": [role.json()["id"]]}
        )
        created.raise_for_status()
        initial = created.json()["initial_password"]
    with httpx2.Client(base_url=platform.gateway_url, timeout=30) as client:
        token = client.post("/api/auth/login", json={"username": username, "password": initial}).json()["access_token"]
        body = {"current_password": initial, "new_password": FIRST_PASSWORD}
        changed = client.post("/api/auth/password", json=body, headers={"Authorization": f"Bearer {token}"})
        changed.raise_for_status()
        logout = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {changed.json()['access_token']}"})
        assert logout.status_code == 204
    return username


def _age_password(platform: Any, username: str) -> None:
    var_dir = Path(platform.components["gateway"].env["HAMP_VAR_DIR"])
    url = GatewaySettings(var_dir=var_dir, database_url="", log_to_file=False).effective_database_url
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                update(UserRow.__table__)
                .where(UserRow.__table__.c.username == username)
                .values(password_changed_at=utcnow() - timedelta(days=400))
            )
    finally:
        engine.dispose()


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def test_an_expired_password_opens_the_change_form_saying_so(platform: Any, page: Any) -> None:
    from playwright.sync_api import expect

    username = _ready_user(platform)
    _age_password(platform, username)
    _login(page, platform.gateway_url, username, FIRST_PASSWORD)
    page.wait_for_url("**/change-password**")
    expect(page.get_by_test_id("password-title")).to_have_text("密码已过期，请修改密码")


def test_the_login_log_shows_events_in_chinese_and_filters_by_event(platform: Any, page: Any) -> None:
    from playwright.sync_api import expect

    username = _ready_user(platform)
    _login(page, platform.gateway_url, platform.admin_username, platform.admin_password)
    page.goto(platform.gateway_url + "/system/login-log")
    view = page.get_by_test_id("system-login-log")
    view.get_by_test_id("search-input").fill(username)
    view.get_by_test_id("search-input").press("Enter")
    rows = view.get_by_test_id("login-log-table").locator(".el-table__body tr")
    # Newest first: the logout, the password change, the first login.
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("退出登录")
    expect(rows.nth(0)).to_contain_text("用户主动退出")
    expect(rows.nth(1)).to_contain_text("修改密码")
    expect(rows.nth(2)).to_contain_text("登录")
    for raw in ("logout", "password_changed", "login"):
        expect(view.get_by_test_id("login-log-table")).not_to_contain_text(re.compile(rf"\b{raw}\b"))

    view.get_by_test_id("event-filter").click()
    page.locator(".el-select-dropdown__item:visible").get_by_text("退出登录", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("退出登录")

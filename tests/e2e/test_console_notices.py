"""The bell (消息通知) in a real browser: its count, its list in Chinese, and reading clears it.

Only the registry and the gateway run (as processes, on SQLite): a notice and a locked account
are the gateway's own. A publisher (a role holding 通知公告) publishes a notice to everyone
through the API, and an account is locked by wrong passwords. The superadmin logs in: the bell
shows 2; opened, it lists the notice (公告) and the lock (账号锁定) in words, no code. Opening the
notice shows its text and the count drops to 1; opening the lock goes to 用户管理 and the
badge is gone. 我的消息 lists both as 已读, and the publisher's receipts count the superadmin once.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright (never `playwright install`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.test_console_system import Browsers, _login, launch
from tests.support.browser import assert_no_codes, browser_available  # noqa: F401
from tests.support.servers import running_platform

pytestmark = pytest.mark.browser

NOTICE_TITLE = "本周五下午消防演练"
NOTICE_BODY = "请各科室于 15:00 前到门诊楼前集合，演练约一小时。"


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    password = f"Pw-{uuid.uuid4().hex[:12]}"
    var_dir = tmp_path_factory.mktemp("notices")
    # No module runs, so nothing to poll: the lock is raised as it happens.
    extra = {"HAMP_GATEWAY_NOTIFICATIONS_POLL_SECONDS": "0", "HAMP_GATEWAY_LOCKOUT_FAILURES": "2"}
    with running_platform(var_dir, ["registry", "gateway"], password, **extra) as running:
        yield running["gateway"].url, password


def _api(base: str, token: str | None = None) -> httpx2.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.Client(base_url=base, headers=headers, timeout=30)


def _token(base: str, username: str, password: str) -> str:
    answer = _api(base).post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _user(admin: httpx2.Client, base: str, permissions: list[str]) -> tuple[str, str, int]:
    """A user with one role of these permissions, first password changed: (name, password, id)."""
    role = admin.post("/api/system/roles", json={"name": f"r{uuid.uuid4().hex[:6]}", "permissions": permissions})
    assert role.status_code == 201, role.text
    name = f"u{uuid.uuid4().hex[:8]}"
    body = {"username": name, "real_name": "测试", "role_ids": [role.json()["id"]]}
    created = admin.post("/api/system/users", json=body)
    assert created.status_code == 201, created.text
    initial = created.json()["initial_password"]
    changed = _api(base, _token(base, name, initial)).post(
        "/api/auth/password", json={"current_password": initial, "new_password": "Notice2026pw"}
    )
    assert changed.status_code == 200, changed.text
    return name, "Notice2026pw", created.json()["user"]["id"]


def _badge(page: Any) -> str:
    badge = page.get_by_test_id("notification-count").locator(".el-badge__content")
    return "" if not badge.is_visible() else badge.inner_text().strip()


def test_the_bell_counts_lists_in_words_and_clears_on_reading(gateway_url: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, password = gateway_url
    admin = _api(base, _token(base, "admin", password))
    publisher, publisher_password, _ = _user(admin, base, ["system:notice:read", "system:notice:write"])
    victim, _, _ = _user(admin, base, [])
    notice = _api(base, _token(base, publisher, publisher_password)).post(
        "/api/system/notices", json={"title": NOTICE_TITLE, "body": NOTICE_BODY, "publish": True}
    )
    assert notice.status_code == 201, notice.text
    for _ in range(2):
        assert _api(base).post("/api/auth/login", json={"username": victim, "password": "wrong-1"}).status_code == 401

    with launch() as browsers:
        _run(browsers, base, password, victim, expect)
        assert browsers.errors == []

    receipts = _api(base, _token(base, publisher, publisher_password)).get(
        f"/api/system/notices/{notice.json()['id']}/receipts"
    )
    assert [r["username"] for r in receipts.json()["read"]] == ["admin"]


def _run(browsers: Browsers, base: str, password: str, victim: str, expect: Any) -> None:
    page = browsers.page("admin")
    _login(page, base, "admin", password)
    bell = page.get_by_test_id("notification-bell")
    expect(page.get_by_test_id("notification-count").locator(".el-badge__content")).to_have_text("2")

    bell.click()
    panel = page.get_by_test_id("notification-panel")
    expect(panel.get_by_test_id("bell-notice")).to_contain_text(NOTICE_TITLE)
    expect(panel.get_by_test_id("bell-notice")).to_contain_text("公告")
    lock = panel.get_by_test_id("bell-notification")
    expect(lock).to_contain_text("账号锁定")
    expect(lock).to_contain_text(victim)
    assert_no_codes(page, "the bell's list", panel)

    panel.get_by_test_id("bell-notice").click()
    dialog = page.get_by_test_id("notice-dialog")
    expect(dialog.get_by_test_id("notice-body")).to_have_text(NOTICE_BODY)
    expect(page.get_by_test_id("notification-count").locator(".el-badge__content")).to_have_text("1")
    dialog.locator(".el-dialog__headerbtn").click()

    bell.click()
    page.get_by_test_id("notification-panel").get_by_test_id("bell-notification").click()
    page.wait_for_url("**/system/users")
    expect(page.get_by_test_id("notification-count").locator(".el-badge__content")).to_be_hidden()

    page.goto(base + "/messages")
    table = page.get_by_test_id("notifications-table")
    expect(table).to_contain_text("账号锁定")
    expect(table).to_contain_text("已读")
    assert_no_codes(page, "我的消息")

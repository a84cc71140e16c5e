"""Two-step login in a real browser (docs/security.md, "Two-factor login").

A gateway requiring a second factor of every administrator (`totp_required_permissions`
["system:"]) serves the built console. The superadmin enrols through the API (pyotp computes
its codes) and creates a user holding the built-in 安全管理员 role. In Chromium that user logs in
with the one-time password, changes it, is taken straight to the 两步验证 page, reads the key
shown beside the QR code, confirms with a code pyotp computes from it, sees the recovery codes
once, continues to the home page and logs out. Logging in again asks for the code after the
password; with it the user lands on the home page.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright's sync API (never
`playwright install`). Only the gateway runs (in this process): nothing here needs a service.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest

import gateway.main
from gateway.settings import GatewaySettings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, browser_available  # noqa: F401
from tests.support.servers import ThreadServer

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}"
NEW_PASSWORD = "Secure2026admin"
# Substitute while the built-in 三员 roles are not there (see _security_role).
FALLBACK_PERMISSIONS = ["system:session:read", "system:session:write", "system:user:read"]


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = GatewaySettings(
        var_dir=Path(tmp_path_factory.mktemp("second-factor")),
        registry_urls="",
        redis_url="",
        redis_sentinels="",
        database_url="",
        log_to_file=False,
        log_level="WARNING",
        superadmin_password=ADMIN_PASSWORD,
        totp_required_permissions=["system:"],
    )
    with ThreadServer(gateway.main.create_app(settings)) as server:
        yield server.url


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


@pytest.fixture(scope="module")
def admin(gateway_url: str) -> Iterator[httpx2.Client]:
    """The superadmin through the API, enrolled (its permissions require it too)."""
    with httpx2.Client(base_url=gateway_url, timeout=30) as client:
        login = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["user"]["second_factor_enrolment_required"] is True
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        secret = client.post("/api/auth/second-factor/enrolment").json()["secret"]
        confirmed = client.post("/api/auth/second-factor/confirm", json={"code": _code(secret)})
        assert confirmed.status_code == 200, confirmed.text
        client.headers["Authorization"] = f"Bearer {confirmed.json()['tokens']['access_token']}"
        yield client


def _security_role(admin: httpx2.Client) -> int:
    roles = admin.get("/api/system/roles", params={"size": 100})
    assert roles.status_code == 200, roles.text
    builtin = [r for r in roles.json()["items"] if r.get("builtin") == "security_admin"]
    if builtin:
        return builtin[0]["id"]
    # TODO lead: builtin role
    body = {"name": f"安全管理员-{uuid.uuid4().hex[:4]}", "permissions": FALLBACK_PERMISSIONS, "data_scope": "all"}
    created = admin.post("/api/system/roles", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
            context.set_default_timeout(TIMEOUT_MS)
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                yield tab
            except BaseException:
                tab.screenshot(path=f"/tmp/hamp-second-factor-{int(time.time())}.png", full_page=True)
                raise
            assert errors == [], errors
        finally:
            chromium.close()


def _password_step(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.wait_for_url("**/login**")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-password").press("Enter")


def test_a_security_administrator_enrols_and_logs_in_with_a_code(
    gateway_url: str, admin: httpx2.Client, page: Any
) -> None:
    from playwright.sync_api import expect

    username = f"sec{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/api/system/users", json={"username": username, "real_name": "安全员", "role_ids": [_security_role(admin)]}
    )
    assert created.status_code == 201, created.text
    initial = created.json()["initial_password"]

    # The one-time password first opens only the password form …
    _password_step(page, gateway_url, username, initial)
    page.wait_for_url("**/change-password**")
    form = page.get_by_test_id("change-password-page")
    form.get_by_test_id("field-current_password").fill(initial)
    form.get_by_test_id("field-new_password").fill(NEW_PASSWORD)
    form.get_by_test_id("field-confirm_password").fill(NEW_PASSWORD)
    form.get_by_test_id("password-submit").click()

    # … then the enrolment, before anything else.
    page.wait_for_url("**/account/security**")
    enrol = page.get_by_test_id("second-factor-page")
    expect(enrol).to_contain_text("请设置两步验证")
    expect(page.get_by_test_id("main-menu")).to_have_count(0)
    enrol.get_by_test_id("totp-start").click()
    expect(enrol.get_by_test_id("totp-qr")).to_be_visible()
    # The QR code is drawn (an image that failed to load has no natural width).
    assert enrol.get_by_test_id("totp-qr").evaluate("img => img.complete && img.naturalWidth") > 0
    shown = enrol.get_by_test_id("totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", shown), shown
    secret = shown.replace(" ", "")

    # A wrong code is refused under the field.
    right = _code(secret)
    enrol.get_by_test_id("totp-code").fill(f"{(int(right) + 1) % 1_000_000:06d}")
    enrol.get_by_test_id("totp-confirm").click()
    expect(enrol.locator(".el-form-item__error")).to_contain_text("不正确")

    enrol.get_by_test_id("totp-code").fill(_code(secret))
    enrol.get_by_test_id("totp-confirm").click()
    codes = enrol.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", c) for c in codes.all_inner_texts())
    enrol.get_by_test_id("recovery-done").click()
    page.wait_for_url(lambda url: "/account/security" not in url and "/login" not in url)
    expect(page.get_by_test_id("welcome")).to_contain_text("安全员")

    page.get_by_test_id("logout-button").click()
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    page.wait_for_url("**/login**")

    # The password alone is not enough any more: the code follows. (The code that confirmed the
    # enrolment is spent; the next step's is within the accepted drift.)
    _password_step(page, gateway_url, username, NEW_PASSWORD)
    second = page.get_by_test_id("login-second-step")
    expect(second).to_be_visible()
    expect(page.get_by_test_id("login-use-recovery")).to_have_text("使用恢复码")
    page.get_by_test_id("login-code").fill(_code(secret, steps_ahead=1))
    page.get_by_test_id("login-code-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_test_id("welcome")).to_contain_text("安全员")
    assert "/account/security" not in page.url

    # The login log names the steps (as the security administrator reads it).
    log = admin.get("/api/system/login-log", params={"username": username, "size": 10}).json()["items"]
    assert [row["result"] for row in log[:2]] == ["success", "success"]

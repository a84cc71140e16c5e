"""The console shows whether the logs are intact: above the login log and the operation log, one
line per module, in Chinese; a record edited behind the application's back is named there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gateway.settings import GatewaySettings
from shared.migrations import sync_url
from tests.e2e.test_console_sessions import _login, page  # noqa: F401 — the browser page fixture
from tests.support.browser import CHROMIUM, browser_available  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_log_views_show_the_chain_state_and_name_an_edited_record(platform: Any, page: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    _login(page, platform.gateway_url, platform.admin_username, platform.admin_password)
    page.goto(platform.gateway_url + "/system/login-log")
    status = page.get_by_test_id("audit-chain-system")
    expect(status).to_contain_text("登录日志：审计记录完整（共")

    page.goto(platform.gateway_url + "/system/operation-log")
    expect(page.get_by_test_id("audit-chain-system")).to_contain_text("审计记录完整")
    expect(page.get_by_test_id("audit-chain-dbs")).to_contain_text("审计记录完整")

    var_dir = Path(platform.components["gateway"].env["HAMP_VAR_DIR"])
    engine = create_engine(sync_url(GatewaySettings(var_dir=var_dir, log_to_file=False).effective_database_url))
    try:
        with engine.begin() as conn:
            first = conn.execute(text("SELECT id, ip FROM login_log ORDER BY id LIMIT 1")).one()
            conn.execute(text("UPDATE login_log SET ip = '10.6.6.6' WHERE id = :id"), {"id": first.id})
        page.goto(platform.gateway_url + "/system/login-log")
        expect(page.get_by_test_id("audit-chain-system")).to_contain_text(f"登录日志：第 {first.id} 条记录被修改（时间")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE login_log SET ip = :ip WHERE id = :id"), {"ip": first.ip, "id": first.id})
        engine.dispose()

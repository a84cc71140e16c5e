"""消息队列 (系统管理) in a real browser: messages between services that did not arrive, merged
by the gateway from every module's outbox (docs/system-api.md, shared/outbox_admin.py).

The messages are made for real on a running platform: prescriptions are queued in oms's
outbox (its SQLite database, as tests/pms/test_outbox_admin.py queues them in pms's) and sent
by oms's own relay to pms. Each prescription is sent once under one key — pms receives it —
then again under another key, which pms refuses for good (409: the order already has a
dispensing order); a third waits an hour before its first try.

The superadmin opens 系统管理 → 消息队列 from the menu: the refused messages listed with the
sending and receiving module, what the message is, 被拒收, the attempts and pms's answer in
words; the waiting one under 全部 as 等待重发. 重发 sends the waiting one now (pms receives
it and it leaves the list) and a refused one again (refused again: two attempts).
标记已处理 asks for a note and refuses none; with it the message shows as handled by whom and
why, is never sent again, and 操作日志 has the row. No code shows on either page.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright (never `playwright install`); the
`platform` fixture (tests/conftest.py) runs every component as a real process on SQLite.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

from oms.db import outbox
from oms.settings import OmsSettings
from shared.clock import utcnow
from shared.migrations import sync_url
from tests.e2e.test_console_outpatient import _admin_api, _confirm
from tests.e2e.test_console_system import Browsers, _choose, _login, _open_system_page, launch
from tests.support.browser import assert_no_codes, browser_available  # noqa: F401

pytestmark = pytest.mark.browser

RELAY_WAIT_S = 20.0
KIND = "处方送药房发药"  # oms's name for a message to /api/pms/dispensing-orders
NOTE = "药房已按纸质处方发药，此消息不再发送"


def _wait(condition: Callable[[], Any], what: str, timeout: float = RELAY_WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.2)
    return value


def _prescription(order_id: int) -> dict[str, Any]:
    """What oms sends pms for a paid prescription (oms/payments: `dispensing_order`)."""
    return {
        "source": "oms",
        "order_id": order_id,
        "order_number": f"CF{order_id}",
        "visit_number": f"JZ{order_id}",
        "patient_name": "消息测试",
        "doctor_name": "王医生",
        "department_name": "内科",
        "lines": [{"line_id": 1, "drug_id": 1, "code": "YP1", "name": "阿莫西林胶囊", "quantity": 2}],
    }


class OmsOutbox:
    """oms's outbox table in its SQLite file, next to the running oms."""

    def __init__(self, platform: Any) -> None:
        var_dir = Path(platform.components["oms"].env["HAMP_VAR_DIR"])
        url = OmsSettings(var_dir=var_dir, database_url="", log_to_file=False).effective_database_url
        self.engine: Engine = create_engine(sync_url(url))

    def queue(self, key: str, order_id: int, **values: Any) -> int:
        now = utcnow()
        row = {
            "key": key,
            "destination": "PMS",
            "method": "POST",
            "path": "/api/pms/dispensing-orders",
            "body": json.dumps(_prescription(order_id), ensure_ascii=False),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            **values,
        }
        with self.engine.begin() as conn:
            return conn.execute(outbox.insert().values(**row)).inserted_primary_key[0]

    def message(self, message_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(outbox).where(outbox.c.id == message_id)).mappings().one())

    def settled(self, message_id: int, status: str) -> dict[str, Any]:
        """The message once the relay has left it in `status`."""
        return _wait(
            lambda: (m := self.message(message_id))["status"] == status and m, f"message {message_id} {status}"
        )


@pytest.fixture(scope="module")
def oms_outbox(platform: Any) -> Iterator[OmsOutbox]:
    box = OmsOutbox(platform)
    try:
        yield box
    finally:
        box.engine.dispose()


def _refused_twice_over(box: OmsOutbox, order_id: int) -> int:
    """The prescription delivered under one key, then queued under another: pms refuses that one."""
    box.settled(box.queue(f"e2e-first-{order_id}", order_id), "delivered")
    refused = box.settled(box.queue(f"e2e-again-{order_id}", order_id), "rejected")
    assert refused["attempts"] == 1 and refused["last_error"].startswith("409 "), refused
    return refused["id"]


def _rows(page: Any) -> Any:
    return page.get_by_test_id("outbox-table").locator(".el-table__body tr")


def _row(page: Any, text: str) -> Any:
    return _rows(page).filter(has_text=text)


def _cells(row: Any) -> list[str]:
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def _refresh_until(page: Any, condition: Callable[[], bool], what: str) -> None:
    """The relay works after the answer: 刷新 until the list shows what it did."""
    from playwright.sync_api import expect

    def shown() -> bool:
        page.get_by_test_id("refresh-button").click()
        expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
        return condition()

    _wait(shown, what)


def _show_status(page: Any, label: str) -> None:
    page.get_by_test_id("status-filter").click()
    _choose(page, label)


def test_the_message_queue_lists_retries_and_resolves(platform: Any, oms_outbox: OmsOutbox) -> None:
    first, second, waiting = (random.randint(100_000, 899_999) + i * 1_000_000 for i in range(3))
    retried_id = _refused_twice_over(oms_outbox, first)
    resolved_id = _refused_twice_over(oms_outbox, second)
    # Out of the relay's way for an hour: waiting, never tried.
    waiting_id = oms_outbox.queue(f"e2e-later-{waiting}", waiting, next_attempt_at=utcnow() + timedelta(hours=1))

    with launch() as browsers:
        try:
            _scenario(platform, oms_outbox, browsers, (first, second, waiting), (retried_id, resolved_id, waiting_id))
        except BaseException:
            print(f"screenshots: {browsers.screenshots('outbox')}")
            raise
        assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def _scenario(platform: Any, box: OmsOutbox, browsers: Browsers, orders: tuple, ids: tuple) -> None:
    from playwright.sync_api import expect

    first, second, waiting = orders
    retried_id, resolved_id, waiting_id = ids
    page = browsers.page("admin")
    _login(page, platform.gateway_url, platform.admin_username, platform.admin_password)
    page.get_by_test_id("logout-button").wait_for()

    # 1. 系统管理 → 消息队列: refused messages first (the page opens on 被拒收).
    _open_system_page(page, "outbox", "outbox-table")
    refused = _row(page, f"处方 {first}")
    expect(refused).to_have_count(1)
    expect(_rows(page)).to_have_count(2)
    cells = _cells(refused)
    assert cells[:5] == ["门诊", "药房", KIND, "被拒收", "1"], cells
    assert cells[5] == f"门诊处方 {first} 已有取药单", cells  # pms's own words, not its JSON
    assert cells[6] == "", cells  # no next try: a refusal waits for a person
    expect(refused.get_by_test_id("row-retry")).to_be_visible()
    expect(refused.get_by_test_id("row-resolve")).to_be_visible()
    expect(_row(page, f"处方 {second}")).to_have_count(1)
    assert_no_codes(page, "消息队列（被拒收）")

    # 2. 全部: the waiting message too, never tried, with its next try; it can be sent now, not
    #    set aside (the relay may be sending it this moment).
    _show_status(page, "状态：全部")
    expect(_rows(page)).to_have_count(3)
    pending = _row(page, "等待重发")
    expect(pending).to_have_count(1)
    cells = _cells(pending)
    assert cells[:6] == ["门诊", "药房", KIND, "等待重发", "0", "尚无答复"], cells
    assert cells[6], cells
    expect(pending.get_by_test_id("row-retry")).to_be_visible()
    expect(pending.get_by_test_id("row-resolve")).to_have_count(0)
    assert_no_codes(page, "消息队列（全部）")

    # 3. 重发 the waiting one: sent now, pms receives it, and it leaves the list.
    pending.get_by_test_id("row-retry").click()
    expect(page.locator(".el-message").filter(has_text="已安排重发").first).to_be_visible()
    box.settled(waiting_id, "delivered")
    _refresh_until(page, lambda: _rows(page).count() == 2, "the delivered message gone from the list")
    expect(pending).to_have_count(0)
    api = _admin_api(platform.gateway_url, platform.admin_username, platform.admin_password)
    try:
        received = api.get("/api/pms/dispensing-orders", params={"q": f"CF{waiting}"})
        assert received.status_code == 200, received.text
        assert [o["order_id"] for o in received.json()["items"]] == [waiting], received.json()
    finally:
        api.close()

    # 4. 重发 a refused one: pms refuses it again; the second attempt is counted.
    refused.get_by_test_id("row-retry").click()
    expect(page.locator(".el-message").filter(has_text="已安排重发").first).to_be_visible()
    _wait(lambda: box.message(retried_id)["attempts"] == 2 and box.message(retried_id)["status"] == "rejected",
          "the retried message refused again")  # fmt: skip
    _refresh_until(page, lambda: _cells(refused)[3:5] == ["被拒收", "2"], "two attempts shown")
    assert _cells(refused)[5] == f"门诊处方 {first} 已有取药单"

    # 5. 标记已处理 the other: not without a note; with one, set aside for good.
    other = _row(page, f"处方 {second}")
    other.get_by_test_id("row-resolve").click()
    dialog = page.locator(".el-message-box")
    expect(dialog).to_be_visible()
    _confirm(page, "标记已处理")
    expect(dialog.locator(".el-message-box__errormsg")).to_have_text("请填写处理说明")
    expect(dialog).to_be_visible()
    assert box.message(resolved_id)["status"] == "rejected"
    dialog.locator("textarea").fill(NOTE)
    _confirm(page, "标记已处理")
    expect(dialog).to_be_hidden()
    expect(page.locator(".el-message").filter(has_text="已标记为已处理").first).to_be_visible()
    handled = _row(page, NOTE)
    expect(handled).to_have_count(1)
    cells = _cells(handled)
    assert cells[:5] == ["门诊", "药房", KIND, "已处理", "1"], cells
    assert cells[5] == f"{platform.admin_username} 已处理：{NOTE}", cells
    expect(handled.get_by_test_id("row-retry")).to_have_count(0)
    expect(handled.get_by_test_id("row-resolve")).to_have_count(0)
    expect(_rows(page)).to_have_count(2)
    message = box.message(resolved_id)
    assert (message["status"], message["resolved_by"], message["resolution_note"]) == (
        "resolved",
        platform.admin_username,
        NOTE,
    )
    assert_no_codes(page, "消息队列（处理后）")

    # 6. 被拒收 now lists only the message still refused.
    _show_status(page, "被拒收")
    expect(_rows(page)).to_have_count(1)
    expect(_row(page, f"处方 {first}")).to_have_count(1)

    # 7. 操作日志: the resolve (and both retries) by the superadmin, in words; the note in the row's detail.
    _open_system_page(page, "operation-log", "operation-log-table")
    log = page.get_by_test_id("operation-log-table").locator(".el-table__body tr")
    resolve = log.filter(has=page.get_by_test_id("row-action").filter(has_text="标记已处理"))
    expect(resolve).to_have_count(1)
    expect(resolve.get_by_test_id("row-entity")).to_have_text("消息")
    expect(resolve).to_contain_text("门诊")
    expect(resolve).to_contain_text(platform.admin_username)
    expect(log.filter(has=page.get_by_test_id("row-action").filter(has_text="重发消息"))).to_have_count(2)
    assert_no_codes(page, "操作日志")
    resolve.locator(".el-table__expand-icon").click()
    expect(page.get_by_test_id("json-diff").locator("[data-changed='resolution_note']")).to_contain_text(NOTE)

"""tms against a real oms over HTTP: it catches up after oms was down, shows why it waited, and a
restarted tms goes on from its cursor without counting anything twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.oms.outpatient_desk import Desk, hospital_today
from tests.support.databases import fresh_databases
from tests.support.servers import ThreadServer
from tests.support.stack import Stack
from tms.main import create_app


@pytest.fixture(params=["sqlite", "mariadb"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Stack, dict[str, str]]]:
    with fresh_databases(request.param, ["oms", "dms", "pms", "tms"], tmp_path) as urls, Stack(tmp_path, urls) as s:
        yield s, urls


def tms_server(stack: Stack) -> ThreadServer:
    settings = stack.settings("tms", feed_sources=["oms"], feed_poll_seconds=0.1, feed_page_size=2)
    return ThreadServer(create_app(settings), stack.ports["tms"])


def feeds(stack: Stack) -> dict[str, Any]:
    answer = httpx2.get(f"{stack.url('tms')}/api/tms/feeds", headers=stack.bearer(["tms:feed:read"]), timeout=10)
    assert answer.status_code == 200, answer.text
    return {row["source"]: row for row in answer.json()}


def wait_until(check: Any, what: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


def today_report(stack: Stack) -> dict[str, Any]:
    answer = httpx2.get(f"{stack.url('tms')}/api/tms/reports/outpatient-monthly",
                        params={"date_from": hospital_today().isoformat(), "date_to": hospital_today().isoformat()},
                        headers=stack.bearer(["tms:report:read"]), timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["total"])


def test_tms_catches_up_after_oms_was_down_and_resumes_after_a_restart(stack: tuple[Stack, dict[str, str]]) -> None:
    s, urls = stack
    s.start("dbs", demo_data=True)
    s.start("gateway")
    s.start("dms")
    with tms_server(s):
        # oms is not running yet: the page says why nothing moves, in words.
        down = wait_until(lambda: feeds(s)["oms"]["error"], "the failure to be shown")
        assert down == "门诊服务暂时无法访问"
        s.start("oms")
        desk = Desk(s, urls)
        try:
            # The gateway found oms missing a moment ago and waits a little before trying it again.
            wait_until(lambda: desk.call("GET", "/api/oms/patients").status_code == 200, "the gateway to reach oms")
            schedule = desk.schedule("D001", quota=20)
            fees = Decimal(0)
            for n in range(3):
                visit = desk.register(desk.patient(f"统计{n}")["id"], schedule["id"])
                assert visit.status_code == 201, visit.text
                fees += Decimal(visit.json()["fee"])
            # Page size 2: several pages to catch up; then nothing behind and the error cleared.
            state = wait_until(lambda: (f := feeds(s)["oms"])["behind"] == 0 and f["after"] >= 6 and f, "catching up")
            assert state["error"] is None and state["current_at"] is not None
            first = today_report(s)
            assert (first["visits"], Decimal(first["registration"])) == (3, fees)
        finally:
            desk.close()
    # tms stopped while oms works on, then started again on the same database.
    desk = Desk(s, urls)
    try:
        visit = desk.register(desk.patient("统计3")["id"], schedule["id"])
        assert visit.status_code == 201, visit.text
        fees += Decimal(visit.json()["fee"])
        head = desk.scalar("oms", "SELECT MAX(seq) FROM change_feed")
    finally:
        desk.close()
    with tms_server(s):
        wait_until(lambda: feeds(s)["oms"]["after"] == head, "the restarted tms to catch up")
        again = today_report(s)
        assert (again["visits"], Decimal(again["registration"])) == (4, fees)
        assert Decimal(again["revenue"]) == fees

"""The demo roster: loaded from dbs's demo doctors in the background; a missing dbs never blocks a start."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx2

from dms.calendar import monday_of
from shared.clock import local_today
from tests.support.stack import Stack


def _roster(stack: Stack, week: dict[str, str]) -> list[dict]:
    answer = httpx2.get(f"{stack.url('dms')}/api/dms/schedules", params=week, headers=stack.bearer(), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_demo_roster_comes_from_the_dbs_doctors(tmp_path: Path) -> None:
    monday = monday_of(local_today("Asia/Shanghai"))
    weeks = {"date_from": str(monday), "date_to": str(monday + dt.timedelta(days=13))}
    with Stack(tmp_path) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("dms", demo_data=True)
        deadline = time.monotonic() + 30
        while not (items := _roster(stack, weeks)) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(items) == 12 * 14 * 2
        assert {(s["quota"], s["booked"], s["status"]) for s in items} == {(20, 0, "open")}
        doctors = {s["doctor_name"]: s for s in items}
        assert len(doctors) == 12
        assert (doctors["王建国"]["registration_type_name"], doctors["王建国"]["department_name"]) == (
            "主任专家号",
            "内科",
        )
        assert {s["shift"] for s in items} == {"morning", "afternoon"}


def test_a_start_without_dbs_does_not_wait(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        started = time.monotonic()
        stack.start("dms", demo_data=True)  # neither dbs nor the gateway runs
        assert time.monotonic() - started < 5
        # Without the gateway no user token can be checked against its revocations: refused, not waved
        # through, and not ready (so not UP in a registry) until the gateway answers.
        ready = httpx2.get(f"{stack.url('dms')}/health/ready", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"] == {"database": "UP", "revocations": "DOWN"}
        refused = httpx2.get(f"{stack.url('dms')}/api/dms/schedules", headers=stack.bearer(["*"]), timeout=10)
        assert refused.status_code == 503 and refused.json()["code"] == "revocation_unavailable"
        stack.start("gateway")
        assert _roster(stack, {}) == []
        assert httpx2.get(f"{stack.url('dms')}/health/ready", timeout=5).status_code == 200

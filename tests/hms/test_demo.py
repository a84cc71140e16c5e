"""The demo wards: a newcomer's `hamp up` has beds to admit into, one ward per inpatient department."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2

from tests.support.stack import Stack


def test_demo_wards_have_free_beds_for_every_inpatient_department(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        stack.start("dbs", demo_data=True)
        stack.start("gateway")
        stack.start("hms", demo_data=True)
        board: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while not board and time.monotonic() < deadline:
            answer = httpx2.get(f"{stack.url('hms')}/api/hms/bed-board", headers=stack.bearer(), timeout=10)
            assert answer.status_code == 200, answer.text
            board = answer.json()
            time.sleep(0.3)
        departments = httpx2.get(
            f"{stack.url('dbs')}/api/dbs/departments", params={"size": 100}, headers=stack.bearer(), timeout=10
        ).json()["items"]
        inpatient = {d["id"] for d in departments if d["kind"] == "inpatient"}
        assert {w["department_id"] for w in board} == inpatient
        for ward in board:
            assert ward["counts"] == {"free": 10, "occupied": 0, "cleaning": 0, "closed": 0}
            assert [b["number"] for b in ward["beds"]] == [str(n) for n in range(1, 11)]  # type: ignore[attr-defined]

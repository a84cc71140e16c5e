"""Each operation-log row names what it is about (gateway/system/logs/subjects.py): a number, a
name, a user name, a doctor's shift in words, never `#id` (docs/console.md)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.system.logs.subjects import subject
from shared.context import language_var
from tests.security.conftest import GatewayFactory, InProcessGateway, gateway_factory, unique  # noqa: F401

SCHEDULE = {"id": 336, "doctor_id": 4, "doctor_name": "李医生", "date": "2026-11-28", "shift": "afternoon", "quota": 5}


@pytest.mark.parametrize(
    ("entity", "before", "after", "expected"),
    [
        ("schedule", None, SCHEDULE, "李医生 2026-11-28 下午"),
        ("schedule", SCHEDULE, None, "李医生 2026-11-28 下午"),  # a delete keeps only `before`
        (
            "leave",
            None,
            {
                "doctor_name": "王医生",
                "start_date": "2026-12-01",
                "start_shift": "morning",
                "end_date": "2026-12-02",
                "end_shift": "afternoon",
            },
            "王医生 2026-12-01 上午 – 2026-12-02 下午",
        ),
        ("visit", None, {"id": 7, "number": "MZ20261128-3", "patient_name": "张*"}, "MZ20261128-3 张*"),
        ("payment", None, {"id": 7, "number": "SF20261128-0007", "patient_name": "张三"}, "SF20261128-0007 张三"),
        (
            "order",
            {"number": "CF1"},
            {"id": 9, "number": "CF20261128-0001", "visit_number": "MZ1"},
            "CF20261128-0001 MZ1",
        ),
        (
            "dispensing_order",
            None,
            {"id": 2, "number": "FY1", "order_number": "CF1", "patient_name": "张三"},
            "CF1 张三",
        ),
        ("exam", None, {"line_id": 3, "name": "血常规", "patient_name": "张三"}, "血常规 张三"),
        ("user", None, {"id": 5, "username": "lisi", "real_name": "李四"}, "李四（lisi）"),
        ("role", None, {"id": 2, "name": "门诊管理员"}, "门诊管理员"),
        ("department", None, {"id": 1, "code": "K01", "name": "内科"}, "内科"),  # master data: the name
        ("settlement", None, {"id": 1, "number": "JB20261128-01", "name": "x"}, "JB20261128-01"),  # a later entity
        ("outbox", None, {"state": "pending"}, ""),  # nothing names it: no subject, never an id
        ("user", None, {"enabled": True}, ""),
    ],
)
def test_subject_from_snapshot(entity: str, before: dict | None, after: dict | None, expected: str) -> None:
    assert subject(entity, before, after) == expected


def test_the_shift_follows_the_readers_language() -> None:
    token = language_var.set("en")
    try:
        assert subject("schedule", None, SCHEDULE) == "李医生 2026-11-28 afternoon"
    finally:
        language_var.reset(token)


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:  # noqa: F811
    return gateway_factory(api_burst=1000)


def _rows(gw: InProcessGateway) -> list[dict[str, Any]]:
    answer = gw.as_admin("GET", "/api/system/operation-log", params={"module": "system", "size": 50})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_every_row_of_the_log_carries_its_subject(gw: InProcessGateway) -> None:
    role = gw.create_role(["system:user:read"])
    name = unique("lisi")
    created = gw.as_admin(
        "POST", "/api/system/users", json={"username": name, "real_name": "李四", "role_ids": [role["id"]]}
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["user"]["id"]
    # The forced logout's snapshot holds only a count: the name comes from the user table.
    forced = gw.as_admin("POST", f"/api/system/users/{user_id}/force-logout")
    assert forced.status_code in (200, 204), forced.text

    rows = {(r["action"], r["entity"], r["entity_id"]): r for r in _rows(gw)}
    assert rows[("create", "role", str(role["id"]))]["subject"] == role["name"]
    assert rows[("create", "user", str(user_id))]["subject"] == f"李四（{name}）"
    assert rows[("force_logout", "user", str(user_id))]["subject"] == f"李四（{name}）"

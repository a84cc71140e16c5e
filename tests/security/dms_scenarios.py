"""dms for the security suite: its routes, and an audit scenario for every write route.

For the lead to wire into tests/security (not collected by itself: no test functions here).

- `dms_routes()` is dms's OpenAPI walked like `dbs_routes()`.
- `AUDIT_SCENARIOS` maps every dms write route ("POST /api/dms/schedules", ...) to a scenario:
  `prepare(dms)` makes what the route acts on and answers the path to call and its body;
  the scenario names the audit row expected (action, entity, entity id from the answer).
- `check_write_is_audited(dms, route)` runs one: a refused call (422/404) leaves no row, the
  accepted call leaves exactly the expected rows with the caller, route and request id.

`dms` is tests.dms.conftest.Dms (a real dms next to dbs and the gateway; fixtures `stack`
and `dms` of tests/dms/conftest.py, parametrised on SQLite and MariaDB). tests/dms runs
every scenario (test_audit_scenarios.py), so they stay true.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dms.main
from dms.settings import DmsSettings
from tests.security.conftest import ISOLATED, MISSING_ID, Route, routes_of


def dms_routes() -> list[Route]:
    return routes_of(dms.main.create_app(DmsSettings(**ISOLATED)).openapi())


# (path to call, body): what the accepted call is
Call = tuple[str, dict[str, Any] | None]


@dataclass(frozen=True)
class Scenario:
    action: str
    entity: str
    prepare: Callable[[Any], Call]
    # A call of the same route that must be refused (422 or 404) and write nothing.
    refused: Callable[[Any], Call]
    # The audit row's entity_id, from the accepted answer's JSON (None for 204).
    entity_id: Callable[[Any, str], str]
    # How many audit rows the accepted call writes (copy-week: one per schedule created).
    rows: int = 1


def _key() -> str:
    return f"sec-{uuid.uuid4().hex[:12]}"


def _schedule_body(api: Any, doctor_id: int = 9) -> dict[str, Any]:
    return {
        "doctor_id": doctor_id,
        "date": str(api.fresh_day()),
        "shift": "morning",
        "registration_type_id": 1,
        "quota": 5,
    }


def _booked(api: Any) -> str:
    schedule = api.schedule(doctor_id=9, quota=5)
    key = _key()
    assert api.book(schedule["id"], key).status_code == 201
    return key


def _leave_body(api: Any) -> dict[str, Any]:
    day = str(api.fresh_day())
    return {
        "doctor_id": 9,
        "start_date": day,
        "start_shift": "morning",
        "end_date": day,
        "end_shift": "afternoon",
        "reason": "安全测试",
    }


def _copy_week(api: Any) -> Call:
    source = api.fresh_monday()
    api.schedule(doctor_id=9, day=source)
    return "schedules/copy-week", {"from_monday": str(source), "to_monday": str(source + dt.timedelta(weeks=1))}


def _leave_to_cancel(api: Any) -> Call:
    answer = api.post("leaves", _leave_body(api))
    assert answer.status_code == 201, answer.text
    return f"leaves/{answer.json()['leave']['id']}/cancel", None


AUDIT_SCENARIOS: dict[str, Scenario] = {
    "POST /api/dms/schedules": Scenario(
        "create",
        "schedule",
        prepare=lambda api: ("schedules", _schedule_body(api)),
        refused=lambda api: ("schedules", {**_schedule_body(api), "doctor_id": int(MISSING_ID)}),
        entity_id=lambda body, _: str(body["id"]),
    ),
    "PUT /api/dms/schedules/{schedule_id}": Scenario(
        "update",
        "schedule",
        prepare=lambda api: (f"schedules/{api.schedule(doctor_id=9)['id']}", {"registration_type_id": 2, "quota": 7}),
        refused=lambda api: (f"schedules/{MISSING_ID}", {"registration_type_id": 2, "quota": 7}),
        entity_id=lambda body, _: str(body["id"]),
    ),
    "DELETE /api/dms/schedules/{schedule_id}": Scenario(
        "delete",
        "schedule",
        prepare=lambda api: (f"schedules/{api.schedule(doctor_id=9)['id']}", None),
        refused=lambda api: (f"schedules/{MISSING_ID}", None),
        entity_id=lambda _, path: path.rsplit("/", 1)[1],
    ),
    "POST /api/dms/schedules/copy-week": Scenario(
        "create",
        "schedule",
        prepare=_copy_week,
        refused=lambda api: ("schedules/copy-week", {"from_monday": "2030-01-02", "to_monday": "2030-01-08"}),
        entity_id=lambda body, _: "",  # the new schedules' ids are not in the answer; checked by count
    ),
    "POST /api/dms/bookings": Scenario(
        "create",
        "booking",
        prepare=lambda api: ("bookings", {"schedule_id": api.schedule(doctor_id=9)["id"]}),
        refused=lambda api: ("bookings", {"schedule_id": int(MISSING_ID)}),
        entity_id=lambda body, _: body["key"],
    ),
    "POST /api/dms/bookings/{key}/release": Scenario(
        "release",
        "booking",
        prepare=lambda api: (f"bookings/{_booked(api)}/release", None),
        refused=lambda api: (f"bookings/{_key()}/release", None),
        entity_id=lambda body, _: body["key"],
    ),
    "POST /api/dms/leaves": Scenario(
        "create",
        "leave",
        prepare=lambda api: ("leaves", _leave_body(api)),
        refused=lambda api: ("leaves", {**_leave_body(api), "doctor_id": int(MISSING_ID)}),
        entity_id=lambda body, _: str(body["leave"]["id"]),
    ),
    "POST /api/dms/leaves/{leave_id}/cancel": Scenario(
        "cancel",
        "leave",
        prepare=_leave_to_cancel,
        refused=lambda api: (f"leaves/{MISSING_ID}/cancel", None),
        entity_id=lambda body, _: str(body["leave"]["id"]),
    ),
}


def check_write_is_audited(api: Any, route: Route, actor_id: int = 42, actor: str = "auditor") -> None:
    scenario = AUDIT_SCENARIOS.get(str(route))
    assert scenario is not None, f"no audit scenario for {route}: add one to tests/security/dms_scenarios.py"
    assert route.permission is not None
    token = api.stack.token([route.permission], user_id=actor_id, username=actor)
    headers = {"Authorization": f"Bearer {token}"}

    def call(path: str, body: dict[str, Any] | None) -> Any:
        # A fresh key each call: routes that key their writes by it (a booking) need one, the others ignore it.
        keyed = {**headers, "Idempotency-Key": _key()}
        return api.client.request(route.method, f"/api/dms/{path}", headers=keyed, json=body)

    refused_path, refused_body = scenario.refused(api)
    path, body = scenario.prepare(api)
    last = api.last_audit_id()
    refused = call(refused_path, refused_body)
    assert refused.status_code in (404, 422), refused.text
    assert api.audit_rows(last) == []

    answer = call(path, body)
    assert answer.status_code in (200, 201, 204), answer.text
    rows = api.audit_rows(last)
    assert len(rows) == scenario.rows, rows
    for row in rows:
        assert (row["actor"], row["actor_id"], row["action"], row["entity"]) == (
            actor,
            actor_id,
            scenario.action,
            scenario.entity,
        )
        assert row["request_id"] == answer.headers["x-request-id"]
        assert row["route"] == f"{route.method} {answer.request.url.path}"
    expected_id = scenario.entity_id(answer.json() if answer.content else None, path)
    if expected_id:
        assert rows[0]["entity_id"] == expected_id
    if scenario.action in ("create",):
        assert rows[0]["before"] is None and rows[0]["after"] is not None
    elif scenario.action == "delete":
        assert rows[0]["before"] is not None and rows[0]["after"] is None
    else:
        assert rows[0]["before"] is not None and rows[0]["after"] is not None

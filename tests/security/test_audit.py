"""The operation log: one row per successful write, with the actor, the action, the entity, the
request id and before/after; none for a failed write; merged across services at the gateway.

Every write route of dbs (from its OpenAPI, made valid with tests/dbs/resources.py) and of the
gateway's own API is walked: a new write route without a scenario here fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from jose import jwt
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from dbs.db import audit_log as dbs_audit_log
from shared.audit import SECRET_KEYS, audit_table, record
from tests.dbs import resources
from tests.dbs.conftest import Api
from tests.security.conftest import (
    MISSING_ID,
    Gateway,
    GatewayFactory,
    InProcessGateway,
    Live,
    Minter,
    Route,
    User,
    bearer,
    dbs_routes,
    gateway_routes,
    read_audit,
    unique,
)
from tests.security.pms_scenarios import pms_api, test_every_pms_write_is_audited  # noqa: F401
from tests.security.sms_scenarios import sms_api, test_every_sms_write_is_audited  # noqa: F401

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DBS_WRITES = [r for r in dbs_routes() if r.method in WRITE_METHODS]
GATEWAY_WRITES = [r for r in gateway_routes() if r.method in WRITE_METHODS]
# Gateway writes that are not operations on records: logins and sessions of one's own, kept in the login log.
# A service trading its secret for a token changes no record either.
NOT_AUDITED = {
    "POST /api/auth/login",
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "POST /api/auth/service-token",
    # Written to the login log instead, like the password step.
    "POST /api/auth/login/second-factor",
    # A pending secret, nothing in force until the confirmation, which is audited.
    "POST /api/auth/second-factor/enrolment",
    # A reader's own read marks (a notice's receipt, a notification read): kept in their own
    # tables (notice_reads, notification_reads), who and when, not an administrator's change.
    "POST /api/system/notices/inbox/{notice_id}/read",
    "POST /api/system/notifications/read-all",
    "POST /api/system/notifications/{notification_id}/read",
}
IGNORED = {"updated_at", "enabled"}
ACTOR_ID, ACTOR = 42, "auditor"


def _tag() -> str:
    return unique("a").split("_")[1]


def _assert_no_secrets(row: dict[str, Any], *values: str) -> None:
    for side in (row["before"], row["after"]):
        for key, value in (side or {}).items():
            assert key not in SECRET_KEYS or value == "***", f"{key} stored in the audit log"
    for value in values:
        assert value not in row["raw"], "a secret value is in the audit log"


def _assert_row(row: dict[str, Any], answer: Any, *, actor: str, actor_id: int, action: str, entity: str) -> None:
    assert (row["actor"], row["actor_id"], row["action"], row["entity"]) == (actor, actor_id, action, entity)
    assert row["request_id"] == answer.headers["x-request-id"]
    assert row["route"] == f"{answer.request.method} {answer.request.url.path}"


def _subset(expected: dict[str, Any], actual: dict[str, Any] | None) -> None:
    assert actual is not None
    assert {k: actual.get(k) for k in expected} == expected


# --- dbs: every write route ------------------------------------------------------------------


def _action(route: Route) -> tuple[str, str]:
    """(resource path, action) of a dbs write route."""
    parts = route.path.removeprefix("/api/dbs/").split("/")
    match route.method, parts:
        case "POST", [path]:
            return path, "create"
        case "PUT", [path, "{record_id}"]:
            return path, "update"
        case "DELETE", [path, "{record_id}"]:
            return path, "delete"
        case "POST", [path, "{record_id}", ("disable" | "enable") as action]:
            return path, action
    raise AssertionError(f"no audit scenario for {route}: add one to tests/security/test_audit.py")


@pytest.mark.parametrize("route", DBS_WRITES, ids=str)
def test_every_dbs_write_is_audited(dbs_api: Api, mint: Minter, route: Route) -> None:
    path, action = _action(route)
    kind = resources.BY_PATH.get(path)
    assert kind is not None, f"tests/dbs/resources.py has no Kind for {path}"
    token = mint([f"dbs:{kind.key}:write", f"dbs:{kind.key}:read"], user_id=ACTOR_ID, username=ACTOR)
    payload = kind.build(dbs_api, _tag())
    expected = kind.expected(payload)

    def call(url: str, body: dict | None = None) -> Any:
        return dbs_api.client.request(route.method, url, headers=bearer(token), json=body)

    def new_rows(last: int) -> list[dict[str, Any]]:
        return [r for r in dbs_api.audit_rows() if r["id"] > last]

    def last_id() -> int:
        rows = dbs_api.audit_rows()
        return rows[-1]["id"] if rows else 0

    if action == "create":
        last = last_id()
        assert dbs_api.post(path, {}, token=token).status_code == 422
        assert new_rows(last) == []
        answer = dbs_api.post(path, payload, token=token)
        assert answer.status_code == 201, answer.text
        record_id = answer.json()["id"]
    else:
        record_id = dbs_api.create(path, payload)["id"]
        if action == "enable":
            assert dbs_api.post(f"{path}/{record_id}/disable").status_code == 200
        last = last_id()
        body = {**payload, **kind.edit} if action == "update" else None
        missing = call(route.url(MISSING_ID), body)
        assert missing.status_code == 404, missing.text
        if action == "update":
            invalid = dbs_api.put(f"{path}/{record_id}", {**payload, kind.required[0]: None}, token=token)
            assert invalid.status_code == 422
        assert new_rows(last) == []
        answer = call(route.url(str(record_id)), body)
        assert answer.status_code in (200, 204), answer.text

    (row,) = new_rows(last)
    _assert_row(row, answer, actor=ACTOR, actor_id=ACTOR_ID, action=action, entity=kind.key)
    assert row["entity_id"] == str(record_id)
    _assert_no_secrets(row)
    before, after = row["before"], row["after"]
    if action == "create":
        assert before is None
        _subset({**expected, "id": record_id, "enabled": True}, after)
    elif action == "update":
        _subset({**expected, "id": record_id}, before)
        _subset(kind.expected({**payload, **kind.edit}), after)
        assert {k for k in after if after[k] != before[k]} - IGNORED == {
            k for k in kind.edit if kind.expected(kind.edit)[k] != expected.get(k)
        }
    elif action == "delete":
        _subset({**expected, "id": record_id}, before)
        assert after is None
        assert dbs_api.get(f"{path}/{record_id}").status_code == 404
    else:
        _subset({**expected, "enabled": action == "disable"}, before)
        _subset({**expected, "enabled": action == "enable"}, after)
        assert {k for k in after if after[k] != before[k]} - {"updated_at"} == {"enabled"}


def test_the_callers_request_id_is_kept(dbs_api: Api, mint: Minter) -> None:
    answer = dbs_api.post(
        "units", {"name": f"支{_tag()}"}, token=mint(["dbs:unit:write"]), headers={"X-Request-ID": "req-from-caller-1"}
    )
    assert answer.status_code == 201
    assert answer.headers["x-request-id"] == "req-from-caller-1"
    assert dbs_api.audit_rows()[-1]["request_id"] == "req-from-caller-1"


def test_refused_writes_leave_no_row(dbs_api: Api, mint: Minter) -> None:
    dept = dbs_api.create("departments", resources.department(dbs_api, _tag()))
    doctor = dbs_api.create("doctors", {**resources.doctor(dbs_api, _tag()), "department_id": dept["id"]})
    last = dbs_api.audit_rows()[-1]["id"]
    writer = mint(["dbs:department:write", "dbs:doctor:write"])
    duplicate = {**resources.department(dbs_api, _tag()), "code": dept["code"]}
    assert dbs_api.post("departments", duplicate, token=writer).status_code == 409
    assert dbs_api.delete(f"departments/{dept['id']}", token=writer).status_code == 409  # a doctor is in it
    assert dbs_api.delete(f"doctors/{doctor['id']}", token=mint(["dbs:doctor:read"])).status_code == 403
    assert dbs_api.delete(f"doctors/{doctor['id']}", token=None).status_code == 401
    assert [r for r in dbs_api.audit_rows() if r["id"] > last] == []


def test_secret_keys_are_never_stored() -> None:
    """No write audits a password today; should one ever pass a secret, it is stored as ***."""

    async def store() -> Any:
        metadata = MetaData()
        table = audit_table(metadata)
        engine = create_async_engine("sqlite+aiosqlite://")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            async with AsyncSession(engine) as session:
                secrets = {key: f"secret-{key}" for key in SECRET_KEYS}
                await record(session, table, action="update", entity="x", entity_id=1, before=secrets, after=secrets)
                await session.commit()
                return (await session.execute(select(table))).one()
        finally:
            await engine.dispose()

    row = asyncio.run(store())
    for side in (row.before, row.after):
        assert "secret-" not in side
        assert json.loads(side) == dict.fromkeys(SECRET_KEYS, "***")


# --- the gateway's own write routes ---------------------------------------------------------


@dataclass
class Write:
    call: Callable[[], Any]
    action: str
    entity: str
    entity_id: Callable[[Any], str]
    check: Callable[[dict[str, Any], Any], None]
    secrets: tuple[str, ...] = ()


def _user(gw: InProcessGateway, **fields: Any) -> User:
    return gw.ready_user(["system:user:read"], **fields)


def _create_user(gw: InProcessGateway) -> Write:
    role = gw.create_role(["system:user:read"])
    username = unique("new")
    body = {"username": username, "real_name": "新同事", "phone": "13912345678", "role_ids": [role["id"]]}

    def check(row: dict[str, Any], response: Any) -> None:
        assert row["before"] is None
        _subset(
            {
                "username": username,
                "real_name": "新同事",
                "phone": "13912345678",
                "status": "active",
                "must_change_password": True,
                "roles": [{"id": role["id"], "name": role["name"]}],
            },
            row["after"],
        )
        _assert_no_secrets(row, response.json()["initial_password"])

    return Write(
        lambda: gw.as_admin("POST", "/api/system/users", json=body),
        "create",
        "user",
        lambda r: str(r.json()["user"]["id"]),
        check,
    )


def _update_user(gw: InProcessGateway) -> Write:
    user = _user(gw)
    body = {"real_name": "改名了", "phone": "13700001111", "department_id": 4, "role_ids": []}

    def check(row: dict[str, Any], _: Any) -> None:
        _subset({"real_name": "测试用户", "phone": None, "department_id": None}, row["before"])
        _subset({"real_name": "改名了", "phone": "13700001111", "department_id": 4, "roles": []}, row["after"])
        assert len(row["before"]["roles"]) == 1

    return Write(
        lambda: gw.as_admin("PUT", f"/api/system/users/{user.id}", json=body), "update", "user", _id(user), check
    )


def _id(user: User) -> Callable[[Any], str]:
    return lambda _: str(user.id)


def _status(gw: InProcessGateway, action: str) -> Write:
    user = _user(gw)
    if action == "enable":
        assert gw.as_admin("POST", f"/api/system/users/{user.id}/disable").status_code == 200
    before, after = ("active", "disabled") if action == "disable" else ("disabled", "active")

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["status"], row["after"]["status"]) == (before, after)
        assert {k for k in row["after"] if row["after"][k] != row["before"][k]} == {"status"}

    return Write(lambda: gw.as_admin("POST", f"/api/system/users/{user.id}/{action}"), action, "user", _id(user), check)


def _unlock(gw: InProcessGateway) -> Write:
    user = _user(gw)
    for _ in range(gw.settings.lockout_failures):
        gw.login(user.username, "Wrong-pw-123")
    assert gw.as_admin("GET", f"/api/system/users/{user.id}").json()["locked"] is True

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["locked"], row["after"]["locked"]) == (True, False)

    return Write(lambda: gw.as_admin("POST", f"/api/system/users/{user.id}/unlock"), "unlock", "user", _id(user), check)


def _reset_password(gw: InProcessGateway) -> Write:
    user = _user(gw)

    def check(row: dict[str, Any], response: Any) -> None:
        assert (row["before"]["must_change_password"], row["after"]["must_change_password"]) == (False, True)
        _assert_no_secrets(row, response.json()["initial_password"], user.password)

    return Write(
        lambda: gw.as_admin("POST", f"/api/system/users/{user.id}/reset-password"),
        "reset_password",
        "user",
        _id(user),
        check,
    )


def _change_own_password(gw: InProcessGateway) -> Write:
    """The superadmin changes its own password; the module's admin session goes on with it."""
    old, new = gw.admin.password, f"Own-{_tag()}-pass-7"

    def call() -> Any:
        answer = gw.change_password(gw.admin.access, old, new)
        if answer.status_code == 200:
            gw.admin.password, gw.admin.tokens = new, answer.json()
        return answer

    def check(row: dict[str, Any], _: Any) -> None:
        assert (row["before"]["must_change_password"], row["after"]["must_change_password"]) == (False, False)
        _assert_no_secrets(row, old, new)
        assert "argon2" not in row["raw"], "a password hash is in the audit log"

    return Write(call, "change_password", "user", lambda _: str(gw.admin.id), check)


def _force_logout(gw: InProcessGateway) -> Write:
    user = _user(gw)
    gw.login_user(user.username, user.password)

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"] is None and row["after"] == {"sessions_ended": 2}

    return Write(
        lambda: gw.as_admin("POST", f"/api/system/users/{user.id}/force-logout"),
        "force_logout",
        "user",
        _id(user),
        check,
    )


def _create_role(gw: InProcessGateway) -> Write:
    body = {
        "name": unique("role"),
        "permissions": ["system:user:read"],
        "data_scope": "departments",
        "department_ids": [2],
    }

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"] is None
        _subset({**body, "user_count": 0}, row["after"])

    return Write(
        lambda: gw.as_admin("POST", "/api/system/roles", json=body),
        "create",
        "role",
        lambda r: str(r.json()["id"]),
        check,
    )


def _update_role(gw: InProcessGateway) -> Write:
    role = gw.create_role(["system:user:read"])
    body = {"name": role["name"], "permissions": ["system:role:read", "system:user:read"], "data_scope": "own"}

    def check(row: dict[str, Any], _: Any) -> None:
        _subset({"permissions": ["system:user:read"], "data_scope": "all"}, row["before"])
        _subset({"permissions": ["system:role:read", "system:user:read"], "data_scope": "own"}, row["after"])

    return Write(
        lambda: gw.as_admin("PUT", f"/api/system/roles/{role['id']}", json=body),
        "update",
        "role",
        lambda _: str(role["id"]),
        check,
    )


def _delete_role(gw: InProcessGateway) -> Write:
    role = gw.create_role(["system:login_log:read"])

    def check(row: dict[str, Any], _: Any) -> None:
        _subset({"id": role["id"], "name": role["name"], "permissions": ["system:login_log:read"]}, row["before"])
        assert row["after"] is None
        assert gw.as_admin("GET", f"/api/system/roles/{role['id']}").status_code == 404

    return Write(
        lambda: gw.as_admin("DELETE", f"/api/system/roles/{role['id']}"),
        "delete",
        "role",
        lambda _: str(role["id"]),
        check,
    )


def _end_session(gw: InProcessGateway) -> Write:
    user = _user(gw)
    session_id = jwt.get_unverified_claims(user.access)["sid"]

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"] is None and row["after"] == {"user_id": user.id}

    return Write(
        lambda: gw.as_admin("DELETE", f"/api/system/sessions/{session_id}"),
        "force_logout",
        "session",
        lambda _: session_id,
        check,
    )


def _totp(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _start_enrolment(gw: InProcessGateway, token: str) -> str:
    answer = gw.request("POST", "/api/auth/second-factor/enrolment", token)
    assert answer.status_code == 200, answer.text
    return answer.json()["secret"]


def _admin_disables(gw: InProcessGateway, secret: str) -> Any:
    # The confirming code's step is spent: the next one is within the accepted drift.
    body = {"password": gw.admin.password, "code": _totp(secret, 1)}
    return gw.as_admin("POST", "/api/auth/second-factor/disable", json=body)


def _enable_second_factor(gw: InProcessGateway) -> Write:
    """The superadmin turns it on for itself, and off again afterwards (the other scenarios log in
    with the password alone)."""
    secret = _start_enrolment(gw, gw.admin.access)

    def call() -> Any:
        answer = gw.as_admin("POST", "/api/auth/second-factor/confirm", json={"code": _totp(secret)})
        if answer.status_code == 200:
            gw.admin.tokens = answer.json()["tokens"]
        return answer

    def check(row: dict[str, Any], answer: Any) -> None:
        assert row["after"] == {"enabled": True}
        _assert_no_secrets(row, secret, *answer.json()["recovery_codes"])
        assert _admin_disables(gw, secret).status_code == 204

    return Write(call, "second_factor_enable", "user", lambda _: str(gw.admin.id), check)


def _disable_second_factor(gw: InProcessGateway) -> Write:
    secret = _start_enrolment(gw, gw.admin.access)
    confirmed = gw.as_admin("POST", "/api/auth/second-factor/confirm", json={"code": _totp(secret)})
    assert confirmed.status_code == 200, confirmed.text
    gw.admin.tokens = confirmed.json()["tokens"]

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["after"] == {"enabled": False}
        _assert_no_secrets(row, secret)

    return Write(
        lambda: _admin_disables(gw, secret), "second_factor_disable", "user", lambda _: str(gw.admin.id), check
    )


def _reset_second_factor(gw: InProcessGateway) -> Write:
    user = _user(gw)
    secret = _start_enrolment(gw, user.access)
    confirmed = gw.request("POST", "/api/auth/second-factor/confirm", user.access, json={"code": _totp(secret)})
    assert confirmed.status_code == 200, confirmed.text

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"]["second_factor_enabled"] is True and row["after"]["second_factor_enabled"] is False
        _assert_no_secrets(row, secret)

    return Write(
        lambda: gw.as_admin("POST", f"/api/system/users/{user.id}/second-factor/reset"),
        "reset_second_factor",
        "user",
        _id(user),
        check,
    )


NOTICE = {"title": "停电通知", "body": "明日 8:00-9:00 门诊楼停电。", "audience": "chosen", "department_ids": [2]}


def _notice(gw: InProcessGateway, **changes: Any) -> dict[str, Any]:
    answer = gw.as_admin("POST", "/api/system/notices", json={**NOTICE, **changes})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _create_notice(gw: InProcessGateway) -> Write:
    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"] is None
        _subset({**NOTICE, "role_ids": [], "status": "draft"}, row["after"])

    return Write(
        lambda: gw.as_admin("POST", "/api/system/notices", json=NOTICE),
        "create",
        "notice",
        lambda r: str(r.json()["id"]),
        check,
    )


def _update_notice(gw: InProcessGateway) -> Write:
    notice = _notice(gw)
    body = {**NOTICE, "title": "停电通知（更正）"}

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"]["title"] == NOTICE["title"] and row["after"]["title"] == body["title"]

    return Write(
        lambda: gw.as_admin("PUT", f"/api/system/notices/{notice['id']}", json=body),
        "update",
        "notice",
        lambda _: str(notice["id"]),
        check,
    )


def _move_notice(gw: InProcessGateway, action: str, before: str, after: str) -> Write:
    notice = _notice(gw, publish=before == "published")

    def check(row: dict[str, Any], _: Any) -> None:
        assert row["before"] == {"status": before} and row["after"] == {"status": after}

    return Write(
        lambda: gw.as_admin("POST", f"/api/system/notices/{notice['id']}/{action}"),
        action,
        "notice",
        lambda _: str(notice["id"]),
        check,
    )


SCENARIOS: dict[str, Callable[[InProcessGateway], Write]] = {
    "POST /api/system/notices": _create_notice,
    "PUT /api/system/notices/{notice_id}": _update_notice,
    "POST /api/system/notices/{notice_id}/publish": lambda gw: _move_notice(gw, "publish", "draft", "published"),
    "POST /api/system/notices/{notice_id}/withdraw": lambda gw: _move_notice(gw, "withdraw", "published", "withdrawn"),
    "POST /api/system/users": _create_user,
    "PUT /api/system/users/{user_id}": _update_user,
    "POST /api/system/users/{user_id}/disable": lambda gw: _status(gw, "disable"),
    "POST /api/system/users/{user_id}/enable": lambda gw: _status(gw, "enable"),
    "POST /api/system/users/{user_id}/unlock": _unlock,
    "POST /api/system/users/{user_id}/reset-password": _reset_password,
    "POST /api/auth/password": _change_own_password,
    "POST /api/system/users/{user_id}/force-logout": _force_logout,
    "POST /api/system/roles": _create_role,
    "PUT /api/system/roles/{role_id}": _update_role,
    "DELETE /api/system/roles/{role_id}": _delete_role,
    "DELETE /api/system/sessions/{session_id}": _end_session,
    "POST /api/auth/second-factor/confirm": _enable_second_factor,
    "POST /api/auth/second-factor/disable": _disable_second_factor,
    "POST /api/system/users/{user_id}/second-factor/reset": _reset_second_factor,
}


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(lockout_failures=2, api_burst=1000)


AUDITED_GATEWAY_WRITES = [pytest.param(r, id=str(r)) for r in GATEWAY_WRITES if str(r) not in NOT_AUDITED]


@pytest.mark.parametrize("route", AUDITED_GATEWAY_WRITES)
def test_every_gateway_write_is_audited(gw: InProcessGateway, route: Route) -> None:
    scenario = SCENARIOS.get(str(route))
    assert scenario is not None, f"no audit scenario for {route}: add one to tests/security/test_audit.py"
    write = scenario(gw)
    last = gw.last_audit_id()
    answer = write.call()
    assert answer.status_code in (200, 201, 204), answer.text
    (row,) = gw.audit_rows(last)
    _assert_row(row, answer, actor="admin", actor_id=gw.admin.id, action=write.action, entity=write.entity)
    assert row["entity_id"] == write.entity_id(answer)
    _assert_no_secrets(row, gw.admin.password)
    write.check(row, answer)


def test_the_not_audited_gateway_writes_are_the_listed_ones() -> None:
    assert {str(r) for r in GATEWAY_WRITES} - set(SCENARIOS) == NOT_AUDITED


def test_refused_gateway_writes_leave_no_row(gw: InProcessGateway) -> None:
    user = _user(gw)
    held = gw.as_admin("GET", f"/api/system/users/{user.id}").json()["roles"][0]
    last = gw.last_audit_id()
    refusals = [
        ("POST", f"/api/system/users/{gw.admin.id}/disable", None, 409),  # the superadmin
        ("POST", "/api/system/users", {"username": user.username, "real_name": "重名"}, 409),
        (
            "POST",
            "/api/system/users",
            {"username": unique(), "real_name": "无角色", "role_ids": [int(MISSING_ID)]},
            422,
        ),
        ("PUT", f"/api/system/users/{MISSING_ID}", {"real_name": "无此人"}, 404),
        ("POST", f"/api/system/users/{MISSING_ID}/reset-password", None, 404),
        ("POST", "/api/system/roles", {"name": unique("role"), "permissions": ["system:nothing:read"]}, 422),
        ("PUT", f"/api/system/roles/{held['id']}", {"name": held["name"], "data_scope": "departments"}, 422),
        ("DELETE", f"/api/system/roles/{held['id']}", None, 409),  # a user holds it
        ("DELETE", f"/api/system/sessions/{MISSING_ID}", None, 404),
    ]
    for method, path, body, status in refusals:
        answer = gw.as_admin(method, path, json=body)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
    # Not permitted: refused before anything is written.
    assert gw.request("POST", f"/api/system/users/{user.id}/disable", user.access).status_code == 403
    assert gw.audit_rows(last) == []
    # The user of the refused create (with a missing role) was not kept either.
    assert gw.as_admin("GET", "/api/system/users", params={"q": "无角色"}).json()["total"] == 0


# --- merged at the gateway ------------------------------------------------------------------


@dataclass
class Logged:
    module: str
    request_id: str
    entity: str
    actor: str


def test_the_operation_log_merges_every_service_newest_first(live: Live, live_gateway: Gateway) -> None:
    gw = live_gateway
    editor = gw.ready_user(["dbs:department:write", "dbs:department:read"])
    writes: list[Logged] = []

    def write(token: str, method: str, path: str, body: dict, module: str, entity: str, actor: str) -> dict:
        answer = gw.request(method, path, token, json=body)
        assert answer.status_code in (200, 201), answer.text
        writes.append(Logged(module, answer.headers["x-request-id"], entity, actor))
        return answer.json()

    tag = _tag()
    dept = write(
        gw.admin.access,
        "POST",
        "/api/dbs/departments",
        {"code": f"L{tag}", "name": f"日志科{tag}", "kind": "outpatient"},
        "dbs",
        "department",
        "admin",
    )
    role_body = {"name": unique("role"), "permissions": ["dbs:unit:read"]}
    role = write(gw.admin.access, "POST", "/api/system/roles", role_body, "system", "role", "admin")
    write(
        editor.access,
        "PUT",
        f"/api/dbs/departments/{dept['id']}",
        {"code": f"L{tag}", "name": f"改名科{tag}", "kind": "inpatient"},
        "dbs",
        "department",
        editor.username,
    )
    write(
        gw.admin.access,
        "PUT",
        f"/api/system/roles/{role['id']}",
        {**role_body, "permissions": ["dbs:unit:read", "dbs:unit:write"]},
        "system",
        "role",
        "admin",
    )

    def log(**params: str) -> list[dict[str, Any]]:
        answer = gw.as_admin("GET", "/api/system/operation-log", params={"size": 100, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    items = log()
    newest = items[: len(writes)]
    assert [(i["module"], i["request_id"], i["entity"], i["actor"]) for i in newest] == [
        (w.module, w.request_id, w.entity, w.actor) for w in reversed(writes)
    ]
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    assert {"dbs", "system"} <= {i["module"] for i in items}
    # The rows are the services' own: dbs's row of the update, as dbs stored it.
    update = newest[1]
    assert (update["before"]["name"], update["after"]["name"]) == (f"日志科{tag}", f"改名科{tag}")
    (stored,) = [r for r in read_audit(live.dbs_engine, dbs_audit_log) if r["request_id"] == update["request_id"]]
    assert (stored["actor"], stored["actor_id"], stored["after"]) == (editor.username, editor.id, update["after"])

    ids = {w.request_id for w in writes}
    for module in ("dbs", "system"):
        rows = log(module=module)
        assert rows and {r["module"] for r in rows} == {module}
        assert {w.request_id for w in writes if w.module == module} <= {r["request_id"] for r in rows}
    departments = log(entity="department")
    assert departments and {r["entity"] for r in departments} == {"department"}
    # The editor's own rows: the update, and before it the change of their initial password.
    mine = log(user=editor.username)
    assert mine[0]["request_id"] == writes[2].request_id
    assert [(r["module"], r["action"]) for r in mine[1:]] == [("system", "change_password")]

    middle = newest[1]["at"]  # the editor's update
    since = {r["request_id"] for r in log(**{"from": middle})} & ids
    before = {r["request_id"] for r in log(to=middle)} & ids
    assert since == {writes[2].request_id, writes[3].request_id}
    assert before == {writes[0].request_id, writes[1].request_id}

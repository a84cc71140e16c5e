"""Nobody grants what they do not hold; nobody changes their own roles; 三员分立.

The assessor's finding: an administrator holding only `system:user:read/write` could PUT their
own account with a stronger role and get it, and then, holding `system:role:write`, edit that role
up to any permission. Each escalation path is tried here through the real gateway routes, and a
walk over every system route checks that none of them raises the caller's own grants.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import gateway.main
from gateway.system.roles.builtin import AUDIT_ADMIN, BUILTIN_ROLES, SECURITY_ADMIN, SYSTEM_ADMIN
from shared.auth import permission_granted
from shared.pii import PII_PERMISSION
from tests.security.conftest import (
    MISSING_ID,
    Gateway,
    GatewayFactory,
    InProcessGateway,
    User,
    gateway_routes,
    problem_code,
    unique,
)

USER_ADMIN = ["system:user:read", "system:user:write"]
ROLE_ADMIN = ["system:role:read", "system:role:write"]
STRONG = ["system:user:read", "system:user:write", "system:role:read", "system:role:write", "system:audit:read"]


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory()


def _grants(gw: Gateway, user: User) -> set[str]:
    """What the user holds now, by a fresh login (the token of a minute ago may be stale)."""
    return set(gw.login_user(user.username, user.password).tokens["user"]["permissions"])


def _builtin(gw: Gateway, key: str) -> dict:
    roles = gw.as_admin("GET", "/api/system/roles", params={"size": 100}).json()["items"]
    return next(r for r in roles if r["builtin"] == key)


def _holder(gw: Gateway, key: str) -> User:
    created, initial = gw.create_user([_builtin(gw, key)["id"]])
    return gw.first_login(created["username"], initial)


def _user_body(gw: Gateway, user_id: int, **changes: Any) -> dict:
    current = gw.as_admin("GET", f"/api/system/users/{user_id}").json()
    body = {
        "real_name": current["real_name"],
        "phone": current["phone"],
        "department_id": current["department_id"],
        "role_ids": [r["id"] for r in current["roles"]],
    }
    return {**body, **changes}


# --- the finding: a user administrator gives themselves a stronger role --------------------------


def test_user_admin_cannot_give_themselves_a_stronger_role(gw: InProcessGateway) -> None:
    admin = gw.ready_user(USER_ADMIN)
    strong = gw.create_role(STRONG)
    own_role = gw.as_admin("GET", f"/api/system/users/{admin.id}").json()["roles"][0]["id"]

    answer = gw.request(
        "PUT",
        f"/api/system/users/{admin.id}",
        admin.access,
        json=_user_body(gw, admin.id, role_ids=[own_role, strong["id"]]),
    )

    assert answer.status_code == 403 and problem_code(answer) == "own_roles", answer.text
    assert _grants(gw, admin) == set(USER_ADMIN)


def test_user_admin_cannot_give_anyone_a_role_beyond_their_own(gw: InProcessGateway) -> None:
    admin = gw.ready_user(USER_ADMIN)
    strong = gw.create_role(STRONG)
    weaker = gw.create_role(["system:user:read"])
    body = {"username": unique(), "real_name": "新用户", "role_ids": [strong["id"]]}

    refused = gw.request("POST", "/api/system/users", admin.access, json=body)
    assert refused.status_code == 403 and problem_code(refused) == "grant_beyond_own", refused.text
    assert refused.json()["errors"][0]["field"] == "role_ids"
    # Nothing half-written: the user was not created without the role.
    assert gw.as_admin("GET", "/api/system/users", params={"q": body["username"]}).json()["total"] == 0

    accepted = gw.request("POST", "/api/system/users", admin.access, json={**body, "role_ids": [weaker["id"]]})
    assert accepted.status_code == 201, accepted.text

    # An accomplice's account cannot be raised either.
    other = accepted.json()["user"]["id"]
    raised = gw.request(
        "PUT", f"/api/system/users/{other}", admin.access, json=_user_body(gw, other, role_ids=[strong["id"]])
    )
    assert raised.status_code == 403 and problem_code(raised) == "grant_beyond_own", raised.text


def test_nobody_changes_their_own_roles_or_department_even_downwards(gw: InProcessGateway) -> None:
    admin = gw.ready_user(USER_ADMIN)
    dropped = gw.request(
        "PUT", f"/api/system/users/{admin.id}", admin.access, json=_user_body(gw, admin.id, role_ids=[])
    )
    assert dropped.status_code == 403 and problem_code(dropped) == "own_roles"
    moved = gw.request(
        "PUT", f"/api/system/users/{admin.id}", admin.access, json=_user_body(gw, admin.id, department_id=7)
    )
    assert moved.status_code == 403 and problem_code(moved) == "own_roles"
    # Their own name and phone they may correct.
    renamed = gw.request(
        "PUT", f"/api/system/users/{admin.id}", admin.access, json=_user_body(gw, admin.id, real_name="改名")
    )
    assert renamed.status_code == 200, renamed.text


def test_a_user_admin_cannot_take_over_a_stronger_account(gw: InProcessGateway) -> None:
    admin = gw.ready_user(USER_ADMIN)
    stronger = gw.ready_user(STRONG)
    reset = gw.request("POST", f"/api/system/users/{stronger.id}/reset-password", admin.access)
    assert reset.status_code == 403 and problem_code(reset) == "stronger_user", reset.text
    disabled = gw.request("POST", f"/api/system/users/{stronger.id}/disable", admin.access)
    assert disabled.status_code == 403 and problem_code(disabled) == "stronger_user"
    # A peer (no more than the admin holds) is theirs to manage.
    peer = gw.ready_user(USER_ADMIN)
    assert gw.request("POST", f"/api/system/users/{peer.id}/reset-password", admin.access).status_code == 200


# --- the finding: a role administrator edits a role they hold up to anything ----------------------


def test_role_admin_cannot_edit_their_own_role(gw: InProcessGateway) -> None:
    admin = gw.ready_user(ROLE_ADMIN)
    role = gw.as_admin("GET", f"/api/system/users/{admin.id}").json()["roles"][0]
    body = {"name": role["name"], "permissions": [*ROLE_ADMIN, "system:user:write", "dbs:doctor:write"]}

    answer = gw.request("PUT", f"/api/system/roles/{role['id']}", admin.access, json=body)

    assert answer.status_code == 403 and problem_code(answer) == "own_roles", answer.text
    assert _grants(gw, admin) == set(ROLE_ADMIN)


def test_role_editor_refuses_permissions_beyond_the_editors_own(gw: InProcessGateway) -> None:
    admin = gw.ready_user([*ROLE_ADMIN, "system:user:read"])
    beyond = {"name": unique("role"), "permissions": ["system:user:read", "system:user:write"]}
    created = gw.request("POST", "/api/system/roles", admin.access, json=beyond)
    assert created.status_code == 403 and problem_code(created) == "grant_beyond_own", created.text
    assert created.json()["errors"][0]["field"] == "permissions"
    assert "system:user:write" in created.json()["errors"][0]["message"]

    within = gw.request("POST", "/api/system/roles", admin.access, json={**beyond, "permissions": ["system:user:read"]})
    assert within.status_code == 201, within.text
    raised = gw.request(
        "PUT", f"/api/system/roles/{within.json()['id']}", admin.access, json=beyond | {"name": within.json()["name"]}
    )
    assert raised.status_code == 403 and problem_code(raised) == "grant_beyond_own"

    # A role already stronger than the editor is not theirs to change or delete.
    stronger = gw.create_role(STRONG)
    body = {"name": stronger["name"], "permissions": ["system:user:read"]}
    assert problem_code(gw.request("PUT", f"/api/system/roles/{stronger['id']}", admin.access, json=body)) == (
        "stronger_role"
    )
    assert problem_code(gw.request("DELETE", f"/api/system/roles/{stronger['id']}", admin.access)) == "stronger_role"


def test_a_department_scoped_editor_cannot_grant_every_department(gw: InProcessGateway) -> None:
    editor = gw.ready_user([*ROLE_ADMIN], data_scope="departments", department_ids=[3])
    body = {"name": unique("role"), "permissions": ["system:role:read"], "data_scope": "all", "department_ids": []}
    answer = gw.request("POST", "/api/system/roles", editor.access, json=body)
    assert answer.status_code == 403 and answer.json()["errors"][0]["field"] == "data_scope"
    narrower = {**body, "data_scope": "departments", "department_ids": [3]}
    assert gw.request("POST", "/api/system/roles", editor.access, json=narrower).status_code == 201
    wider = {**body, "name": unique("role"), "data_scope": "departments", "department_ids": [3, 4]}
    assert gw.request("POST", "/api/system/roles", editor.access, json=wider).status_code == 403


# --- every system route, tried for escalation -----------------------------------------------------


def _escalating_body(route_path: str, me: int, strong_role: dict) -> dict:
    """Whatever a route's body could carry that would raise the caller."""
    return {
        "username": unique(),
        "real_name": "提权",
        "role_ids": [strong_role["id"]],
        "department_id": None,
        "name": strong_role["name"],
        "permissions": ["*", *STRONG, PII_PERMISSION],
        "data_scope": "all",
        "department_ids": [],
        "user_id": me,
    }


@pytest.mark.parametrize("permissions", [USER_ADMIN, ROLE_ADMIN, [*USER_ADMIN, *ROLE_ADMIN]], ids=str)
def test_no_system_route_raises_its_caller(gw: InProcessGateway, permissions: list[str]) -> None:
    caller = gw.ready_user(permissions)
    own_role = gw.as_admin("GET", f"/api/system/users/{caller.id}").json()["roles"][0]
    strong = gw.create_role(STRONG)
    writes = [r for r in gateway_routes() if r.method != "GET" and r.path.startswith("/api/system/")]
    assert len(writes) >= 10
    for route in writes:
        for target in (str(caller.id), str(own_role["id"]), str(strong["id"]), MISSING_ID):
            body = _escalating_body(route.path, caller.id, strong) if route.has_body else None
            gw.request(route.method, route.url(target), caller.access, json=body)
    # The walk may have disabled or reset the caller itself: read what they hold as the superadmin.
    roles = gw.as_admin("GET", f"/api/system/users/{caller.id}").json()["roles"]
    assert [r["id"] for r in roles] == [own_role["id"]]
    held = set(gw.as_admin("GET", f"/api/system/roles/{own_role['id']}").json()["permissions"])
    assert held == set(permissions), f"{caller.username} now holds {held - set(permissions)}"


# --- 三员分立 ---------------------------------------------------------------------------------------


def test_the_three_builtin_roles_exist_with_their_own_permissions_only(gw: InProcessGateway) -> None:
    for spec in BUILTIN_ROLES:
        role = _builtin(gw, spec.key)
        assert role["name"] == spec.name
        assert set(role["permissions"]) == set(spec.permissions)
        # None of them reads patient data or does a module's work by holding their role.
        assert not permission_granted(set(role["permissions"]), PII_PERMISSION)
        assert not permission_granted(set(role["permissions"]), "oms:patient:read")
    jobs = [set(spec.permissions) for spec in BUILTIN_ROLES]
    # Nobody can do another's job: the account, security and audit permissions are disjoint,
    # but for reading the user list, which the security administrator needs to unlock, and the
    # application logs (日志查询), read-only, where the audit and security administrators both look.
    assert jobs[0] & jobs[1] == {"system:user:read"} and not jobs[0] & jobs[2]
    assert jobs[1] & jobs[2] == {"system:applog:read"}


def test_builtin_roles_cannot_be_changed_or_deleted_even_by_the_superadmin(gw: InProcessGateway) -> None:
    role = _builtin(gw, AUDIT_ADMIN.key)
    body = {"name": role["name"], "permissions": [*role["permissions"], "system:user:write"]}
    assert problem_code(gw.as_admin("PUT", f"/api/system/roles/{role['id']}", json=body)) == "builtin_role"
    assert problem_code(gw.as_admin("DELETE", f"/api/system/roles/{role['id']}")) == "builtin_role"
    assert set(_builtin(gw, AUDIT_ADMIN.key)["permissions"]) == set(AUDIT_ADMIN.permissions)


@pytest.mark.parametrize("spec", BUILTIN_ROLES, ids=lambda s: s.key)
def test_each_builtin_administrator_against_every_system_route(gw: InProcessGateway, spec: Any) -> None:
    """A route answers 403 `permission_denied` exactly when the role lacks its permission."""
    admin = _holder(gw, spec.key)
    for route in gateway_routes():
        if not route.permission:
            continue
        answer = gw.request(route.method, route.url(), admin.access, json={} if route.has_body else None)
        denied = answer.status_code == 403 and problem_code(answer) == "permission_denied"
        assert denied != permission_granted(set(spec.permissions), route.permission), (
            f"{spec.key}: {route} → {answer.status_code} {answer.text[:200]}"
        )


def test_the_system_administrator_cannot_hand_out_security_or_audit_powers(gw: InProcessGateway) -> None:
    sysadmin = _holder(gw, SYSTEM_ADMIN.key)
    for key in (SECURITY_ADMIN.key, AUDIT_ADMIN.key):
        body = {"username": unique(), "real_name": "越权", "role_ids": [_builtin(gw, key)["id"]]}
        answer = gw.request("POST", "/api/system/users", sysadmin.access, json=body)
        assert answer.status_code == 403 and problem_code(answer) == "grant_beyond_own", (key, answer.text)
    role = {"name": unique("role"), "permissions": ["system:audit:read"]}
    assert problem_code(gw.request("POST", "/api/system/roles", sysadmin.access, json=role)) == "grant_beyond_own"
    # Nor take them over: the security administrator's account is not theirs to reset.
    security = _holder(gw, SECURITY_ADMIN.key)
    reset = gw.request("POST", f"/api/system/users/{security.id}/reset-password", sysadmin.access)
    assert problem_code(reset) == "stronger_user"


def test_the_security_administrator_unlocks_and_the_user_administrator_does_not(gw: InProcessGateway) -> None:
    victim = gw.ready_user(["system:user:read"])
    for _ in range(gw.settings.lockout_failures):
        gw.login(victim.username, "wrong-password-1")
    assert problem_code(gw.login(victim.username, victim.password)) == "account_locked"
    user_admin = gw.ready_user(USER_ADMIN)
    refused = gw.request("POST", f"/api/system/users/{victim.id}/unlock", user_admin.access)
    assert refused.status_code == 403
    security = _holder(gw, SECURITY_ADMIN.key)
    assert gw.request("POST", f"/api/system/users/{victim.id}/unlock", security.access).status_code == 200
    # The policy they watch over, as it is in force.
    policy = gw.request("GET", "/api/system/security-policy", security.access).json()
    assert policy["lockout_failures"] == gw.settings.lockout_failures
    assert policy["trusted_networks"] == gw.settings.trusted_networks
    assert gw.login(victim.username, victim.password).status_code == 200


def test_the_superadmin_steps_aside_only_once_the_three_are_appointed(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory()
    refused = gw.as_admin("POST", f"/api/system/users/{gw.admin.id}/disable")
    assert refused.status_code == 409 and problem_code(refused) == "builtin_roles_vacant"
    for spec in BUILTIN_ROLES[:2]:
        _holder(gw, spec.key)
    assert problem_code(gw.as_admin("POST", f"/api/system/users/{gw.admin.id}/disable")) == "builtin_roles_vacant"
    _holder(gw, AUDIT_ADMIN.key)

    assert gw.as_admin("POST", f"/api/system/users/{gw.admin.id}/disable").status_code == 200
    assert problem_code(gw.login("admin", gw.admin.password)) == "account_disabled"

    # Break-glass on the host: `hamp reset-password admin` brings it back, with a password to change.
    password = asyncio.run(gateway.main.reset_password(gw.settings, "admin"))
    back = gw.login("admin", password)
    assert back.status_code == 200 and back.json()["user"]["must_change_password"] is True

"""Tokens the gateway stops honouring before they expire: logout, ended sessions, disabled and
locked users, changed roles (expired, tampered, foreign-key and alg-none tokens: tests/gateway)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from jose import jwt

from tests.security.conftest import (
    NEW_PASSWORD,
    GatewayFactory,
    InProcessGateway,
    User,
    problem_code,
)

LOCKOUT_FAILURES = 3


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(lockout_failures=LOCKOUT_FAILURES, api_burst=1000, login_rate_per_user_per_minute=100)


def _me(gw: InProcessGateway, user_or_token: User | str) -> object:
    token = user_or_token.access if isinstance(user_or_token, User) else user_or_token
    return gw.request("GET", "/api/auth/me", token)


def _assert_revoked(gw: InProcessGateway, token: str) -> None:
    for method, path in (("GET", "/api/auth/me"), ("GET", "/api/system/users"), ("GET", "/api/dbs/doctors")):
        answer = gw.request(method, path, token)
        assert answer.status_code == 401, f"{method} {path}: {answer.text}"
        assert problem_code(answer) == "token_revoked", f"{method} {path}: {answer.text}"


def test_logout_revokes_the_access_token_at_once(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    other = gw.login_user(user.username, user.password)  # a second session of the same user
    assert _me(gw, user).status_code == 200
    assert gw.request("POST", "/api/auth/logout", user.access).status_code == 204
    _assert_revoked(gw, user.access)
    assert gw.refresh(user.refresh).status_code == 401
    # Only that session ended.
    assert _me(gw, other).status_code == 200


def test_ending_a_session_from_the_admin_revokes_its_tokens(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    other = gw.login_user(user.username, user.password)
    session_id = jwt.get_unverified_claims(user.access)["sid"]
    listed = gw.as_admin("GET", "/api/system/sessions", params={"username": user.username}).json()["items"]
    assert session_id in {s["id"] for s in listed}

    assert gw.as_admin("DELETE", f"/api/system/sessions/{session_id}").status_code == 204
    _assert_revoked(gw, user.access)
    assert gw.refresh(user.refresh).status_code == 401
    listed = gw.as_admin("GET", "/api/system/sessions", params={"username": user.username}).json()["items"]
    assert session_id not in {s["id"] for s in listed}
    assert _me(gw, other).status_code == 200


def test_disabling_a_user_revokes_its_tokens(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    assert gw.as_admin("POST", f"/api/system/users/{user.id}/disable").status_code == 200
    _assert_revoked(gw, user.access)
    assert gw.refresh(user.refresh).status_code == 401
    refused = gw.login(user.username, user.password)
    assert refused.status_code == 401 and problem_code(refused) == "account_disabled"

    assert gw.as_admin("POST", f"/api/system/users/{user.id}/enable").status_code == 200
    assert gw.login(user.username, user.password).status_code == 200
    _assert_revoked(gw, user.access)  # enabling again does not bring old tokens back


def test_locking_a_user_revokes_its_tokens(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    for _ in range(LOCKOUT_FAILURES):
        assert gw.login(user.username, "Wrong-password-1").status_code == 401
    _assert_revoked(gw, user.access)
    assert gw.refresh(user.refresh).status_code == 401
    assert gw.as_admin("POST", f"/api/system/users/{user.id}/unlock").status_code == 200


def test_force_logout_and_password_reset_revoke(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    assert gw.as_admin("POST", f"/api/system/users/{user.id}/force-logout").status_code == 204
    _assert_revoked(gw, user.access)
    assert gw.refresh(user.refresh).status_code == 401

    again = gw.login_user(user.username, user.password)
    reset = gw.as_admin("POST", f"/api/system/users/{user.id}/reset-password")
    assert reset.status_code == 200
    _assert_revoked(gw, again.access)
    assert gw.refresh(again.refresh).status_code == 401
    assert gw.login(user.username, user.password).status_code == 401
    fresh = gw.login_user(user.username, reset.json()["initial_password"])
    assert fresh.tokens["user"]["must_change_password"] is True


def test_changing_a_users_roles_refuses_the_old_token_and_refresh_brings_the_new_ones(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    role = gw.create_role(["system:role:read"])
    assert gw.request("GET", "/api/system/users", user.access).status_code == 200
    assert gw.request("GET", "/api/system/roles", user.access).status_code == 403

    changed = gw.as_admin(
        "PUT", f"/api/system/users/{user.id}", json={"real_name": "换了角色", "role_ids": [role["id"]]}
    )
    assert changed.status_code == 200, changed.text
    _assert_revoked(gw, user.access)

    renewed = gw.refresh(user.refresh)
    assert renewed.status_code == 200, renewed.text
    token = renewed.json()["access_token"]
    assert jwt.get_unverified_claims(token)["perms"] == ["system:role:read"]
    assert renewed.json()["user"]["permissions"] == ["system:role:read"]
    assert gw.request("GET", "/api/system/roles", token).status_code == 200
    assert gw.request("GET", "/api/system/users", token).status_code == 403


def test_changing_a_roles_permissions_refuses_its_holders_old_tokens(gw: InProcessGateway) -> None:
    role = gw.create_role(["system:user:read"])
    created, initial = gw.create_user([role["id"]])
    user = gw.first_login(created["username"], initial)
    bystander = gw.ready_user(["system:user:read"])  # holds another role: unaffected
    body = {"name": role["name"], "permissions": ["system:login_log:read"], "data_scope": "all"}
    assert gw.as_admin("PUT", f"/api/system/roles/{role['id']}", json=body).status_code == 200

    _assert_revoked(gw, user.access)
    assert _me(gw, bystander).status_code == 200
    renewed = gw.refresh(user.refresh).json()
    assert jwt.get_unverified_claims(renewed["access_token"])["perms"] == ["system:login_log:read"]
    assert gw.request("GET", "/api/system/login-log", renewed["access_token"]).status_code == 200
    assert gw.request("GET", "/api/system/users", renewed["access_token"]).status_code == 403


def test_changing_a_users_department_renews_the_data_scope(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"], data_scope="own", department_id=3)
    assert jwt.get_unverified_claims(user.access)["dept"] == [3]
    body = {"real_name": "调科室", "department_id": 8, "role_ids": [r["id"] for r in _roles(gw, user)]}
    assert gw.as_admin("PUT", f"/api/system/users/{user.id}", json=body).status_code == 200
    _assert_revoked(gw, user.access)
    assert jwt.get_unverified_claims(gw.refresh(user.refresh).json()["access_token"])["dept"] == [8]


def _roles(gw: InProcessGateway, user: User) -> list[dict]:
    return gw.as_admin("GET", f"/api/system/users/{user.id}").json()["roles"]


def test_new_tokens_after_a_password_change_work(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    for attempt in range(5):
        new_password = f"{NEW_PASSWORD}-{attempt}"
        answer = gw.request(
            "POST",
            "/api/auth/password",
            user.access,
            json={"current_password": user.password, "new_password": new_password},
        )
        assert answer.status_code == 200, answer.text
        user.password, user.tokens = new_password, answer.json()
        assert _me(gw, user).status_code == 200


def test_tokens_issued_in_the_same_millisecond_as_a_password_change_work(
    gw: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast server (Redis and database answering in well under a millisecond) re-issues the user
    and signs the new tokens within one millisecond; simulated by a clock that stands still."""
    import gateway.auth.service

    user = gw.ready_user(["system:user:read"])
    frozen = time.time()
    clock = SimpleNamespace(time=lambda: frozen)
    monkeypatch.setattr(gw.app.state.auth.revocations, "clock", clock.time)
    monkeypatch.setattr(gateway.auth.service, "time", clock)
    answer = gw.request(
        "POST",
        "/api/auth/password",
        user.access,
        json={"current_password": user.password, "new_password": "Fast-pw-77"},
    )
    assert answer.status_code == 200, answer.text
    monkeypatch.undo()
    assert _me(gw, answer.json()["access_token"]).status_code == 200

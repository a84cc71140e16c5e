"""Logging in: lockout and unlock with the login log, the first-login password change, the
password policy, and refresh-token rotation with reuse detection."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from jose import jwt

from tests.security.conftest import (
    NEW_PASSWORD,
    PUBLIC,
    GatewayFactory,
    InProcessGateway,
    Route,
    User,
    bearer,
    dbs_routes,
    gateway_routes,
    problem_code,
)

LOCKOUT_FAILURES = 3
WRONG = "Wrong-password-9"


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(
        lockout_failures=LOCKOUT_FAILURES,
        api_burst=1000,
        login_rate_per_user_per_minute=100,
        login_rate_per_ip_per_minute=1000,
    )


def _login_log(gw: InProcessGateway, username: str) -> list[dict]:
    answer = gw.as_admin("GET", "/api/system/login-log", params={"username": username, "size": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


# --- lockout ---------------------------------------------------------------------------------


def test_repeated_bad_passwords_lock_the_account_until_unlocked(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    for _ in range(LOCKOUT_FAILURES):
        answer = gw.login(user.username, WRONG)
        assert answer.status_code == 401 and problem_code(answer) == "login_failed", answer.text

    locked = gw.login(user.username, user.password)
    assert locked.status_code == 401
    assert problem_code(locked) == "account_locked"
    # A wrong password while locked gets the same answer: nothing tells which passwords are right.
    assert problem_code(gw.login(user.username, WRONG)) == "account_locked"

    admin_view = gw.as_admin("GET", f"/api/system/users/{user.id}").json()
    assert admin_view["locked"] is True
    until = datetime.fromisoformat(admin_view["locked_until"]).astimezone(ZoneInfo(gw.settings.timezone))
    assert until.strftime("%Y-%m-%d %H:%M") in locked.json()["detail"]

    log = _login_log(gw, user.username)
    newest_first = [(row["result"], row["reason"]) for row in log]
    assert newest_first[:5] == [
        ("failure", "locked"),
        ("failure", "locked"),
        *[("failure", "bad_password")] * LOCKOUT_FAILURES,
    ]
    assert all(row["user_id"] == user.id and row["ip"] == "127.0.0.1" for row in log[:5])

    unlocked = gw.as_admin("POST", f"/api/system/users/{user.id}/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert gw.login(user.username, user.password).status_code == 200
    newest = _login_log(gw, user.username)[0]
    assert (newest["result"], newest["reason"]) == ("success", "")


def test_a_successful_login_clears_the_failure_count(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    for _ in range(LOCKOUT_FAILURES - 1):
        assert gw.login(user.username, WRONG).status_code == 401
    assert gw.login(user.username, user.password).status_code == 200
    for _ in range(LOCKOUT_FAILURES - 1):
        assert gw.login(user.username, WRONG).status_code == 401
    assert gw.login(user.username, user.password).status_code == 200


def test_every_refused_login_is_logged_with_its_reason(gw: InProcessGateway) -> None:
    ghost = "no_such_user_x"
    assert problem_code(gw.login(ghost, WRONG)) == "login_failed"
    assert [(r["result"], r["reason"], r["user_id"]) for r in _login_log(gw, ghost)] == [
        ("failure", "unknown_user", None)
    ]

    user = gw.ready_user(["system:user:read"])
    assert gw.as_admin("POST", f"/api/system/users/{user.id}/disable").status_code == 200
    assert problem_code(gw.login(user.username, user.password)) == "account_disabled"
    newest = _login_log(gw, user.username)[0]
    assert (newest["result"], newest["reason"]) == ("failure", "disabled")


# --- the first login ------------------------------------------------------------------------

ALLOWED_WHILE_PENDING = {"GET /api/auth/me", "POST /api/auth/password", "POST /api/auth/logout"}
PENDING_ROUTES = [
    pytest.param(r, id=str(r))
    for r in [*gateway_routes(), *dbs_routes()]
    if str(r) not in ALLOWED_WHILE_PENDING | PUBLIC
]


@pytest.fixture(scope="module")
def pending(gw: InProcessGateway) -> User:
    """A user logged in with the initial password; its role holds real permissions."""
    role = gw.create_role(["system:user:read", "system:role:read", "system:audit:read"])
    created, initial = gw.create_user([role["id"]])
    return gw.login_user(created["username"], initial)


def test_the_first_login_token_carries_no_permissions(gw: InProcessGateway, pending: User) -> None:
    assert pending.tokens["user"]["must_change_password"] is True
    assert pending.tokens["user"]["permissions"] == []
    claims = jwt.get_unverified_claims(pending.access)
    assert claims["perms"] == [] and claims["mcp"] is True
    me = gw.me(pending.access)
    assert me["must_change_password"] is True and me["permissions"] == []


@pytest.mark.parametrize("route", PENDING_ROUTES)
def test_everything_else_asks_for_the_password_change_first(gw: InProcessGateway, pending: User, route: Route) -> None:
    answer = gw.client.request(
        route.method, route.url(), headers=bearer(pending.access), **({"json": {}} if route.has_body else {})
    )
    assert answer.status_code == 403, answer.text
    assert problem_code(answer) == "password_change_required"


def _pending_user(gw: InProcessGateway) -> tuple[User, str]:
    created, initial = gw.create_user([gw.create_role(["system:user:read"])["id"]])
    return gw.login_user(created["username"], initial), initial


def test_weak_new_passwords_are_refused_naming_new_password(gw: InProcessGateway) -> None:
    user, initial = _pending_user(gw)
    weak = {
        "too short": "Ab1cd",
        "no digit": "Abcdefghijkl",
        "no letter": "123456789012",
        "contains the user name": f"X1{user.username.upper()}",
        "same as the current one": initial,
    }
    for case, password in weak.items():
        answer = gw.change_password(user.access, initial, password)
        assert answer.status_code == 422, f"{case}: {answer.text}"
        assert [e["field"] for e in answer.json()["errors"]] == ["new_password"], case
    # Still pending: nothing changed.
    assert gw.me(user.access)["must_change_password"] is True
    assert gw.login(user.username, initial).status_code == 200


def test_a_wrong_current_password_is_refused_naming_current_password(gw: InProcessGateway) -> None:
    user, initial = _pending_user(gw)
    answer = gw.change_password(user.access, WRONG, NEW_PASSWORD)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["current_password"]
    assert gw.login(user.username, NEW_PASSWORD).status_code == 401
    assert gw.login(user.username, initial).status_code == 200


def test_changing_the_password_ends_the_users_other_sessions(gw: InProcessGateway) -> None:
    user, initial = _pending_user(gw)
    elsewhere = gw.login_user(user.username, initial)
    answer = gw.change_password(user.access, initial, NEW_PASSWORD)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["user"]["must_change_password"] is False
    assert tokens["user"]["permissions"] == ["system:user:read"]

    for token in (elsewhere.access, user.access):  # the other session, and this one's old token
        refused = gw.request("GET", "/api/auth/me", token)
        assert refused.status_code == 401 and problem_code(refused) == "token_revoked"
    assert gw.refresh(elsewhere.refresh).status_code == 401
    # This session goes on with the new tokens.
    assert gw.request("GET", "/api/system/users", tokens["access_token"]).status_code == 200
    assert gw.refresh(tokens["refresh_token"]).status_code == 200
    assert gw.login(user.username, initial).status_code == 401
    assert gw.login(user.username, NEW_PASSWORD).status_code == 200


# --- refresh rotation -----------------------------------------------------------------------


def test_a_reused_refresh_token_ends_the_whole_session(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    elsewhere = gw.login_user(user.username, user.password)
    first = gw.refresh(user.refresh)
    assert first.status_code == 200
    second = gw.refresh(first.json()["refresh_token"])
    assert second.status_code == 200
    newest = second.json()

    reused = gw.refresh(user.refresh)  # the original, already traded in
    assert reused.status_code == 401
    assert problem_code(reused) == "refresh_reused"
    # The thief's copy and the rightful newest token are both dead now.
    assert gw.refresh(newest["refresh_token"]).status_code == 401
    assert gw.refresh(first.json()["refresh_token"]).status_code == 401
    refused = gw.request("GET", "/api/auth/me", newest["access_token"])
    assert refused.status_code == 401 and problem_code(refused) == "token_revoked"
    # Another session of the same user is not touched.
    assert gw.request("GET", "/api/auth/me", elsewhere.access).status_code == 200
    assert gw.refresh(elsewhere.refresh).status_code == 200


def test_an_unknown_refresh_token_is_refused(gw: InProcessGateway) -> None:
    answer = gw.refresh("not-a-refresh-token")
    assert answer.status_code == 401 and problem_code(answer) == "refresh_invalid"


# --- the superadmin -------------------------------------------------------------------------


def test_a_user_administrator_cannot_take_over_the_superadmin(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory()  # its own: the superadmin's password may change here
    manager = gw.ready_user(["system:user:read", "system:user:write"])
    answer = gw.request("POST", f"/api/system/users/{gw.admin.id}/reset-password", manager.access)
    if answer.status_code == 200:
        taken = gw.login("admin", answer.json()["initial_password"])
        assert taken.status_code != 200, f"logged in as the superadmin with {taken.json()['user']['permissions']}"
    assert answer.status_code in (403, 409), answer.text

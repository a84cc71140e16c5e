"""Sessions and passwords (身份鉴别, 安全审计): idle timeout and absolute lifetime, password
expiry and history, the generated superadmin password, and a login log that records logouts,
expired sessions and password changes; one's own password change leaves an operation-log row.

Time is moved by editing the session's and user's timestamps in the database, not by sleeping.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import select, update

import gateway.main
from gateway.auth import activity
from gateway.settings import GatewaySettings
from gateway.system.models import Session as SessionRow
from gateway.system.models import User as UserRow
from shared.clock import utcnow
from tests.security.conftest import (
    ISOLATED,
    LOCAL,
    NEW_PASSWORD,
    GatewayFactory,
    InProcessGateway,
    User,
    problem_code,
)

IDLE_MINUTES = 30
HISTORY = 3


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(
        session_idle_minutes=IDLE_MINUTES,
        password_history=HISTORY,
        password_max_age_days=90,
        api_burst=1000,
        login_rate_per_user_per_minute=1000,
        login_rate_per_ip_per_minute=10000,
    )


@pytest.fixture
def every_use_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use is noted at most once a minute per session; these tests move time by editing the
    database, which that in-process throttle cannot see."""
    monkeypatch.setattr(activity, "WRITE_EVERY_SECONDS", 0.0)


def _sid(user: User) -> str:
    return jwt.get_unverified_claims(user.access)["sid"]


def _session_row(gw: InProcessGateway, sid: str) -> Any:
    with gw.engine.connect() as conn:
        return conn.execute(select(SessionRow.__table__).where(SessionRow.__table__.c.id == sid)).mappings().one()


def _set_session(gw: InProcessGateway, sid: str, **values: datetime) -> None:
    with gw.engine.begin() as conn:
        conn.execute(update(SessionRow.__table__).where(SessionRow.__table__.c.id == sid).values(**values))


def _age_password(gw: InProcessGateway, user_id: int, days: int) -> None:
    with gw.engine.begin() as conn:
        conn.execute(
            update(UserRow.__table__)
            .where(UserRow.__table__.c.id == user_id)
            .values(password_changed_at=utcnow() - timedelta(days=days))
        )


def _login_log(gw: InProcessGateway, username: str, **params: str) -> list[dict]:
    answer = gw.as_admin("GET", "/api/system/login-log", params={"username": username, "size": 100, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _online(gw: InProcessGateway, username: str) -> list[str]:
    answer = gw.as_admin("GET", "/api/system/sessions", params={"username": username})
    assert answer.status_code == 200, answer.text
    return [s["id"] for s in answer.json()["items"]]


# --- idle timeout and absolute lifetime -----------------------------------------------------


def test_a_session_idle_longer_than_the_limit_is_ended_at_its_next_refresh(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    sid = _sid(user)
    assert sid in _online(gw, user.username)
    _set_session(gw, sid, last_used_at=utcnow() - timedelta(minutes=IDLE_MINUTES + 1))
    # Idle sessions are not online, even before anyone tries to use them again.
    assert sid not in _online(gw, user.username)

    answer = gw.refresh(user.refresh)
    assert answer.status_code == 401, answer.text
    assert problem_code(answer) == "session_idle"
    assert "长时间未操作，请重新登录" in answer.json()["detail"]
    row = _session_row(gw, sid)
    assert row["revoked_at"] is not None and row["revoked_reason"] == "idle"
    newest = _login_log(gw, user.username)[0]
    assert (newest["event"], newest["result"], newest["reason"]) == ("session_expired", "failure", "idle")
    # Detected once: a second try is a plain refusal and writes nothing more.
    assert gw.refresh(user.refresh).status_code == 401
    assert len(_login_log(gw, user.username, event="session_expired")) == 1


@pytest.mark.usefixtures("every_use_noted")
def test_requests_keep_a_session_alive_and_refreshing_alone_does_not(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    sid = _sid(user)
    _set_session(gw, sid, last_used_at=utcnow() - timedelta(minutes=IDLE_MINUTES - 1))
    assert gw.request("GET", "/api/system/users", user.access).status_code == 200
    used = _session_row(gw, sid)["last_used_at"]
    assert utcnow() - used < timedelta(seconds=30), "a request is use"

    # 29 more minutes pass without a request: 58 since login, 29 since the last use.
    _set_session(gw, sid, last_used_at=used - timedelta(minutes=IDLE_MINUTES - 1))
    renewed = gw.refresh(user.refresh)
    assert renewed.status_code == 200, renewed.text
    # A refresh is not use (the console renews by itself): the time of last use stays...
    assert _session_row(gw, sid)["last_used_at"] < utcnow() - timedelta(minutes=IDLE_MINUTES - 2)
    # ...and the new access token ends when the session would be idle, not 15 minutes later.
    assert renewed.json()["expires_in"] <= 61
    claims = jwt.get_unverified_claims(renewed.json()["access_token"])
    assert claims["exp"] - claims["iat"] <= 61


@pytest.mark.usefixtures("every_use_noted")
def test_requests_the_console_makes_by_itself_are_not_use(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    sid = _sid(user)
    before = utcnow() - timedelta(minutes=IDLE_MINUTES - 1)
    _set_session(gw, sid, last_used_at=before)
    answer = gw.request("GET", "/api/system/users", user.access, headers={"X-Background": "1"})
    assert answer.status_code == 200
    assert abs(_session_row(gw, sid)["last_used_at"] - before) < timedelta(seconds=1)
    # The same request without the header is use.
    assert gw.request("GET", "/api/system/users", user.access).status_code == 200
    assert _session_row(gw, sid)["last_used_at"] > before + timedelta(minutes=1)


def test_use_is_written_at_most_once_a_minute_per_session(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])  # its password change was the first use
    sid = _sid(user)
    before = utcnow() - timedelta(minutes=5)
    _set_session(gw, sid, last_used_at=before)
    assert gw.request("GET", "/api/system/users", user.access).status_code == 200
    assert abs(_session_row(gw, sid)["last_used_at"] - before) < timedelta(seconds=1)


@pytest.mark.usefixtures("every_use_noted")
def test_a_request_does_not_revive_a_session_already_idle(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    sid = _sid(user)
    _set_session(gw, sid, last_used_at=utcnow() - timedelta(minutes=IDLE_MINUTES + 1))
    gw.request("GET", "/api/auth/me", user.access)
    assert problem_code(gw.refresh(user.refresh)) == "session_idle"


def test_a_session_past_its_absolute_lifetime_is_ended_and_logged(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    sid = _sid(user)
    _set_session(gw, sid, expires_at=utcnow() - timedelta(seconds=1))
    assert sid not in _online(gw, user.username)
    answer = gw.refresh(user.refresh)
    assert answer.status_code == 401 and problem_code(answer) == "session_expired", answer.text
    assert _session_row(gw, sid)["revoked_reason"] == "expired"
    newest = _login_log(gw, user.username)[0]
    assert (newest["event"], newest["reason"]) == ("session_expired", "expired")


def test_the_idle_limit_is_a_setting_of_30_minutes() -> None:
    settings = GatewaySettings(**ISOLATED)
    assert settings.session_idle_minutes == 30
    assert settings.password_max_age_days == 90
    assert settings.password_history == 5


# --- password expiry ------------------------------------------------------------------------


def test_an_expired_password_must_be_changed_before_anything_else(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    _age_password(gw, user.id, 91)
    answer = gw.login(user.username, user.password)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["user"]["must_change_password"] is True
    assert tokens["user"]["password_change_reason"] == "expired"
    assert jwt.get_unverified_claims(tokens["access_token"])["mcp"] is True
    refused = gw.request("GET", "/api/system/users", tokens["access_token"])
    assert refused.status_code == 403 and problem_code(refused) == "password_change_required"
    assert gw.me(tokens["access_token"])["password_change_reason"] == "expired"

    changed = gw.change_password(tokens["access_token"], user.password, "Renewed-pass-77")
    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["must_change_password"] is False
    assert changed.json()["user"]["password_change_reason"] is None
    assert gw.request("GET", "/api/system/users", changed.json()["access_token"]).status_code == 200


def test_a_password_younger_than_the_limit_is_not_expired(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    _age_password(gw, user.id, 89)
    tokens = gw.login(user.username, user.password).json()
    assert tokens["user"]["must_change_password"] is False
    assert tokens["user"]["password_change_reason"] is None


def test_an_initial_password_says_initial(gw: InProcessGateway) -> None:
    created, initial = gw.create_user([gw.create_role(["system:user:read"])["id"]])
    tokens = gw.login(created["username"], initial).json()
    assert tokens["user"]["password_change_reason"] == "initial"


def test_max_age_zero_means_passwords_never_expire(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(password_max_age_days=0)
    user = gw.ready_user(["system:user:read"])
    _age_password(gw, user.id, 3650)
    assert gw.login(user.username, user.password).json()["user"]["must_change_password"] is False


# --- password history -----------------------------------------------------------------------


def test_none_of_the_last_n_passwords_can_be_reused(gw: InProcessGateway) -> None:
    created, initial = gw.create_user([gw.create_role(["system:user:read"])["id"]])
    user = gw.first_login(created["username"], initial, "History-pass-1")
    passwords = [initial, "History-pass-1"]
    for new in ("History-pass-2", "History-pass-3"):
        answer = gw.change_password(user.access, user.password, new)
        assert answer.status_code == 200, answer.text
        user.password, user.tokens = new, answer.json()
        passwords.append(new)

    # The last HISTORY passwords: the current one and the two before it.
    for old in passwords[-HISTORY:]:
        answer = gw.change_password(user.access, user.password, old)
        assert answer.status_code == 422, f"{old}: {answer.text}"
        errors = answer.json()["errors"]
        assert [e["field"] for e in errors] == ["new_password"]
        assert errors[0]["code"] in ("same_password", "reused_password")
    assert gw.login(user.username, user.password).status_code == 200

    # The one before those may come back.
    answer = gw.change_password(user.access, user.password, passwords[-HISTORY - 1])
    assert answer.status_code == 200, answer.text


def test_a_reused_password_is_named_in_the_error(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    answer = gw.change_password(user.access, user.password, "Another-pass-5")
    assert answer.status_code == 200
    answer = gw.change_password(answer.json()["access_token"], "Another-pass-5", user.password)
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert error["field"] == "new_password" and error["code"] == "reused_password"
    assert f"最近 {HISTORY} 次" in error["message"]


def test_an_admin_reset_keeps_the_old_password_out_of_reach(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    reset = gw.as_admin("POST", f"/api/system/users/{user.id}/reset-password")
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["initial_password"]
    pending = gw.login_user(user.username, temporary)
    answer = gw.change_password(pending.access, temporary, user.password)
    assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == "reused_password"


# --- the superadmin's generated password ----------------------------------------------------


def test_the_generated_superadmin_password_must_be_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = GatewaySettings(**{**ISOLATED, "var_dir": tmp_path, "superadmin_password": ""})
    with TestClient(gateway.main.create_app(settings), client=LOCAL) as client:
        printed = re.search(r"password '([^']+)'", capsys.readouterr().out)
        assert printed, "the generated password is printed once"
        generated = printed.group(1)
        tokens = client.post("/api/auth/login", json={"username": "admin", "password": generated}).json()
        assert tokens["user"]["must_change_password"] is True
        assert tokens["user"]["password_change_reason"] == "initial"
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert problem_code(client.get("/api/system/users", headers=headers)) == "password_change_required"
        body = {"current_password": generated, "new_password": NEW_PASSWORD}
        changed = client.post("/api/auth/password", json=body, headers=headers)
        assert changed.status_code == 200, changed.text
        assert changed.json()["user"]["permissions"] == ["*"]

    # `hamp reset-password admin` makes another generated one: changed at first login, too.
    reset = asyncio.run(gateway.main.reset_password(settings, "admin"))
    with TestClient(gateway.main.create_app(settings), client=LOCAL) as client:
        tokens = client.post("/api/auth/login", json={"username": "admin", "password": reset}).json()
        assert tokens["user"]["must_change_password"] is True
        body = {"current_password": reset, "new_password": NEW_PASSWORD}
        refused = client.post(
            "/api/auth/password", json=body, headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert refused.status_code == 422, "the password before the reset is in the history"
        log = client.get(
            "/api/system/login-log",
            params={"event": "password_reset"},
            headers={"Authorization": f"Bearer {_changed(client, reset)}"},
        ).json()["items"]
        assert [(r["username"], r["reason"]) for r in log] == [("admin", "cli_reset")]


def _changed(client: TestClient, current: str) -> str:
    """Logs the superadmin in with `current`, changes it to a fresh password, answers the token."""
    tokens = client.post("/api/auth/login", json={"username": "admin", "password": current}).json()
    body = {"current_password": current, "new_password": "Fresh-root-pass-3"}
    answer = client.post("/api/auth/password", json=body, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_a_configured_superadmin_password_counts_as_chosen(gw: InProcessGateway) -> None:
    assert gw.admin.tokens["user"]["must_change_password"] is False


# --- the login log --------------------------------------------------------------------------


def test_logout_password_change_reset_and_forced_logout_are_in_the_login_log(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    events = [(r["event"], r["result"], r["reason"]) for r in _login_log(gw, user.username)]
    # First login, then the required change: newest first.
    assert events[:2] == [("password_changed", "success", ""), ("login", "success", "")]

    assert gw.request("POST", "/api/auth/logout", user.access).status_code == 204
    assert _login_log(gw, user.username)[0]["event"] == "logout"
    assert _login_log(gw, user.username)[0]["reason"] == "logout"

    elsewhere = gw.login_user(user.username, user.password)
    assert gw.as_admin("DELETE", f"/api/system/sessions/{_sid(elsewhere)}").status_code == 204
    newest = _login_log(gw, user.username)[0]
    assert (newest["event"], newest["reason"]) == ("logout", "forced")

    assert gw.as_admin("POST", f"/api/system/users/{user.id}/reset-password").status_code == 200
    newest = _login_log(gw, user.username)[0]
    assert (newest["event"], newest["reason"]) == ("password_reset", "admin_reset")

    only = _login_log(gw, user.username, event="logout")
    assert only and all(r["event"] == "logout" for r in only)
    assert gw.as_admin("GET", "/api/system/login-log", params={"event": "nonsense"}).status_code == 422


def test_a_password_change_ends_other_sessions_in_the_login_log(gw: InProcessGateway) -> None:
    user = gw.ready_user(["system:user:read"])
    gw.login_user(user.username, user.password)
    answer = gw.change_password(user.access, user.password, "Moved-on-pass-8")
    assert answer.status_code == 200
    rows = _login_log(gw, user.username)
    assert (rows[0]["event"], rows[1]["event"], rows[1]["reason"]) == (
        "password_changed",
        "logout",
        "password_changed",
    )


# --- the operation log ----------------------------------------------------------------------


def test_changing_ones_own_password_leaves_an_operation_log_row_without_it(gw: InProcessGateway) -> None:
    created, initial = gw.create_user([gw.create_role(["system:user:read"])["id"]])
    since = gw.last_audit_id()
    user = gw.first_login(created["username"], initial, "Audited-pass-31")
    rows = [r for r in gw.audit_rows(since) if r["action"] == "change_password"]
    assert len(rows) == 1, gw.audit_rows(since)
    row = rows[0]
    assert (row["entity"], row["entity_id"], row["actor"], row["actor_id"]) == (
        "user",
        str(user.id),
        user.username,
        user.id,
    )
    assert initial not in row["raw"] and "Audited-pass-31" not in row["raw"]
    assert "argon2" not in row["raw"]

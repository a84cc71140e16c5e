"""Two-step login (TOTP, RFC 6238) for administrators: enrolment with a QR code, the login's
second step, lockout counting wrong codes with wrong passwords, replay and clock drift,
recovery codes, the restricted token of a required but not yet enrolled administrator, the
security administrator's reset, and turning it off (docs/security.md, "Two-factor login").

Codes are computed with pyotp; time is the gateway's injectable clock (AuthContext.clock),
moved by whole 30-second steps instead of waited for.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
from jose import jwt

from tests.security.conftest import GatewayFactory, InProcessGateway, User, problem_code

LOCKOUT_FAILURES = 3
WRONG_PASSWORD = "Wrong-password-9"
STEP = 30


class Clock:
    """The gateway's TOTP clock, moved by the tests."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def step(self, steps: int = 1) -> None:
        self.now += steps * STEP


@dataclasses.dataclass
class Enrolled:
    user: User
    secret: str
    recovery_codes: list[str]

    def code(self, clock: Clock, steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(clock.now + steps * STEP)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


def _enrol(gw: InProcessGateway, user: User, clock: Clock) -> Enrolled:
    start = gw.request("POST", "/api/auth/second-factor/enrolment", user.access)
    assert start.status_code == 200, start.text
    secret = start.json()["secret"]
    confirm = gw.request(
        "POST", "/api/auth/second-factor/confirm", user.access, json={"code": pyotp.TOTP(secret).at(clock.now)}
    )
    assert confirm.status_code == 200, confirm.text
    user.tokens = confirm.json()["tokens"]
    # The confirming code is spent: logins from here on use the next step's.
    clock.step()
    return Enrolled(user, secret, confirm.json()["recovery_codes"])


def _second_step(gw: InProcessGateway, username: str, password: str, code: str) -> Any:
    first = gw.login(username, password)
    assert first.status_code == 200, first.text
    assert first.json()["second_factor_required"] is True, first.text
    return gw.client.post("/api/auth/login/second-factor", json={"challenge": first.json()["challenge"], "code": code})


def _log(gw: InProcessGateway, username: str) -> list[tuple[str, str]]:
    answer = gw.as_admin("GET", "/api/system/login-log", params={"username": username, "size": 100})
    assert answer.status_code == 200, answer.text
    return [(row["result"], row["reason"]) for row in answer.json()["items"]]


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory, clock: Clock) -> InProcessGateway:
    """A gateway requiring two-step login of anyone holding system:*, its superadmin enrolled."""
    gateway = gateway_factory(
        totp_required_permissions=["system:"],
        lockout_failures=LOCKOUT_FAILURES,
        api_burst=1000,
        login_rate_per_user_per_minute=100,
        login_rate_per_ip_per_minute=1000,
    )
    assert gateway.app is not None
    gateway.app.state.auth = dataclasses.replace(gateway.app.state.auth, clock=clock)
    _enrol(gateway, gateway.admin, clock)
    return gateway


def _ready(gw: InProcessGateway, permissions: list[str]) -> User:
    """A user with these permissions through the superadmin, initial password changed."""
    return gw.ready_user(permissions)


def _enrolled(gw: InProcessGateway, clock: Clock, permissions: list[str]) -> Enrolled:
    return _enrol(gw, _ready(gw, permissions), clock)


# --- being required --------------------------------------------------------------------------


def test_the_superadmin_is_required_and_enrols_first(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(totp_required_permissions=["system:"])
    tokens = gateway.admin.tokens
    assert tokens["user"]["second_factor_enrolment_required"] is True
    assert tokens["user"]["permissions"] == []
    claims = jwt.get_unverified_claims(gateway.admin.access)
    assert claims["perms"] == [] and claims["sfe"] is True
    for method, path in [("GET", "/api/system/users"), ("GET", "/api/auth/modules"), ("GET", "/api/dbs/doctors")]:
        answer = gateway.as_admin(method, path)
        assert answer.status_code == 403, f"{path}: {answer.text}"
        assert problem_code(answer) == "second_factor_enrolment_required"
    assert gateway.as_admin("GET", "/api/auth/me").status_code == 200


def test_an_administrator_not_enrolled_gets_a_token_that_opens_only_enrolment(gw: InProcessGateway) -> None:
    user = _ready(gw, ["system:user:read"])
    assert user.tokens["user"]["second_factor_enrolment_required"] is True
    assert user.tokens["user"]["permissions"] == []
    refused = gw.request("GET", "/api/system/users", user.access)
    assert refused.status_code == 403 and problem_code(refused) == "second_factor_enrolment_required"
    # Refreshing does not get round it.
    renewed = gw.refresh(user.refresh)
    assert renewed.status_code == 200 and renewed.json()["user"]["second_factor_enrolment_required"] is True
    status = gw.request("GET", "/api/auth/second-factor", renewed.json()["access_token"])
    assert status.status_code == 200 and status.json()["required"] is True and status.json()["enabled"] is False


def test_someone_without_system_permissions_is_not_required(gw: InProcessGateway) -> None:
    # Only the system module is declared in this gateway alone: a role holding nothing stands in.
    user = _ready(gw, [])
    assert user.tokens["user"]["second_factor_enrolment_required"] is False
    assert jwt.get_unverified_claims(user.access).get("sfe") is None
    assert "access_token" in gw.login(user.username, user.password).json()


def test_no_prefixes_turn_the_requirement_off(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(totp_required_permissions=[])
    assert gateway.admin.tokens["user"]["permissions"] == ["*"]
    assert gateway.as_admin("GET", "/api/system/users").status_code == 200


def test_the_initial_password_cannot_enrol(gw: InProcessGateway) -> None:
    """Whoever set the initial password (an administrator) must not bind their own phone."""
    role = gw.create_role(["system:user:read"])
    created, initial = gw.create_user([role["id"]])
    pending = gw.login_user(created["username"], initial)
    for path, body in [("/api/auth/second-factor/enrolment", None), ("/api/auth/second-factor/confirm", {})]:
        answer = gw.request("POST", path, pending.access, json=body)
        assert answer.status_code == 403 and problem_code(answer) == "password_change_required", answer.text


# --- enrolment ---------------------------------------------------------------------------------


def test_enrolment_offers_a_qr_code_and_refuses_a_wrong_code(gw: InProcessGateway, clock: Clock) -> None:
    user = _ready(gw, ["system:user:read"])
    start = gw.request("POST", "/api/auth/second-factor/enrolment", user.access)
    assert start.status_code == 200, start.text
    body = start.json()
    # A whole SVG document: without its namespace a browser will not show it as an image.
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "</svg>" in body["qr_svg"]
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/{gw.settings.totp_issuer}:{user.username}"
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == [gw.settings.totp_issuer]

    right = pyotp.TOTP(body["secret"]).at(clock.now)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = gw.request("POST", "/api/auth/second-factor/confirm", user.access, json={"code": wrong})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["code"]
    assert gw.request("GET", "/api/system/users", user.access).status_code == 403

    confirmed = gw.request("POST", "/api/auth/second-factor/confirm", user.access, json={"code": right})
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    tokens = confirmed.json()["tokens"]
    assert tokens["user"]["second_factor_enabled"] is True
    assert tokens["user"]["permissions"] == ["system:user:read"]
    assert gw.request("GET", "/api/system/users", tokens["access_token"]).status_code == 200
    status = gw.request("GET", "/api/auth/second-factor", tokens["access_token"]).json()
    assert status["enabled"] is True and status["recovery_codes_left"] == 10
    # Recovery codes are kept only hashed, the secret only encrypted: neither is in the database as given.
    with gw.engine.connect() as conn:
        stored = {row[0] for row in conn.exec_driver_sql("SELECT code_hash FROM recovery_codes")}
        sealed = conn.exec_driver_sql(f"SELECT secret FROM totp_credentials WHERE user_id = {user.id}").scalar_one()
    assert stored and not stored & set(codes)
    assert sealed.startswith("e1:") and body["secret"] not in sealed
    # Enrolment is audited, without the secret.
    rows = [r for r in gw.audit_rows() if r["entity_id"] == str(user.id) and r["action"] == "second_factor_enable"]
    assert rows and all(body["secret"] not in r["raw"] for r in gw.audit_rows())


# --- logging in --------------------------------------------------------------------------------


def test_the_password_alone_answers_a_challenge_not_tokens(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    first = gw.login(enrolled.user.username, enrolled.user.password)
    assert first.status_code == 200
    body = first.json()
    assert body["second_factor_required"] is True and body["expires_in"] == 300
    assert "access_token" not in body and "refresh_token" not in body
    # The challenge opens nothing by itself.
    assert gw.request("GET", "/api/auth/me", body["challenge"]).status_code == 401

    done = gw.client.post(
        "/api/auth/login/second-factor", json={"challenge": body["challenge"], "code": enrolled.code(clock)}
    )
    assert done.status_code == 200, done.text
    assert done.json()["user"]["username"] == enrolled.user.username
    assert gw.request("GET", "/api/system/users", done.json()["access_token"]).status_code == 200
    assert _log(gw, enrolled.user.username)[0] == ("success", "")


def test_an_access_token_or_a_forged_challenge_is_not_a_challenge(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    challenge = gw.login(enrolled.user.username, enrolled.user.password).json()["challenge"]
    head, payload, signature = challenge.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    for fake in [enrolled.user.access, forged]:
        answer = gw.client.post("/api/auth/login/second-factor", json={"challenge": fake, "code": enrolled.code(clock)})
        assert answer.status_code == 401 and problem_code(answer) == "challenge_invalid", answer.text


def test_a_code_cannot_be_used_twice(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    code = enrolled.code(clock)
    assert _second_step(gw, enrolled.user.username, enrolled.user.password, code).status_code == 200
    replayed = _second_step(gw, enrolled.user.username, enrolled.user.password, code)
    assert replayed.status_code == 401 and problem_code(replayed) == "second_factor_failed"
    assert _log(gw, enrolled.user.username)[0] == ("failure", "totp_reused")
    clock.step()
    assert _second_step(gw, enrolled.user.username, enrolled.user.password, enrolled.code(clock)).status_code == 200


def test_one_step_of_clock_drift_is_accepted_two_are_not(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    clock.step(3)
    late = _second_step(gw, enrolled.user.username, enrolled.user.password, enrolled.code(clock, -2))
    assert late.status_code == 401
    assert _log(gw, enrolled.user.username)[0] == ("failure", "totp_failed")
    behind = _second_step(gw, enrolled.user.username, enrolled.user.password, enrolled.code(clock, -1))
    assert behind.status_code == 200, behind.text
    ahead = _second_step(gw, enrolled.user.username, enrolled.user.password, enrolled.code(clock, +1))
    assert ahead.status_code == 200, ahead.text
    clock.step(2)


def test_wrong_codes_count_with_wrong_passwords_towards_the_lockout(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    name, password = enrolled.user.username, enrolled.user.password
    right = enrolled.code(clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert gw.login(name, WRONG_PASSWORD).status_code == 401
    for _ in range(LOCKOUT_FAILURES - 1):
        answer = _second_step(gw, name, password, wrong)
        assert answer.status_code == 401 and problem_code(answer) == "second_factor_failed", answer.text
    locked = gw.login(name, password)
    assert locked.status_code == 401 and problem_code(locked) == "account_locked"
    assert _log(gw, name)[:4] == [
        ("failure", "locked"),
        *[("failure", "totp_failed")] * (LOCKOUT_FAILURES - 1),
        ("failure", "bad_password"),
    ]
    assert gw.as_admin("POST", f"/api/system/users/{enrolled.user.id}/unlock").status_code == 200
    assert _second_step(gw, name, password, right).status_code == 200


def test_a_challenge_taken_before_the_lock_is_refused_after_it(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    challenge = gw.login(enrolled.user.username, enrolled.user.password).json()["challenge"]
    for _ in range(LOCKOUT_FAILURES):
        assert gw.login(enrolled.user.username, WRONG_PASSWORD).status_code == 401
    answer = gw.client.post(
        "/api/auth/login/second-factor", json={"challenge": challenge, "code": enrolled.code(clock)}
    )
    assert answer.status_code == 401 and problem_code(answer) == "account_locked"


def test_a_recovery_code_works_once(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    name, password = enrolled.user.username, enrolled.user.password
    spare = enrolled.recovery_codes[3]
    used = _second_step(gw, name, password, spare.upper())
    assert used.status_code == 200, used.text
    assert _log(gw, name)[0] == ("success", "recovery_code")
    again = _second_step(gw, name, password, spare)
    assert again.status_code == 401 and problem_code(again) == "second_factor_failed"
    assert _log(gw, name)[0] == ("failure", "recovery_code_reused")
    made_up = _second_step(gw, name, password, "0000-1111-2222-3333")
    assert made_up.status_code == 401
    assert _log(gw, name)[0] == ("failure", "recovery_code_failed")
    status = gw.request("GET", "/api/auth/second-factor", used.json()["access_token"]).json()
    assert status["recovery_codes_left"] == 9


# --- reset and turning off ---------------------------------------------------------------------


def test_a_security_administrator_resets_a_lost_authenticator(gw: InProcessGateway, clock: Clock) -> None:
    lost = _enrolled(gw, clock, ["system:user:read"])
    security = _enrolled(gw, clock, ["system:security:write", "system:user:read"])
    stranger = _enrolled(gw, clock, ["system:user:read"])
    path = f"/api/system/users/{lost.user.id}/second-factor/reset"

    refused = gw.request("POST", path, stranger.user.access)
    assert refused.status_code == 403 and problem_code(refused) == "permission_denied"
    first_audit = gw.last_audit_id()
    answer = gw.request("POST", path, security.user.access)
    assert answer.status_code == 200, answer.text
    assert answer.json()["second_factor_enabled"] is False

    # Their sessions end; the next login needs the password only, and then a new enrolment.
    assert gw.request("GET", "/api/auth/me", lost.user.access).status_code == 401
    again = gw.login(lost.user.username, lost.user.password)
    assert again.status_code == 200 and again.json()["user"]["second_factor_enrolment_required"] is True
    rows = [r for r in gw.audit_rows(first_audit) if r["action"] == "reset_second_factor"]
    assert len(rows) == 1 and rows[0]["entity_id"] == str(lost.user.id)
    assert rows[0]["actor"] == security.user.username
    assert rows[0]["before"]["second_factor_enabled"] is True and rows[0]["after"]["second_factor_enabled"] is False
    assert lost.secret not in rows[0]["raw"]


def test_turning_it_off_needs_the_password_and_a_code(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, [])
    token = enrolled.user.access

    def disable(password: str, code: str) -> Any:
        return gw.request("POST", "/api/auth/second-factor/disable", token, json={"password": password, "code": code})

    wrong_password = disable(WRONG_PASSWORD, enrolled.code(clock))
    assert wrong_password.status_code == 422 and wrong_password.json()["errors"][0]["field"] == "password"
    wrong_code = disable(enrolled.user.password, "000000" if enrolled.code(clock) != "000000" else "111111")
    assert wrong_code.status_code == 422 and wrong_code.json()["errors"][0]["field"] == "code"
    assert disable(enrolled.user.password, enrolled.code(clock)).status_code == 204
    assert "access_token" in gw.login(enrolled.user.username, enrolled.user.password).json()


def test_a_required_administrator_cannot_turn_it_off(gw: InProcessGateway, clock: Clock) -> None:
    enrolled = _enrolled(gw, clock, ["system:user:read"])
    body = {"password": enrolled.user.password, "code": enrolled.code(clock)}
    answer = gw.request("POST", "/api/auth/second-factor/disable", enrolled.user.access, json=body)
    assert answer.status_code == 409 and problem_code(answer) == "second_factor_required"
    assert gw.login(enrolled.user.username, enrolled.user.password).json()["second_factor_required"] is True

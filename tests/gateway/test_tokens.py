"""The gateway refuses every token it did not issue, or that is no longer valid."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.support.tokens import SigningKey

PASSWORD = "Gw-test-password-1"
# The test client calls from an address inside the trusted networks, as a hospital PC would.
LOCAL = ("127.0.0.1", 50000)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = GatewaySettings(
        var_dir=Path(tmp_path_factory.mktemp("gateway")),
        registry_urls="",
        log_to_file=False,
        superadmin_password=PASSWORD,
        access_token_minutes=1,
        totp_required_permissions=[],
    )
    with TestClient(create_app(settings), client=LOCAL) as client:
        yield client


def _login(client: TestClient) -> dict:
    answer = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_own_token_is_accepted(gateway: TestClient) -> None:
    tokens = _login(gateway)
    answer = gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 200
    assert answer.json()["username"] == "admin"
    assert answer.json()["permissions"] == ["*"]


def test_no_token_is_refused_with_problem(gateway: TestClient) -> None:
    answer = gateway.get("/api/auth/me")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "not_authenticated"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_proxied_route_without_token_is_refused_before_any_service(gateway: TestClient) -> None:
    # With no registry at all, a 401 (not a 503) shows the token is checked first.
    assert gateway.get("/api/dbs/departments").status_code == 401


def test_expired_token_is_refused(gateway: TestClient) -> None:
    key = gateway.app.state.signing_key
    claims = jwt.get_unverified_claims(_login(gateway)["access_token"])
    claims.update(iat=int(time.time()) - 600, nbf=int(time.time()) - 600, exp=int(time.time()) - 60)
    expired = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
    answer = gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_expired"


def test_tampered_token_is_refused(gateway: TestClient) -> None:
    header, payload, signature = _login(gateway)["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["perms"] = ["*"]
    claims["sub"] = "999"
    assert _me(gateway, f"{header}.{_b64(claims)}.{signature}") == 401


def test_token_signed_with_another_key_is_refused(gateway: TestClient) -> None:
    own_kid = gateway.app.state.signing_key.kid
    forged = SigningKey.generate(kid=own_kid).token(["*"])  # same kid, different key
    assert _me(gateway, forged) == 401
    assert _me(gateway, SigningKey.generate().token(["*"])) == 401  # unknown kid


def test_alg_none_token_is_refused(gateway: TestClient) -> None:
    claims = jwt.get_unverified_claims(_login(gateway)["access_token"])
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _me(gateway, unsigned) == 401


def test_hs256_token_made_with_the_public_key_is_refused(gateway: TestClient) -> None:
    # The classic key-confusion attack: HMAC keyed with the (public) RSA key.
    public = json.dumps(gateway.app.state.signing_key.public_jwk)
    claims = jwt.get_unverified_claims(_login(gateway)["access_token"])
    forged = jwt.encode(claims, public, algorithm="HS256", headers={"kid": gateway.app.state.signing_key.kid})
    assert _me(gateway, forged) == 401


def test_refresh_token_is_not_an_access_token(gateway: TestClient) -> None:
    assert _me(gateway, _login(gateway)["refresh_token"]) == 401


def test_wrong_password_and_unknown_user_get_the_same_answer(gateway: TestClient) -> None:
    wrong = gateway.post("/api/auth/login", json={"username": "admin", "password": "nope"})
    unknown = gateway.post("/api/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "用户名或密码错误"


def test_login_with_missing_fields_names_them(gateway: TestClient) -> None:
    answer = gateway.post("/api/auth/login", json={"username": "admin"}, headers={"Accept-Language": "en"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["password"]


def test_refresh_rotates_and_old_refresh_token_is_refused(gateway: TestClient) -> None:
    first = _login(gateway)
    second = gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    again = gateway.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401


def test_logout_ends_the_session(gateway: TestClient) -> None:
    tokens = _login(gateway)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert gateway.post("/api/auth/logout", headers=headers).status_code == 204
    assert gateway.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_jwks_publishes_the_verifying_key(gateway: TestClient, tmp_path: Path) -> None:
    keys = gateway.get("/api/auth/jwks").json()["keys"]
    assert [k["kid"] for k in keys] == [gateway.app.state.signing_key.kid]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]  # public half only
    token = _login(gateway)["access_token"]
    assert jwt.decode(token, keys[0], algorithms=["RS256"], audience="hamp")["username"] == "admin"


def test_superadmin_password_is_generated_when_not_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    settings = GatewaySettings(var_dir=tmp_path, registry_urls="", log_to_file=False)
    with TestClient(create_app(settings), client=LOCAL):
        pass
    printed = capsys.readouterr().out
    assert "HAMP superadmin created" in printed
    password = printed.split("password ")[1].split("'")[1]
    assert len(password) >= 12
    with TestClient(create_app(settings), client=LOCAL) as client:  # second start: no new password printed
        assert "HAMP superadmin created" not in capsys.readouterr().out
        login = client.post("/api/auth/login", json={"username": "admin", "password": password})
        assert login.status_code == 200


def test_reset_password_saves_a_new_password_and_ends_sessions(tmp_path: Path) -> None:
    import asyncio

    from gateway.main import reset_password

    settings = GatewaySettings(var_dir=tmp_path, registry_urls="", log_to_file=False, superadmin_password=PASSWORD)
    with TestClient(create_app(settings), client=LOCAL) as client:
        old = _login(client)
    new_password = asyncio.run(reset_password(settings, "admin"))
    with TestClient(create_app(settings), client=LOCAL) as client:
        assert client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 401
        assert client.post("/api/auth/login", json={"username": "admin", "password": new_password}).status_code == 200
        assert client.post("/api/auth/refresh", json={"refresh_token": old["refresh_token"]}).status_code == 401

"""Production profile: two gateway replicas behind one Ingress share Redis (through Sentinel),
so a session ended on one is refused by the other within seconds, and lockout counts add up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.main import create_app
from gateway.settings import GatewaySettings
from tests.support.redis import RedisGroup, redis_group  # noqa: F401  (fixture)

PASSWORD = "Replica-pass-1"
LAN = ("10.20.30.40", 50000)


@pytest.fixture
def replicas(tmp_path: Path, redis_group: RedisGroup) -> Iterator[tuple[TestClient, TestClient]]:  # noqa: F811
    # Same database and signing key (as from a Secret), same Redis: two replicas of one gateway.
    common = dict(
        var_dir=tmp_path,
        registry_urls="",
        log_to_file=False,
        superadmin_password=PASSWORD,
        redis_sentinels=redis_group.sentinels_text,
        redis_master_name=redis_group.master_name,
        redis_password=redis_group.password,
        redis_prefix=f"hamp-test-{tmp_path.name}:",
        lockout_failures=4,
        totp_required_permissions=[],
    )
    with TestClient(create_app(GatewaySettings(**common)), client=LAN) as first:
        with TestClient(create_app(GatewaySettings(**common)), client=LAN) as second:
            yield first, second


def _login(client: TestClient, password: str = PASSWORD) -> dict:
    return client.post("/api/auth/login", json={"username": "admin", "password": password}).json()


def test_logout_on_one_replica_is_honoured_by_the_other(replicas: tuple[TestClient, TestClient]) -> None:
    first, second = replicas
    tokens = _login(first)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert second.get("/api/auth/me", headers=headers).status_code == 200
    assert first.post("/api/auth/logout", headers=headers).status_code == 204
    deadline = time.monotonic() + 3
    while second.get("/api/auth/me", headers=headers).status_code != 401:
        assert time.monotonic() < deadline, "the other replica still accepts the ended session"
        time.sleep(0.1)
    assert second.get("/api/auth/me", headers=headers).json()["code"] == "token_revoked"


def test_failed_logins_on_both_replicas_count_towards_one_lockout(replicas: tuple[TestClient, TestClient]) -> None:
    first, second = replicas
    for client in (first, second, first, second):
        assert client.post("/api/auth/login", json={"username": "admin", "password": "wrong-1"}).status_code == 401
    refused = second.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert refused.status_code == 401
    assert refused.json()["code"] == "account_locked"


def test_without_redis_the_gateway_fails_closed(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = GatewaySettings(
        var_dir=tmp_path, registry_urls="", log_to_file=False, superadmin_password=PASSWORD, redis_url=dead
    )
    with TestClient(create_app(settings), client=LAN) as gateway:
        login = gateway.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert login.status_code == 503
        assert login.json()["code"] == "security_store_unavailable"
        assert login.headers["retry-after"]
        # A token that is valid in every other respect is not waved through either.
        from gateway.auth.tokens import issue_access_token

        key = gateway.app.state.signing_key
        token = issue_access_token(
            key,
            user_id=1,
            username="admin",
            name="admin",
            permissions=["*"],
            session_id="s1",
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            lifetime_seconds=60,
        )
        me = gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 503
        assert gateway.get("/health/ready").status_code == 503

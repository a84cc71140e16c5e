"""Fixtures of the security suite: gateways in process, a live platform, dbs with minted tokens.

- `gateway_factory` makes gateways in process (TestClient) with settings overrides; a test picks
  the TCP peer of each request with the `X-Test-Peer` header (see `PeerFromHeader`), so one
  gateway can be called from inside and outside the trusted networks and through its proxies.
- `live` is registry, dbs and gateway as real HTTP servers on loopback ports (uvicorn in
  threads of this process), the gateway discovering dbs through the registry and proxying to
  it; started once for the whole package.
- `dbs_api` is the dbs app in process (tests.dbs.conftest.Api) on SQLite and on MariaDB.

argon2 runs at its smallest cost here (package-wide): the scheme, the verification and every
rule stay the same, but a hash costs ~1 ms instead of 0.2-0.4 s on a 2-core runner, and the
suite makes some hundreds of them.

Settings that would make two gateways share state (a Redis from the environment, a database URL)
are pinned: each gateway here has its own embedded store and SQLite file.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwk, jwt
from passlib.context import CryptContext
from sqlalchemy import Engine, create_engine, select
from starlette.types import Receive, Scope, Send

import dbs.main
import gateway.main
import registry.main
from dbs.settings import DbsSettings
from gateway.auth import passwords
from gateway.db import audit_log as gateway_audit_log
from gateway.settings import GatewaySettings
from registry.settings import RegistrySettings
from shared import fieldcrypt
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.dbs.conftest import Api
from tests.support.servers import ThreadServer, free_port, wait_http
from tests.support.tokens import SigningKey

# Pinned over any HAMP_* environment: each app keeps its own state.
ISOLATED: dict[str, Any] = {
    "registry_urls": "",
    "database_url": "",
    "redis_url": "",
    "redis_sentinels": "",
    "log_to_file": False,
    "log_level": "WARNING",
    # Two-step login has its own tests (test_second_factor.py); elsewhere administrators log in
    # with the password alone.
    "totp_required_permissions": [],
}
ADMIN = "admin"
ADMIN_PASSWORD = "Sec-admin-pass-1"
# What every created user sets at first login (letters and digits, no user name in it).
NEW_PASSWORD = "Changed-pass-42"
LOCAL = ("127.0.0.1", 50000)
PEER_HEADER = "x-test-peer"
# Routes of the gateway open to anyone (in the trusted networks).
PUBLIC = {
    "POST /api/auth/login",
    "POST /api/auth/login/second-factor",
    "POST /api/auth/refresh",
    "GET /api/auth/jwks",
    "POST /api/auth/service-token",
}
# A record id no test creates: path parameters of calls that must not touch real records.
MISSING_ID = "999999999"

_names = itertools.count(1)


def unique(prefix: str = "u") -> str:
    """A fresh name for users, roles and records (valid as a user name)."""
    return f"{prefix}{next(_names)}_{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------------------------------------
# argon2 at the smallest cost


@pytest.fixture(scope="package", autouse=True)
def cheap_argon2() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            passwords,
            "_context",
            CryptContext(schemes=["argon2"], argon2__memory_cost=256, argon2__rounds=1, argon2__parallelism=1),
        )
        passwords._dummy_hash.cache_clear()
        yield
    passwords._dummy_hash.cache_clear()


# ---------------------------------------------------------------------------------------------
# OpenAPI: the routes every service declares


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: str | None
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, value: str = MISSING_ID) -> str:
        """The path with every parameter filled."""
        parts = [value if p.startswith("{") else p for p in self.path.split("/")]
        return "/".join(parts)


def routes_of(document: dict) -> list[Route]:
    found = []
    for path, operations in document["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = operations.get(method)
            if operation is not None:
                found.append(Route(method.upper(), path, operation.get("x-permission"), "requestBody" in operation))
    return found


def dbs_routes() -> list[Route]:
    return routes_of(dbs.main.create_app(DbsSettings(**ISOLATED)).openapi())


def gateway_routes() -> list[Route]:
    return routes_of(gateway.main.create_app(GatewaySettings(**ISOLATED)).openapi())


# ---------------------------------------------------------------------------------------------
# Gateways in process


class PeerFromHeader:
    """Sets the ASGI client address from `X-Test-Peer` (as TestClient(client=...) does for a whole
    client), so one app can be called from several addresses. The header itself is removed."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            peer = [v.decode() for k, v in scope["headers"] if k == PEER_HEADER.encode()]
            if peer:
                scope = {
                    **scope,
                    "client": (peer[0], 50000),
                    "headers": [(k, v) for k, v in scope["headers"] if k != PEER_HEADER.encode()],
                }
        await self.app(scope, receive, send)


@dataclass
class User:
    id: int
    username: str
    password: str
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def access(self) -> str:
        return self.tokens["access_token"]

    @property
    def refresh(self) -> str:
        return self.tokens["refresh_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem_code(answer: Any) -> str | None:
    try:
        return answer.json().get("code")
    except (ValueError, AttributeError):
        return None


class Gateway:
    """A gateway reached through `client` (a TestClient or an httpx2.Client), with an admin session."""

    def __init__(self, client: Any, app: FastAPI | None = None, settings: GatewaySettings | None = None) -> None:
        self.client = client
        self.app = app
        self.settings = settings
        self.admin = self.login_user(ADMIN, ADMIN_PASSWORD)
        self.admin.id = self.me(self.admin.access)["id"]

    # --- HTTP ---
    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers.update(bearer(token))
        return self.client.request(method, path, headers=headers, **kwargs)

    def as_admin(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, self.admin.access, **kwargs)

    def me(self, token: str) -> dict:
        answer = self.request("GET", "/api/auth/me", token)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def login(self, username: str, password: str, **headers: str) -> Any:
        return self.client.post("/api/auth/login", json={"username": username, "password": password}, headers=headers)

    def login_user(self, username: str, password: str, **headers: str) -> User:
        answer = self.login(username, password, **headers)
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
        return User(tokens["user"]["id"], username, password, tokens)

    def change_password(self, token: str, current: str, new: str) -> Any:
        body = {"current_password": current, "new_password": new}
        return self.request("POST", "/api/auth/password", token, json=body)

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/api/auth/refresh", json={"refresh_token": refresh_token})

    # --- administration ---
    def create_role(
        self, permissions: list[str], data_scope: str = "all", department_ids: list[int] | None = None
    ) -> dict:
        body = {
            "name": unique("role"),
            "permissions": permissions,
            "data_scope": data_scope,
            "department_ids": department_ids or [],
        }
        answer = self.as_admin("POST", "/api/system/roles", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def create_user(self, role_ids: list[int], **fields: Any) -> tuple[dict, str]:
        body = {"username": unique("u"), "real_name": "测试用户", "role_ids": role_ids, **fields}
        answer = self.as_admin("POST", "/api/system/users", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["user"], answer.json()["initial_password"]

    def first_login(self, username: str, initial_password: str, new_password: str = NEW_PASSWORD) -> User:
        """Log in with the initial password and change it (required), keeping the new tokens."""
        user = self.login_user(username, initial_password)
        assert user.tokens["user"]["must_change_password"] is True
        answer = self.change_password(user.access, initial_password, new_password)
        assert answer.status_code == 200, answer.text
        user.password = new_password
        user.tokens = answer.json()
        return user

    def ready_user(
        self,
        permissions: list[str],
        *,
        data_scope: str = "all",
        department_ids: list[int] | None = None,
        **fields: Any,
    ) -> User:
        """A user with one role holding `permissions`, logged in, initial password changed."""
        role = self.create_role(permissions, data_scope, department_ids)
        created, initial = self.create_user([role["id"]], **fields)
        return self.first_login(created["username"], initial)


class InProcessGateway(Gateway):
    """A gateway app in this process."""

    def __init__(self, client: TestClient, app: FastAPI, settings: GatewaySettings) -> None:
        super().__init__(client, app, settings)
        self.engine: Engine = create_engine(sync_url(settings.effective_database_url))
        fieldcrypt.attach_settings(self.engine, settings)  # to open the personal data in audit rows

    def audit_rows(self, after_id: int = 0) -> list[dict[str, Any]]:
        return read_audit(self.engine, gateway_audit_log, after_id)

    def last_audit_id(self) -> int:
        rows = self.audit_rows()
        return rows[-1]["id"] if rows else 0


def read_audit(engine: Engine, table: Any, after_id: int = 0) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.id > after_id).order_by(table.c.id)).mappings().all()
    out = []
    for row in rows:
        entry = dict(row)
        for key in ("before", "after"):
            entry[key] = json.loads(row[key]) if row[key] is not None else None
            if entry[key] is not None:  # personal values are sealed in the row (shared/fieldcrypt.py)
                entry[key] = fieldcrypt.open_values(lambda: fieldcrypt.keyring_of(engine), entry[key])
        entry["raw"] = f"{row['before']} {row['after']}"
        out.append(entry)
    return out


GatewayFactory = Callable[..., InProcessGateway]


@pytest.fixture(scope="module")
def gateway_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFactory]:
    """make(**settings overrides) -> a started in-process gateway (own database), stopped at module end."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> InProcessGateway:
            settings = GatewaySettings(
                **{
                    **ISOLATED,
                    "var_dir": Path(tmp_path_factory.mktemp("gateway")),
                    "superadmin_password": ADMIN_PASSWORD,
                    **overrides,
                }
            )
            app = gateway.main.create_app(settings)
            client = stack.enter_context(TestClient(PeerFromHeader(app), client=LOCAL))
            gw = InProcessGateway(client, app, settings)
            stack.callback(gw.engine.dispose)
            return gw

        yield make


# ---------------------------------------------------------------------------------------------
# The live platform: registry, dbs and gateway as real servers


@dataclass
class Live:
    gateway_url: str
    dbs_url: str
    dbs_engine: Engine


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    var_dir = Path(tmp_path_factory.mktemp("live"))
    registry_port, dbs_port, gateway_port = free_port(), free_port(), free_port()
    registry_urls = f"http://127.0.0.1:{registry_port}/eureka/"
    common: dict[str, Any] = {
        **ISOLATED,
        "var_dir": var_dir,
        "registry_urls": registry_urls,
        "registry_renewal_seconds": 1,
        "registry_lease_seconds": 3,
        "jwks_url": f"http://127.0.0.1:{gateway_port}/api/auth/jwks",
    }
    registry_app = registry.main.create_app(
        RegistrySettings(var_dir=var_dir, log_to_file=False, log_level="WARNING", port=registry_port)
    )
    dbs_app = dbs.main.create_app(DbsSettings(**common, port=dbs_port, demo_data=False))
    gateway_settings = GatewaySettings(
        **common,
        port=gateway_port,
        superadmin_password=ADMIN_PASSWORD,
        # Every test here logs in from 127.0.0.1: the per-address login limit is tested elsewhere.
        login_rate_per_ip_per_minute=100000,
        login_rate_per_user_per_minute=1000,
    )
    gateway_app = gateway.main.create_app(gateway_settings)
    with (
        ThreadServer(registry_app, registry_port),
        ThreadServer(dbs_app, dbs_port),
        ThreadServer(gateway_app, gateway_port) as gateway_server,
    ):
        # The gateway finds dbs through the registry: wait until it routes there.
        wait_http(f"{gateway_server.url}/api/dbs/openapi.json", timeout=30)
        # And dbs finds the gateway there, for the revocations it checks every user token against.
        _wait_until_dbs_checks_revocations(gateway_server.url, f"http://127.0.0.1:{dbs_port}")
        dbs_engine = create_engine(sync_url(dbs_app.state.settings.effective_database_url))
        try:
            yield Live(gateway_server.url, f"http://127.0.0.1:{dbs_port}", dbs_engine)
        finally:
            dbs_engine.dispose()


def _wait_until_dbs_checks_revocations(gateway_url: str, dbs_url: str, timeout: float = 30) -> None:
    import httpx2

    token = httpx2.post(f"{gateway_url}/api/auth/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    headers = bearer(token.json()["access_token"])
    deadline = time.monotonic() + timeout
    while httpx2.get(f"{dbs_url}/api/dbs/units", headers=headers).status_code == 503:
        assert time.monotonic() < deadline, "dbs never reached the gateway's revocations"
        time.sleep(0.2)


@pytest.fixture(scope="package")
def live_gateway(live: Live) -> Iterator[Gateway]:
    import httpx2

    with httpx2.Client(base_url=live.gateway_url, timeout=30) as client:
        yield Gateway(client)


# ---------------------------------------------------------------------------------------------
# dbs in process, tokens minted by the test key


class Minter:
    """Tokens as tests.support.tokens.SigningKey makes them, with the private key loaded once
    (loading a PEM costs ~50 ms: too much for a token per call)."""

    def __init__(self, key: SigningKey) -> None:
        self.kid = key.kid
        self.key = jwk.construct(key.private_pem, "RS256")

    def __call__(
        self, permissions: list[str] | tuple[str, ...], *, user_id: int = 2, username: str = "limited", **extra: Any
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "username": username,
            "name": username,
            "perms": list(permissions),
            "typ": "access",
            "sid": uuid.uuid4().hex,
            "iss": "hamp-gateway",
            "aud": "hamp",
            "iat": now,
            "exp": now + 600,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="session")
def mint(signing_key: SigningKey) -> Minter:
    return Minter(signing_key)


@pytest.fixture(scope="module")
def dbs_api(
    database: DatabaseUnderTest, signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    settings = DbsSettings(
        **{**ISOLATED, "database_url": database.url},
        var_dir=Path(tmp_path_factory.mktemp("dbs")),
        jwks=signing_key.jwks_json,
        check_revocations=False,
    )
    engine = create_engine(sync_url(database.url))
    try:
        with TestClient(dbs.main.create_app(settings), raise_server_exceptions=False) as client:
            yield Api(client, signing_key, engine, database)
    finally:
        engine.dispose()

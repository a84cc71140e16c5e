"""The oms app under test, in process, on SQLite and on MariaDB, with a superadmin token by default.

A test module changes the app's settings by overriding the `oms_overrides` fixture (for
instance `service_urls` pointing at fake dbs and dms apps); everything else is pinned so the
app keeps its own state: no registry, no Redis, no log file, tokens checked against the
test signing key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, inspect, select

import oms.main
from oms.db import metadata
from oms.settings import OmsSettings
from shared.migrations import sync_url
from tests.conftest import DatabaseUnderTest
from tests.support.tokens import SigningKey

SUPERADMIN = object()  # the default caller: a token holding "*"

# Pinned over any HAMP_* environment (as tests/security/conftest.py ISOLATED).
ISOLATED: dict[str, Any] = {
    "registry_urls": "",
    "redis_url": "",
    "redis_sentinels": "",
    "log_to_file": False,
    "log_level": "WARNING",
}


class OmsApi:
    """Calls the oms app in process; `token=` picks the caller (SUPERADMIN, None for no token, or a JWT).

    Paths are relative to /api/oms (`api.get("patients")`)."""

    def __init__(
        self, client: TestClient, signing_key: SigningKey, engine: Engine, database: DatabaseUnderTest
    ) -> None:
        self.client = client
        self.signing_key = signing_key
        self.engine = engine
        self.backend = database.backend
        self.database_url = database.url
        self.superadmin_token = signing_key.token(["*"], user_id=1, username="tester")

    # --- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, token: Any = SUPERADMIN, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is SUPERADMIN:
            token = self.superadmin_token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, f"/api/oms/{path.lstrip('/')}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def token(self, *permissions: str, username: str = "limited", user_id: int = 2, **claims: Any) -> str:
        """A JWT holding just these permissions (extra claims, e.g. `dept`, passed through)."""
        return self.signing_key.token(list(permissions), user_id=user_id, username=username, **claims)

    def create(self, path: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST that must answer 201; the record as answered."""
        answer = self.post(path, payload, **kwargs)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    # --- the database, read directly ---------------------------------------------------------
    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()

    def rows(self, table: str) -> list[dict[str, Any]]:
        selected = metadata.tables[table]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(selected).order_by(*selected.primary_key)).mappings()]

    def audit_rows(self) -> list[dict[str, Any]]:
        out = []
        for row in self.rows("audit_log"):
            for side in ("before", "after"):
                row[side] = json.loads(row[side]) if row[side] is not None else None
            out.append(row)
        return out

    def wipe(self) -> None:
        """Empties every oms table the database has (the models may run ahead of the migrations)."""
        existing = set(inspect(self.engine).get_table_names())
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name in existing:
                    conn.execute(table.delete())


@pytest.fixture(scope="module")
def oms_overrides() -> dict[str, Any]:
    """Settings a test module sets on the app; override this fixture in the module."""
    return {}


@pytest.fixture(scope="module")
def oms_settings(
    database: DatabaseUnderTest,
    signing_key: SigningKey,
    tmp_path_factory: pytest.TempPathFactory,
    oms_overrides: dict[str, Any],
) -> OmsSettings:
    var_dir: Path = tmp_path_factory.mktemp("oms")
    return OmsSettings(
        **{
            **ISOLATED,
            "var_dir": var_dir,
            "database_url": database.url,
            "jwks": signing_key.jwks_json,
            **oms_overrides,
        }
    )


@pytest.fixture(scope="module")
def oms_api_module(oms_settings: OmsSettings, database: DatabaseUnderTest, signing_key: SigningKey) -> Iterator[OmsApi]:
    engine = create_engine(sync_url(database.url))
    try:
        with TestClient(oms.main.create_app(oms_settings), raise_server_exceptions=False) as client:
            yield OmsApi(client, signing_key, engine, database)
    finally:
        engine.dispose()


@pytest.fixture
def oms_api(oms_api_module: OmsApi) -> Iterator[OmsApi]:
    """The module's app over an empty database (every oms table, audit_log included, emptied first)."""
    oms_api_module.wipe()
    yield oms_api_module
